// The engine end to end against a real nats-server: publish a hunt, then read the stored ranks and
// rejections, query it, and compare everything with the reference model.
import fc from "fast-check";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { replayHunt, startEngine, stateHash } from "../../actors/index.ts";
import { outputValidators } from "../../schemas/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { encode, inputArb } from "../support/hunt-arbitraries.ts";
import { HuntModel, type ModelInput } from "../support/hunt-model.ts";
import { engineSuite, publishHunt, type TestClient } from "../support/nats.ts";
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
  const inputs = huntLog();
  const model = new HuntModel();
  for (const [i, input] of inputs.entries()) model.apply(i + 1, input);
  const suite = engineSuite({ snapshotEvery: 50, topIntervalMs: 20 }, ({ client }) =>
    publishHunt(client, HUNT, encode(inputs)),
  );
  let client: TestClient;
  beforeAll(() => {
    ({ client } = suite);
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

  it.each([
    ["top", { n: 0 }, /^n: must be an integer from 1 to 1000$/],
    ["top", { n: 5000 }, /^n: must be an integer from 1 to 1000$/],
    ["top", { n: 5, board: "clubs" }, /^board: must be one of "players", "teams"$/],
    ["around", { playerId: "a", before: 800 }, /^before: must be an integer from 0 to 500$/],
    ["rank", { playerId: "\ud83d" }, /^playerId: must be well-formed Unicode/],
    ["rank", {}, /^request must have exactly one of playerId and teamId$/],
    ["state", { verbose: true }, /^verbose: is not allowed$/],
  ])("answers %s %j with invalid_request naming the field, as the schemas say", async (op, body, message) => {
    const reply = await client.nc.request(`hunt.${HUNT}.query.${op}`, JSON.stringify(body), {
      timeout: 5000,
    });
    const error = (reply.json() as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(message);
  });

  it("answers hunt.<id>.public.* like the live queries, with no stateHash in state", async () => {
    const live = await queryHunt<{ entries: unknown[] }>(client.nc, HUNT, "top", { n: 5 });
    const reply = await client.nc.request(`hunt.${HUNT}.public.top`, JSON.stringify({ n: 5 }), {
      timeout: 5000,
    });
    expect(reply.json()).toEqual(live);
    const state = (await client.nc.request(`hunt.${HUNT}.public.state`, "{}", { timeout: 5000 })).json();
    expect(state).toEqual({
      seq: inputs.length,
      status: model.status,
      players: model.leaderboard().length,
      teams: 0,
      frozenAt: null,
      runningMs: expect.any(Number),
    });
    expect(outputValidators.publicStateReply(state)).toBe(true);
  });

  it("never answers to a reply subject that is not an inbox (it would publish there with the engine's rights)", async () => {
    const before = (await client.jsm.streams.info("HUNT_RANKS")).state.messages;
    const refusedBefore = (await suite.engine.metrics.queriesRefused.get()).values[0]?.value ?? 0;
    for (const reply of [`hunt.${HUNT}.ranks`, "$JS.API.STREAM.PURGE.HUNT_EVENTS", "cairn.snapshot.x.meta"]) {
      client.nc.publish(`hunt.${HUNT}.query.state`, "{}", { reply });
      client.nc.publish(`hunt.${HUNT}.public.state`, "{}", { reply });
    }
    // The engine handles a subscription's messages in order: once this answer is back, those were seen.
    await queryHunt(client.nc, HUNT, "rank", { playerId: "a" });
    expect((await suite.engine.metrics.queriesRefused.get()).values[0]?.value).toBe(refusedBefore + 6);
    expect((await client.jsm.streams.info("HUNT_RANKS")).state.messages).toBe(before);
    expect((await client.jsm.streams.info("HUNT_EVENTS")).state.messages).toBe(inputs.length);
  });

  it("gives the live stateHash in a replay from the log and after a restart from the snapshot", async () => {
    const live = await queryHunt<{ stateHash: string; seq: number }>(client.nc, HUNT, "state");
    const replay = await replayHunt(client.nc, HUNT);
    expect(replay.events).toBe(inputs.length);
    expect(stateHash(replay.fold)).toBe(live.stateHash);
    await suite.engine.stop();
    suite.engine = await startEngine({ nats: { servers: suite.nats.url }, metricsPort: null, logger: quiet });
    const again = await queryHunt<{ stateHash: string; seq: number }>(client.nc, HUNT, "state");
    expect(again).toEqual(live);
    const ranks = await readSubject(client.js, client.jsm, "HUNT_RANKS", `hunt.${HUNT}.ranks`);
    expect(ranks.length).toBe(model.outputs.filter((o) => o.kind === "rank").length);
  });
});
