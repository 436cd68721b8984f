// The standings freeze through a real nats-server: while frozen, hunt.<id>.top publishes nothing new and
// hunt.<id>.public.* answer the standings at the freeze, while hunt.<id>.query.* and HUNT_RANKS follow
// the live board; the reveal brings the public standings back to the live ones.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { ev } from "../support/hunt-log.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const HUNT = "freeze-a";
/** A second hunt of the same engine, used as a clock: its top is published in the same loop as HUNT's. */
const CLOCK = "freeze-clock";

interface Top {
  seq: number;
  entries: { rank: number; playerId: string; score: number }[];
}

describe("the standings freeze against nats-server", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: Engine;
  let lastSeq = 0;
  const tops: Record<string, Top[]> = { [HUNT]: [], [CLOCK]: [] };

  async function publish(huntId: string, event: Record<string, unknown>): Promise<number> {
    const ack = await client.js.publish(`hunt.${huntId}.events`, JSON.stringify(event), {
      msgID: event.id as string,
    });
    lastSeq = ack.seq;
    return ack.seq;
  }

  /** Publishes events and waits until the engine has handled them. */
  async function handled(huntId: string, ...events: Record<string, unknown>[]): Promise<number> {
    for (const e of events) await publish(huntId, e);
    const seq = lastSeq;
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, huntId, "state")).seq >= seq, {
      message: `hunt ${huntId} to handle seq ${seq}`,
    });
    return seq;
  }

  async function ask<T>(
    kind: "query" | "public",
    op: string,
    body: Record<string, unknown> = {},
  ): Promise<T> {
    const reply = await client.nc.request(`hunt.${HUNT}.${kind}.${op}`, JSON.stringify(body), {
      timeout: 5000,
    });
    return reply.json<T>();
  }

  /** Waits for a top message of the clock hunt at or after `seq`: a later run of the top loop. */
  async function tick(n: number): Promise<void> {
    const seq = await handled(CLOCK, ev("ScoreAdjusted", { playerId: "x", delta: 1, reason: `tick ${n}` }));
    await waitFor(() => tops[CLOCK]!.some((t) => t.seq >= seq), { message: "the clock hunt's top" });
  }

  const names = (t: Top) => t.entries.map((e) => `${e.playerId}:${e.score}`);

  beforeAll(async () => {
    nats = await startTestNats();
    engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: null,
      logger: pino({ level: "silent" }),
      topIntervalMs: 20,
    });
    client = await connectTest(nats.url);
    for (const huntId of [HUNT, CLOCK]) {
      client.nc.subscribe(`hunt.${huntId}.top`, {
        callback: (err, m) => {
          if (!err) tops[huntId]!.push(m.json<Top>());
        },
      });
    }
    await client.nc.flush();
  });

  afterAll(async () => {
    await client?.nc.close();
    await engine?.stop();
    await nats?.cleanup();
  });

  it("holds hunt.<id>.top and the public answers at the freeze while query.* move on, until the reveal", async () => {
    const treasures = [{ id: "t", points: 1 }];
    await handled(
      HUNT,
      ev("HuntCreated", { title: "freeze", treasures }, "fz-create"),
      ev("HuntStarted", undefined, "fz-start"),
      ...["a", "b", "c"].map((p) => ev("PlayerJoined", { playerId: p }, `fz-join-${p}`)),
      ev("ScoreAdjusted", { playerId: "a", delta: 5, reason: "head start" }, "fz-adjust-a"),
    );
    // The clock hunt is activated after HUNT, so the top loop visits HUNT first.
    await handled(
      CLOCK,
      ev("HuntCreated", { title: "clock", treasures }, "fz-clock-create"),
      ev("HuntStarted", undefined, "fz-clock-start"),
      ev("PlayerJoined", { playerId: "x" }, "fz-clock-join"),
    );
    const before = ["a:5", "b:0", "c:0"];
    await waitFor(() => tops[HUNT]!.some((t) => names(t).join() === before.join()), {
      message: "the first top",
    });

    const frozenAt = await handled(HUNT, ev("StandingsFrozen", { by: "org" }, "fz-freeze"));
    const seen = tops[HUNT]!.length;
    const last = await handled(
      HUNT,
      ev("ScoreAdjusted", { playerId: "c", delta: 10, reason: "late surge" }, "fz-adjust-c"),
      ev("PlayerJoined", { playerId: "d" }, "fz-join-d"),
    );
    const live = ["c:10", "a:5", "b:0", "d:0"];
    // The organisers' queries follow the live board...
    expect(names(await ask<Top>("query", "top", { n: 10 }))).toEqual(live);
    expect(await ask("query", "state")).toMatchObject({ seq: last, players: 4, frozenAt });
    expect(await ask("query", "rank", { playerId: "c" })).toEqual({ seq: last, rank: 1, score: 10 });
    // ...and HUNT_RANKS records every change.
    const ranks = await readSubject<{ seq: number; playerId: string; rank: number }>(
      client.js,
      client.jsm,
      "HUNT_RANKS",
      `hunt.${HUNT}.ranks`,
    );
    expect(ranks.map((r) => [r.body.playerId, r.body.rank]).slice(-2)).toEqual([
      ["c", 1],
      ["d", 4],
    ]);
    // The public answers are the standings at the freeze.
    const publicTop = await ask<Top>("public", "top", { n: 10 });
    expect(publicTop).toEqual({
      seq: last,
      entries: [
        { rank: 1, playerId: "a", score: 5 },
        { rank: 2, playerId: "b", score: 0 },
        { rank: 3, playerId: "c", score: 0 },
      ],
    });
    expect(await ask("public", "rank", { playerId: "c" })).toEqual({ seq: last, rank: 3, score: 0 });
    expect(await ask("public", "rank", { playerId: "d" })).toEqual({ seq: last, rank: 0, score: 0 });
    expect(await ask("public", "around", { playerId: "b", before: 1, after: 0 })).toEqual({
      seq: last,
      entries: publicTop.entries.slice(0, 2),
    });
    expect(await ask("public", "state")).toEqual({
      seq: last,
      status: "running",
      players: 3,
      teams: 0,
      frozenAt,
      runningMs: expect.any(Number),
    });
    // Two later runs of the top loop (HUNT's change was there before both): nothing new on hunt.<id>.top.
    await tick(1);
    await tick(2);
    expect(tops[HUNT]!.slice(seen).map(names)).toEqual([]);
    expect(names(tops[HUNT]!.at(-1)!)).toEqual(before);

    const revealed = await handled(HUNT, ev("StandingsRevealed", { by: "org" }, "fz-reveal"));
    await waitFor(() => tops[HUNT]!.some((t) => t.seq >= revealed), { message: "the top after the reveal" });
    expect(names(tops[HUNT]!.at(-1)!)).toEqual(live);
    expect(await ask("public", "top", { n: 10 })).toEqual(await ask("query", "top", { n: 10 }));
    expect(await ask("public", "state")).toEqual({
      seq: revealed,
      status: "running",
      players: 4,
      teams: 0,
      frozenAt: null,
      runningMs: expect.any(Number),
    });
  });
});
