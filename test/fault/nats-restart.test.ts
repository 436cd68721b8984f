// nats-server stopped and restarted under load: the engine reconnects and resumes, and every output
// is stored exactly once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type EngineProcess, startEngineProcess } from "../../bin/engine-process.ts";
import {
  type EmbeddedNats,
  ensureStreams,
  freePort,
  queryHunt,
  startEmbeddedNats,
} from "../../streams/index.ts";
import { HuntModel } from "../support/hunt-model.ts";
import { connectTest, type TestClient, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const HUNT = "restart-hunt";

describe("nats-server restarted under load", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-restart-"));
  let nats: EmbeddedNats | undefined;
  let engine: EngineProcess | undefined;
  let client: TestClient | undefined;

  afterAll(async () => {
    await engine?.kill();
    await client?.nc.close();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reconnects, resumes, and stores each output once", async () => {
    const port = await freePort();
    const storeDir = join(dir, "store");
    nats = await startEmbeddedNats({ port, storeDir });
    client = await connectTest(nats.url);
    await ensureStreams(client.jsm);
    engine = await startEngineProcess(nats.url, ["--snapshot-every", "500"]);

    const model = new HuntModel();
    let n = 0;
    /** Publishes one event, retrying through the outage with the same id (JetStream drops repeats). */
    const publish = async (type: string, data?: Record<string, unknown>) => {
      const id = `r-${n++}`;
      const event = { specversion: "1.0", id, source: "t", type, ...(data ? { data } : {}) };
      for (;;) {
        try {
          const ack = await client!.js.publish(`hunt.${HUNT}.events`, JSON.stringify(event), {
            msgID: id,
            timeout: 2000,
          });
          // A retry of an event stored before the outage is acked as a duplicate with its original seq.
          model.apply(ack.seq, { kind: "event", event });
          return ack.seq;
        } catch {
          await waitFor(() => !client!.nc.isClosed(), { message: "client alive" });
        }
      }
    };
    await publish("HuntCreated", { title: "r", treasures: [{ id: "t", points: 2 }] });
    await publish("HuntStarted");
    for (let p = 0; p < 40; p++) await publish("PlayerJoined", { playerId: `p${p}` });
    let last = 0;
    const play = async (from: number, to: number) => {
      for (let k = from; k < to; k++)
        last = await publish("ScoreAdjusted", { playerId: `p${k % 40}`, delta: (k % 11) - 4, reason: "r" });
    };
    await play(0, 1500);
    const playing = play(1500, 3000);
    await nats.stop();
    nats = await startEmbeddedNats({ port, storeDir });
    await playing;

    await waitFor(
      async () => (await queryHunt<{ seq: number }>(client!.nc, HUNT, "state", {}, 2000)).seq >= last,
      {
        timeoutMs: 60_000,
        message: "the engine to resume and handle everything",
      },
    );
    const ranks = await readSubject(client.js, client.jsm, "HUNT_RANKS", `hunt.${HUNT}.ranks`);
    expect(ranks.map((r) => r.body)).toEqual(
      model.outputs.filter((o) => o.kind === "rank").map(({ kind, ...o }) => o),
    );
    const top = await queryHunt<{ entries: { playerId: string; score: number }[] }>(client.nc, HUNT, "top", {
      n: 100,
    });
    expect(top.entries.map((e) => [e.playerId, e.score])).toEqual(
      model.leaderboard().map((p) => [p.id, p.score]),
    );
  });
});
