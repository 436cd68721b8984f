// A partition handed over while one of its hunts is activating on the input path: the hand-over must
// not wait for the activation (the lease loop that releases the partition is the engine's heartbeat),
// and the activation must not bring the hunt to life on the engine that gave the partition up (one
// live copy). The hunt's log is long and it has no snapshot, so its activation replays it all and is
// still running when the new engine joins; what is checked is the order of what the old engine did.
import { headers } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, preferredOwner, startEngine } from "../../actors/index.ts";
import { EVENTS_STREAM, partitionOf, queryHunt } from "../../streams/index.ts";
import {
  cloudEvent,
  startPartitionedNats,
  type TestClient,
  type TestNats,
  waitFor,
} from "../support/nats.ts";

const PARTITIONS = 8;
const HUNT = "long-hunt";
const PARTITION = partitionOf(HUNT, PARTITIONS);
/** Score changes in the hunt's log before the engine that activates it starts. */
const EVENTS = 400_000;

/** An in-process engine whose log lines are kept, parsed. */
function logged(lines: Record<string, unknown>[]) {
  return pino(
    { level: "info" },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
}

describe("a partition handed over while one of its hunts activates", () => {
  let server: Awaited<ReturnType<typeof startPartitionedNats>>;
  let nats: TestNats;
  let client: TestClient;
  const engines: Engine[] = [];
  let ids = 0;

  beforeAll(async () => {
    server = await startPartitionedNats(PARTITIONS);
    ({ nats, client } = server);
  });

  afterAll(async () => {
    for (const e of engines) await e.stop().catch(() => {});
    await server?.cleanup();
  });

  const start = async (engineId: string, lines: Record<string, unknown>[] = []) => {
    const engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: null,
      partitions: PARTITIONS,
      engineId,
      leaseMs: 1000,
      logger: logged(lines),
    });
    engines.push(engine);
    return engine;
  };

  /** Publishes without waiting for each ack (the log is long), then waits for the stream to hold them. */
  const publish = async (events: [string, Record<string, unknown> | undefined][]) => {
    const before = (await client.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    for (const [type, data] of events) {
      const id = `ra-${++ids}`;
      const h = headers();
      h.set("Nats-Msg-Id", id);
      client.nc.publish(`hunt.${HUNT}.events`, JSON.stringify(cloudEvent(id, type, data)), { headers: h });
    }
    await client.nc.flush();
    await waitFor(
      async () => (await client.jsm.streams.info(EVENTS_STREAM)).state.last_seq === before + events.length,
      { timeoutMs: 60_000, intervalMs: 100, message: `${events.length} events stored` },
    );
    return before + events.length;
  };

  it("hands the partition over at once, and the activation that ends later is dropped", async () => {
    // A first engine folds the long log; its snapshot is then deleted, so that the next activation
    // replays every event.
    const first = await start("a");
    const body: [string, Record<string, unknown> | undefined][] = [
      ["HuntCreated", { title: "long", treasures: [{ id: "t", points: 1 }] }],
      ["HuntStarted", undefined],
      ["PlayerJoined", { playerId: "p1" }],
      ["PlayerJoined", { playerId: "p2" }],
    ];
    for (let i = 0; i < EVENTS; i++)
      body.push(["ScoreAdjusted", { playerId: i % 2 ? "p1" : "p2", delta: 1, reason: "r" }]);
    const folded = await publish(body);
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, HUNT, "state")).seq === folded, {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: "the first engine to fold the long log",
    });
    await first.stop();
    engines.length = 0;
    await client.jsm.streams.purge("CAIRN_SNAPSHOTS");

    // The same engine id again: it holds every partition, and the hunt is not live on it.
    const lines: Record<string, unknown>[] = [];
    const engineA = await start("a", lines);
    await waitFor(
      () => lines.some((l) => l.msg === "consuming" && l.durable === `cairn-engine-p${PARTITION}`),
      {
        timeoutMs: 20_000,
        message: `engine a to consume partition ${PARTITION}`,
      },
    );
    const last = await publish([["ScoreAdjusted", { playerId: "p1", delta: 5, reason: "late" }]]);
    // The batch is in hand (delivered, not acked) while the hunt activates.
    await waitFor(
      async () => {
        const c = await client.jsm.consumers.info(EVENTS_STREAM, `cairn-engine-p${PARTITION}`);
        return c.delivered.stream_seq >= last && c.num_ack_pending > 0;
      },
      { timeoutMs: 20_000, intervalMs: 10, message: "the late event delivered to engine a" },
    );
    // An engine that should own the hunt's partition joins: a gives the partition up.
    let other = "b";
    for (let i = 0; preferredOwner(["a", other], PARTITION) !== other; i++) other = `b${i}`;
    // What this test is about needs the activation still under way now (it replays the whole log).
    const ended = lines.filter((l) => l.huntId === HUNT && /activat/.test(String(l.msg)));
    expect(ended, `the activation ended before engine ${other} joined: make EVENTS larger`).toEqual([]);
    await start(other);
    await waitFor(() => lines.some((l) => l.msg === "partition handed over" && l.partition === PARTITION), {
      timeoutMs: 20_000,
      message: `engine a to hand partition ${PARTITION} over`,
    });
    const handedOver = lines.findIndex((l) => l.msg === "partition handed over" && l.partition === PARTITION);
    // The hand-over did not wait for the activation (the code that waited logged it activated first).
    const activatedBefore = lines
      .slice(0, handedOver)
      .filter((l) => l.huntId === HUNT && l.msg === "hunt activated");
    expect(activatedBefore).toEqual([]);
    // The activation ends after the hand-over, and its hunt is dropped, not made live.
    await waitFor(() => lines.some((l) => l.huntId === HUNT && l.msg === "activation failed"), {
      timeoutMs: 60_000,
      message: "engine a's activation of the hunt to end",
    }).catch((err: Error) => {
      const ended = lines.filter((l) => l.huntId === HUNT).map((l) => l.msg);
      throw new Error(`${err.message}; engine a logged for the hunt: ${ended.join(", ")}`);
    });
    expect(lines.find((l) => l.huntId === HUNT && l.msg === "activation failed")?.err).toMatch(
      /moved to another engine/,
    );
    expect(engineA.host.fold(HUNT)).toBeUndefined();
    // The new owner folds the late event.
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, HUNT, "state")).seq === last, {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: `engine ${other} to answer at the late event`,
    });
  }, 180_000);
});
