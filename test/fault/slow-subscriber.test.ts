// A subscriber on the rank stream that stops reading its socket does not hold the fold back: the
// server cuts it off as a slow consumer, and every output is still stored.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { type EmbeddedNats, queryHunt, startEmbeddedNats } from "../../streams/index.ts";
import { connectTest, type TestClient, waitFor } from "../support/nats.ts";

const HUNT = "slow-sub";
/** Enough rank messages (about 250 bytes each) to overflow the kernel's socket buffers too. */
const OUTPUTS = 60_000;

describe("a slow subscriber on the rank stream", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-slow-"));
  let nats: EmbeddedNats;
  let engine: Engine;
  let client: TestClient;
  let slow: Socket;

  beforeAll(async () => {
    const config = join(dir, "nats.conf");
    // Room for the engine's own batches (about 350 KB a pull), far less than the outputs.
    writeFileSync(config, 'max_pending: 2097152\nwrite_deadline: "500ms"\n');
    nats = await startEmbeddedNats({ storeDir: join(dir, "store"), configFile: config });
    engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: null,
      logger: pino({ level: "silent" }),
    });
    client = await connectTest(nats.url);
  });

  afterAll(async () => {
    slow?.destroy();
    await client?.nc.close();
    await engine?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is cut off by the server while the engine folds and stores everything", async () => {
    // A raw client that subscribes to every rank change and then never reads again.
    slow = tcpConnect(Number(new URL(nats.url).port), "127.0.0.1");
    await new Promise<void>((resolve) => slow.once("connect", () => resolve()));
    slow.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB hunt.*.ranks 1\r\nPING\r\n');
    await new Promise<void>((resolve) => slow.once("data", () => resolve()));
    slow.pause();

    const players = 200;
    const events = [
      { type: "HuntCreated", data: { title: "s", treasures: [{ id: "t", points: 1 }] } },
      { type: "HuntStarted" },
      ...Array.from({ length: players }, (_, i) => ({
        type: "PlayerJoined",
        data: { playerId: `p${i}-${"x".repeat(120)}` },
      })),
      ...Array.from({ length: OUTPUTS }, (_, k) => ({
        type: "ScoreAdjusted",
        data: { playerId: `p${k % players}-${"x".repeat(120)}`, delta: (k % 7) + 1, reason: "r".repeat(50) },
      })),
    ];
    let last = 0;
    for (let i = 0; i < events.length; i += 500) {
      const acks = await Promise.all(
        events
          .slice(i, i + 500)
          .map((e, j) =>
            client.js.publish(
              `hunt.${HUNT}.events`,
              JSON.stringify({ specversion: "1.0", id: `s${i + j}`, source: "t", ...e }),
              { msgID: `s${i + j}` },
            ),
          ),
      );
      last = acks[acks.length - 1]!.seq;
    }
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, HUNT, "state")).seq >= last, {
      timeoutMs: 60_000,
      message: "the engine to fold everything while a subscriber is stuck",
    });
    const info = await client.jsm.streams.info("HUNT_RANKS", { subjects_filter: `hunt.${HUNT}.ranks` });
    expect(info.state.subjects?.[`hunt.${HUNT}.ranks`]).toBe(players + OUTPUTS);
    // Now read what the stuck client was sent before the server gave up on it: far from everything,
    // and then the connection ends (a paused socket reports the end only once drained).
    let received = 0;
    let closed = false;
    slow.on("data", (chunk: Buffer) => {
      for (let i = chunk.indexOf("MSG "); i >= 0; i = chunk.indexOf("MSG ", i + 4)) received++;
    });
    slow.on("close", () => {
      closed = true;
    });
    slow.resume();
    await waitFor(() => closed, {
      timeoutMs: 20_000,
      message: "the server to have cut the slow subscriber off",
    });
    expect(received).toBeLessThan(players + OUTPUTS);
  });
});
