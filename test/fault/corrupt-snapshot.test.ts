// A corrupt or truncated snapshot is detected by its checksum, ignored with a warning, and the hunt
// is rebuilt from the log to the same stateHash.
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { queryHunt, SnapshotStore } from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

describe("damaged snapshots", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: Engine | undefined;

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
  });

  afterAll(async () => {
    await engine?.stop();
    await client?.nc.close();
    await nats?.cleanup();
  });

  const damages: [string, (b: Uint8Array) => Uint8Array][] = [
    [
      "a flipped byte",
      (b) => {
        const c = b.slice();
        c[Math.floor(c.length / 2)]! ^= 0x40;
        return c;
      },
    ],
    ["a truncated body", (b) => b.slice(0, Math.floor(b.length * 0.6))],
    ["garbage", () => new TextEncoder().encode("not a snapshot at all")],
  ];

  it.each(damages)("rebuilds from the log after %s", async (_name, damage) => {
    const huntId = `snap-${Math.random().toString(36).slice(2, 8)}`;
    engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: null,
      logger: pino({ level: "silent" }),
    });
    let last = 0;
    const publish = async (id: string, type: string, data?: object) => {
      last = (
        await client.js.publish(
          `hunt.${huntId}.events`,
          JSON.stringify({ specversion: "1.0", id: `${huntId}-${id}`, source: "t", type, data }),
          { msgID: `${huntId}-${id}` },
        )
      ).seq;
    };
    await publish("c", "HuntCreated", { title: "s", treasures: [{ id: "t", points: 4 }] });
    await publish("s", "HuntStarted");
    for (let p = 0; p < 30; p++) await publish(`j${p}`, "PlayerJoined", { playerId: `p${p}` });
    for (let p = 0; p < 30; p += 3)
      await publish(`f${p}`, "TreasureFound", { playerId: `p${p}`, treasureId: "t" });
    const live = await waitFor(
      async () => {
        const s = await queryHunt<{ seq: number; stateHash: string }>(client.nc, huntId, "state");
        return s.seq >= last ? s : undefined;
      },
      { message: "the hunt to be handled" },
    );
    await engine.stop(); // graceful: writes the snapshot

    const store = new SnapshotStore(client.nc);
    const good = await store.get(huntId);
    expect(good).toBeDefined();
    await store.put(huntId, damage(good!));

    const { logger, lines } = capturingLogger();
    engine = await startEngine({ nats: { servers: nats.url }, metricsPort: null, logger });
    expect(await queryHunt(client.nc, huntId, "state")).toEqual(live);
    const warning = lines.find((l) => l.huntId === huntId && l.level === 40);
    expect(warning?.msg).toMatch(/ignoring the snapshot|snapshot unreadable/);
    const activated = lines.find((l) => l.huntId === huntId && l.msg === "hunt activated");
    // Nothing came from the snapshot: all 42 events of the hunt were folded again from the log.
    expect(activated).toMatchObject({ snapshotSeq: 0, replayed: 42 });
    await engine.stop();
    engine = undefined;
  });
});
