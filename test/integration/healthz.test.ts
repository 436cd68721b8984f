// /healthz sees trouble: outputs JetStream refuses to store are counted by reason and turn /healthz
// to 503 once the oldest has waited longer than the threshold (and back once they are stored); a hunt
// whose fold fails is set aside, logged, and named in /healthz, while the other hunts go on.
import { DiscardPolicy, type StreamConfig } from "@nats-io/jetstream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

interface Health {
  status: number;
  body: { ok: boolean; problems: string[] };
}

describe("/healthz sees trouble", () => {
  let nats: TestNats;
  let engine: Engine;
  let client: TestClient;
  const logs: { level: number; msg: string; huntId?: string; err?: string }[] = [];
  let base = "";
  let nextId = 0;

  beforeAll(async () => {
    nats = await startTestNats();
    engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: 0,
      stuckAfterMs: 1000,
      logger: pino({ level: "warn" }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    });
    base = `http://127.0.0.1:${engine.metricsPort}`;
    client = await connectTest(nats.url);
  });

  afterAll(async () => {
    await client?.nc.close();
    await engine?.stop();
    await nats?.cleanup();
  });

  const health = async (): Promise<Health> => {
    const res = await fetch(`${base}/healthz`);
    return { status: res.status, body: (await res.json()) as Health["body"] };
  };
  const metrics = async () => (await fetch(`${base}/metrics`)).text();

  async function publish(huntId: string, type: string, data?: unknown): Promise<number> {
    const id = `e${++nextId}`;
    const body = JSON.stringify({ specversion: "1.0", id, source: "h", type, data });
    return (await client.js.publish(`hunt.${huntId}.events`, body, { msgID: id })).seq;
  }

  async function folded(huntId: string, seq: number): Promise<void> {
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, huntId, "state")).seq >= seq, {
      message: `hunt ${huntId} folded up to ${seq}`,
    });
  }

  async function startHunt(huntId: string, players: string[]): Promise<number> {
    await publish(huntId, "HuntCreated", { title: huntId, treasures: [{ id: "t", points: 1 }] });
    let last = await publish(huntId, "HuntStarted");
    for (const playerId of players) last = await publish(huntId, "PlayerJoined", { playerId });
    await folded(huntId, last);
    return last;
  }

  it("counts refused outputs by reason, and turns 503 while the oldest waits past the threshold", async () => {
    await startHunt("full", ["a"]);
    expect((await health()).status).toBe(200);

    // HUNT_RANKS full, and refusing new messages rather than dropping old ones.
    const original = (await client.jsm.streams.info("HUNT_RANKS")).config;
    const stored = (await client.jsm.streams.info("HUNT_RANKS")).state.bytes;
    await client.jsm.streams.update("HUNT_RANKS", {
      max_bytes: stored + 1,
      discard: DiscardPolicy.New,
    } as Partial<StreamConfig>);
    try {
      let last = 0;
      for (const playerId of ["b", "c", "d"]) last = await publish("full", "PlayerJoined", { playerId });
      await folded("full", last);

      const counted = await waitFor(
        async () =>
          /^cairn_output_publish_failures_total\{reason="([^"]+)"\} ([1-9]\d*)$/m.exec(await metrics()),
        { message: "refused outputs counted" },
      );
      const reason = counted![1]!;
      expect(reason).toMatch(/maximum bytes/i);
      const sick = await waitFor(
        async () => {
          const h = await health();
          return h.status === 503 ? h : undefined;
        },
        { timeoutMs: 10_000, message: "/healthz to report the unconfirmed outputs" },
      );
      expect(sick!.body.ok).toBe(false);
      expect(sick!.body.problems).toEqual([
        expect.stringMatching(
          new RegExp(`^3 outputs not confirmed stored by JetStream, the oldest for \\d+ s \\(${reason}\\)$`),
        ),
      ]);
    } finally {
      // Room again (also when the test failed, so the next one starts clean).
      await client.jsm.streams.update("HUNT_RANKS", {
        max_bytes: original.max_bytes,
        discard: original.discard,
      } as Partial<StreamConfig>);
    }
    // The outputs sent again are stored, and the engine is healthy.
    await waitFor(async () => (await health()).status === 200, {
      timeoutMs: 10_000,
      message: "/healthz to recover",
    });
    const ranks = await readSubject<{ playerId: string }>(
      client.js,
      client.jsm,
      "HUNT_RANKS",
      "hunt.full.ranks",
    );
    expect(ranks.map((r) => r.body.playerId)).toEqual(["a", "b", "c", "d"]);
  });

  it("sets aside a hunt whose fold fails, names it in /healthz, and goes on with the others", async () => {
    await startHunt("steady", ["a"]);
    await startHunt("fragile", ["a"]);
    // A rank index that fails: the one failure the fold does not turn into a rejection.
    const fold = engine.host.fold("fragile");
    expect(fold).toBeDefined();
    fold!.index.applyBatch = () => {
      throw new Error("rank index failed");
    };

    const broken = await publish("fragile", "PlayerJoined", { playerId: "b" });
    const steady = await publish("steady", "PlayerJoined", { playerId: "b" });
    await folded("steady", steady);
    const sick = await waitFor(
      async () => {
        const h = await health();
        return h.status === 503 ? h : undefined;
      },
      { message: "/healthz to report the hunt set aside" },
    );
    expect(sick!.body.problems).toContain(`hunt "fragile" stopped at input ${broken}: rank index failed`);
    expect(await metrics()).toMatch(/^cairn_hunt_failures_total 1$/m);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 50, huntId: "fragile", err: "rank index failed" }),
    );
    // The other hunt still folds, and its outputs are stored.
    const next = await publish("steady", "PlayerJoined", { playerId: "c" });
    await folded("steady", next);
    await waitFor(
      async () => (await readSubject(client.js, client.jsm, "HUNT_RANKS", "hunt.steady.ranks")).length === 3,
      { message: "the steady hunt's rank changes stored" },
    );
  });
});
