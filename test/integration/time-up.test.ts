// Time's up against a real nats-server: the engine that owns a hunt with a duration appends its
// HuntEnded {reason: "time_up"} at the deadline, once, and an engine started after a stop arms the
// deadline again from the recorded deadlines, without any new event or query for the hunt.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Deadlines, type Engine, HuntFold, startEngine } from "../../actors/index.ts";
import { createRankIndex } from "../../native/index.ts";
import { EventLog, ensureStreams, queryHunt } from "../../streams/index.ts";
import { CollectingSink } from "../support/hunt-log.ts";
import {
  cloudEvent,
  connectTest,
  startTestNats,
  type TestClient,
  type TestNats,
  waitFor,
} from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const quiet = pino({ level: "silent" });

describe("time's up", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: Engine | undefined;

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
    await ensureStreams(client.jsm);
  });

  afterAll(async () => {
    await engine?.stop();
    await client?.nc.close();
    await nats?.cleanup();
  });

  const start = () => startEngine({ nats: { servers: nats.url }, metricsPort: null, logger: quiet });

  /** Publishes an event whose id is `<hunt>-<id>` (JetStream drops a repeated id across hunts). */
  async function publish(huntId: string, id: string, type: string, data?: Record<string, unknown>) {
    const eventId = `${huntId}-${id}`;
    return client.js.publish(`hunt.${huntId}.events`, JSON.stringify(cloudEvent(eventId, type, data)), {
      msgID: eventId,
    });
  }

  /** The hunt's stored input events, decoded, with their Nats-Msg-Id. */
  async function storedEvents(huntId: string) {
    return readSubject<{ type: string; data?: { reason?: string } }>(
      client.js,
      client.jsm,
      "HUNT_EVENTS",
      `hunt.${huntId}.events`,
    );
  }

  it("appends one HuntEnded with reason time_up at the deadline, and refuses finds after it", async () => {
    engine = await start();
    await publish("tu1", "c", "HuntCreated", {
      title: "t",
      treasures: [{ id: "t", points: 5 }],
      rules: { durationMs: 1500 },
    });
    await publish("tu1", "s", "HuntStarted");
    await publish("tu1", "j", "PlayerJoined", { playerId: "a" });
    const ended = await waitFor(
      async () => {
        const s = await queryHunt<{ status: string; seq: number }>(client.nc, "tu1", "state");
        return s.status === "ended" ? s : undefined;
      },
      { timeoutMs: 20_000, message: "the hunt to end at its deadline" },
    );
    const events = await storedEvents("tu1");
    const timeUps = events.filter((e) => e.body.type === "HuntEnded");
    expect(timeUps).toEqual([
      { body: expect.objectContaining({ data: { reason: "time_up" } }), msgId: "tu1:time-up" },
    ]);
    expect(ended!.seq).toBeGreaterThanOrEqual(4);
    // A late find is refused by its own time (and by the status).
    const late = await publish("tu1", "f", "TreasureFound", { playerId: "a", treasureId: "t" });
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, "tu1", "state")).seq >= late.seq, {
      message: "the late find to be handled",
    });
    const rejected = await readSubject<{ seq: number; code: string }>(
      client.js,
      client.jsm,
      "HUNT_REJECTED",
      "hunt.tu1.rejected",
    );
    expect(rejected.map((r) => r.body)).toEqual([expect.objectContaining({ seq: late.seq })]);
    await engine.stop();
    engine = undefined;
  });

  it("arms the deadline again after a restart, with no new event or query for the hunt", async () => {
    engine = await start();
    await publish("tu2", "c", "HuntCreated", {
      title: "t",
      treasures: [{ id: "t", points: 5 }],
      rules: { durationMs: 2500 },
    });
    const started = await publish("tu2", "s", "HuntStarted");
    // The running engine arms the deadline (and records it) once it has folded the start.
    await waitFor(
      async () => (await queryHunt<{ seq: number }>(client.nc, "tu2", "state")).seq >= started.seq,
      {
        message: "the start to be handled",
      },
    );
    await engine.stop();
    engine = await start();
    const events = await waitFor(
      async () => {
        const stored = await storedEvents("tu2");
        return stored.some((e) => e.body.type === "HuntEnded") ? stored : undefined;
      },
      { timeoutMs: 20_000, message: "the restarted engine to end the hunt at its deadline" },
    );
    expect(events!.filter((e) => e.body.type === "HuntEnded").map((e) => e.msgId)).toEqual(["tu2:time-up"]);
    await waitFor(
      async () => (await queryHunt<{ status: string }>(client.nc, "tu2", "state")).status === "ended",
      { message: "the hunt's status to be ended" },
    );
    await engine.stop();
    engine = undefined;
  });

  it("does not end a hunt paused just before its deadline by an event the engine had not folded yet", async () => {
    // The deadline of a fold that has seen the start but not the pause stored right after it: the
    // append at the deadline must be refused, and the pause, once folded, disarms it.
    const said: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void said.push(line) });
    const deadlines = new Deadlines(client.nc, { replicas: 1, logger });
    await deadlines.start();
    try {
      await publish("tu4", "c", "HuntCreated", {
        title: "t",
        treasures: [{ id: "t", points: 5 }],
        rules: { durationMs: 1000 },
      });
      const started = await publish("tu4", "s", "HuntStarted");
      const fold = new HuntFold("tu4", createRankIndex("js"));
      for await (const m of new EventLog(client.js, client.jsm).read("tu4", 1)) {
        fold.applyBatch([m], new CollectingSink());
      }
      expect(fold.seq).toBe(started.seq);
      // Stored before the deadline, not yet folded: the deadline is still armed as if running.
      const paused = await publish("tu4", "p", "HuntPaused");
      deadlines.update("tu4", fold);
      expect(deadlines.has("tu4")).toBe(true);
      await waitFor(() => said.some((l) => l.includes("has not folded yet")), {
        timeoutMs: 10_000,
        message: "the engine to try to end the hunt at its deadline",
      });
      for await (const m of new EventLog(client.js, client.jsm).read("tu4", fold.seq + 1)) {
        fold.applyBatch([m], new CollectingSink());
      }
      expect(fold.seq).toBe(paused.seq);
      expect(fold.status).toBe("paused");
      deadlines.update("tu4", fold);
      expect(deadlines.has("tu4")).toBe(false);
      expect((await storedEvents("tu4")).map((e) => e.body.type)).toEqual([
        "HuntCreated",
        "HuntStarted",
        "HuntPaused",
      ]);
    } finally {
      deadlines.stop();
    }
  });

  it("does not end a hunt whose duration is longer than a Node timer can wait (about 24.8 days)", async () => {
    engine = await start();
    await publish("tu3", "c", "HuntCreated", {
      title: "t",
      treasures: [{ id: "t", points: 5 }],
      rules: { durationMs: 30 * 24 * 3_600_000 },
    });
    await publish("tu3", "s", "HuntStarted");
    await publish("tu3", "j1", "PlayerJoined", { playerId: "a" });
    // The engine folds the start and arms the timer; a timer that fired at once would have appended
    // its HuntEnded long before these later events are handled.
    for (const p of ["b", "c", "d"]) {
      const ack = await publish("tu3", `j-${p}`, "PlayerJoined", { playerId: p });
      await waitFor(
        async () => (await queryHunt<{ seq: number }>(client.nc, "tu3", "state")).seq >= ack.seq,
        {
          message: `join ${p} to be handled`,
        },
      );
    }
    expect((await queryHunt<{ status: string }>(client.nc, "tu3", "state")).status).toBe("running");
    expect((await storedEvents("tu3")).filter((e) => e.body.type === "HuntEnded")).toEqual([]);
    await engine.stop();
    engine = undefined;
  });
});
