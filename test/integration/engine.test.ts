// The engine end to end against a real nats-server: publish a hunt, then read the stored ranks and
// rejections, query it, and compare everything with the reference model.
import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, replayHunt, startEngine, stateHash } from "../../actors/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { encode, inputArb } from "../support/hunt-arbitraries.ts";
import { HuntModel, type ModelInput } from "../support/hunt-model.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const HUNT = "it-hunt";
const quiet = pino({ level: "silent" });

function huntLog(): ModelInput[] {
  const body = fc.sample(fc.array(inputArb, { minLength: 400, maxLength: 400 }), {
    seed: 20261128,
    numRuns: 1,
  })[0]!;
  const create: ModelInput = {
    kind: "event",
    event: {
      id: "create",
      type: "HuntCreated",
      data: {
        title: "it",
        treasures: [
          { id: "t1", points: 5 },
          { id: "t2", points: 10 },
          { id: "t3", points: 0 },
        ],
        rules: { firstFinderBonus: [4, 2], hintPenalty: 1 },
      },
    },
  };
  return [create, { kind: "event", event: { id: "start", type: "HuntStarted" } }, ...body];
}

describe("engine against nats-server", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: Engine;
  const inputs = huntLog();
  const model = new HuntModel();
  for (const [i, input] of inputs.entries()) model.apply(i + 1, input);

  beforeAll(async () => {
    nats = await startTestNats();
    engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: null,
      logger: quiet,
      snapshotEvery: 50,
      topIntervalMs: 20,
    });
    client = await connectTest(nats.url);
    for (const msg of encode(inputs)) {
      const ack = await client.js.publish(`hunt.${HUNT}.events`, msg.data, { msgID: msg.msgId! });
      expect(ack.seq).toBe(msg.seq);
    }
    await waitFor(
      async () => (await queryHunt<{ seq: number }>(client.nc, HUNT, "state")).seq >= inputs.length,
      {
        timeoutMs: 30_000,
        message: "the engine to handle every event",
      },
    );
  });

  afterAll(async () => {
    await client?.nc.close();
    await engine?.stop();
    await nats?.cleanup();
  });

  it("stores exactly the model's rank messages and rejections, once each, with idempotent ids", async () => {
    const ranks = await readSubject(client.js, client.jsm, "HUNT_RANKS", `hunt.${HUNT}.ranks`);
    const rejected = await readSubject(client.js, client.jsm, "HUNT_REJECTED", `hunt.${HUNT}.rejected`);
    const expectedRanks = model.outputs.filter((o) => o.kind === "rank").map(({ kind, ...o }) => o);
    const expectedRejected = model.outputs.filter((o) => o.kind === "rejected").map(({ kind, ...o }) => o);
    expect(ranks.map((r) => r.body)).toEqual(expectedRanks);
    expect(rejected.map(({ body: { message, ...r } }) => r)).toEqual(expectedRejected);
    for (const r of rejected) expect(typeof r.body.message).toBe("string");
    for (const r of [...ranks, ...rejected]) expect(r.msgId).toBe(`${HUNT}:${r.body.seq}:0`);
  });

  it("answers top with cursor paging, rank, around and state like the model", async () => {
    const board = model.leaderboard();
    const paged: { rank: number; playerId: string; score: number }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await queryHunt<{ seq: number; entries: typeof paged; next?: string }>(
        client.nc,
        HUNT,
        "top",
        { n: 2, ...(after ? { after } : {}) },
      );
      expect(page.seq).toBe(inputs.length);
      paged.push(...page.entries);
      if (!page.next) break;
      after = page.next;
    }
    expect(paged).toEqual(board.map((p, i) => ({ rank: i + 1, playerId: p.id, score: p.score })));
    for (const p of model.players.values()) {
      const r = await queryHunt<{ rank: number; score: number }>(client.nc, HUNT, "rank", { playerId: p.id });
      expect(r).toMatchObject({ rank: p.joined ? model.rankOf(p.id) : 0, score: p.score });
    }
    if (board.length > 0) {
      const mid = board[Math.floor(board.length / 2)]!;
      const around = await queryHunt<{ entries: { playerId: string }[] }>(client.nc, HUNT, "around", {
        playerId: mid.id,
        before: 1,
        after: 1,
      });
      const at = board.indexOf(mid);
      expect(around.entries.map((e) => e.playerId)).toEqual(
        board.slice(Math.max(0, at - 1), at + 2).map((p) => p.id),
      );
    }
    const state = await queryHunt<{ seq: number; status: string; players: number; stateHash: string }>(
      client.nc,
      HUNT,
      "state",
    );
    expect(state).toMatchObject({ seq: inputs.length, status: model.status, players: board.length });
    expect(state.stateHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("answers errors as objects: unknown hunt, unknown op, bad request", async () => {
    await expect(queryHunt(client.nc, "no-such-hunt", "state")).rejects.toMatchObject({
      code: "unknown_hunt",
    });
    await expect(queryHunt(client.nc, HUNT, "teleport")).rejects.toMatchObject({ code: "invalid_request" });
    const raw = await client.nc.request(`hunt.${HUNT}.query.top`, "not json", { timeout: 5000 });
    expect(raw.json()).toMatchObject({ error: { code: "invalid_request" } });
    await expect(queryHunt(client.nc, HUNT, "top", { n: -1 })).rejects.toMatchObject({
      code: "invalid_request",
    });
  });

  it("gives the live stateHash in a replay from the log and after a restart from the snapshot", async () => {
    const live = await queryHunt<{ stateHash: string; seq: number }>(client.nc, HUNT, "state");
    const replay = await replayHunt(client.nc, HUNT);
    expect(replay.events).toBe(inputs.length);
    expect(stateHash(replay.fold)).toBe(live.stateHash);
    await engine.stop();
    engine = await startEngine({ nats: { servers: nats.url }, metricsPort: null, logger: quiet });
    const again = await queryHunt<{ stateHash: string; seq: number }>(client.nc, HUNT, "state");
    expect(again).toEqual(live);
    const ranks = await readSubject(client.js, client.jsm, "HUNT_RANKS", `hunt.${HUNT}.ranks`);
    expect(ranks.length).toBe(model.outputs.filter((o) => o.kind === "rank").length);
  });
});
