// A team hunt end to end against a real nats-server: both boards' rank streams, with their
// Nats-Msg-Ids, the coalesced team top, and the queries of both boards, compared with the reference model.
import { createHash } from "node:crypto";
import type { Msg } from "@nats-io/transport-node";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { outputValidators } from "../../schemas/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { encode, teamInputArb } from "../support/hunt-arbitraries.ts";
import { HuntModel, type ModelInput } from "../support/hunt-model.ts";
import { engineSuite, publishHunt, type TestClient, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const HUNT = "it-teams";

/** A running team hunt with two teams, then 400 inputs that read no time. */
function huntLog(): ModelInput[] {
  const body = fc.sample(fc.array(teamInputArb, { minLength: 400, maxLength: 400 }), {
    seed: 20261130,
    numRuns: 1,
  })[0]!;
  const event = (id: string, type: string, data?: Record<string, unknown>): ModelInput => ({
    kind: "event",
    event: data === undefined ? { id, type } : { id, type, data },
  });
  return [
    event("teams-create", "HuntCreated", {
      title: "teams",
      treasures: [
        { id: "t1", points: 5 },
        { id: "t2", points: 10, requires: ["t1"] },
        { id: "t3", points: 3, answerSha256: createHash("sha256").update("ans").digest("hex") },
      ],
      rules: { firstFinderBonus: [4, 2], hintPenalty: 1, teams: { maxSize: 2 } },
    }),
    event("teams-start", "HuntStarted"),
    event("teams-red", "TeamCreated", { teamId: "red" }),
    event("teams-blue", "TeamCreated", { teamId: "blue" }),
    ...body,
  ];
}

describe("a team hunt against nats-server", () => {
  const inputs = huntLog();
  const model = new HuntModel();
  for (const [i, input] of inputs.entries()) model.apply(i + 1, input);
  const teamTops: { seq: number; entries: unknown[] }[] = [];
  const suite = engineSuite({ snapshotEvery: 50, topIntervalMs: 20 }, async ({ client }) => {
    client.nc.subscribe(`hunt.${HUNT}.teams.top`, {
      callback: (_err, msg: Msg) => {
        teamTops.push(msg.json());
      },
    });
    await publishHunt(client, HUNT, encode(inputs));
  });
  let client: TestClient;
  beforeAll(() => {
    ({ client } = suite);
  });

  it("reaches the team rules: the model's log has team messages of finds, hints, adjustments and disqualifications", () => {
    const kinds = new Set(model.outputs.map((o) => (o.kind === "rejected" ? o.code : o.kind)));
    for (const k of ["teamRank", "team_full", "unknown_team", "team_exists", "already_found", "locked"]) {
      expect(kinds).toContain(k);
    }
  });

  it("stores both boards' rank messages as the model says, the player message n 0 and the team message after it", async () => {
    const ranks = await readSubject(client.js, client.jsm, "HUNT_RANKS", `hunt.${HUNT}.ranks`);
    const teamRanks = await readSubject(client.js, client.jsm, "HUNT_RANKS", `hunt.${HUNT}.teams.ranks`);
    const strip = <T extends { kind: string }>({ kind, ...o }: T) => o;
    expect(ranks.map((r) => r.body)).toEqual(model.outputs.filter((o) => o.kind === "rank").map(strip));
    expect(teamRanks.map((r) => r.body)).toEqual(
      model.outputs.filter((o) => o.kind === "teamRank").map(strip),
    );
    const playerSeqs = new Set(ranks.map((r) => r.body.seq));
    for (const r of teamRanks) {
      expect(outputValidators.teamRankChange(r.body)).toBe(true);
      expect(r.msgId).toBe(`${HUNT}:${r.body.seq}:${playerSeqs.has(r.body.seq) ? 1 : 0}`);
    }
    // Both kinds occur: team messages after a player's, and alone (a creation, a team's adjustment).
    const ns = new Set(teamRanks.map((r) => r.msgId!.slice(-1)));
    expect([...ns].sort()).toEqual(["0", "1"]);
  });

  it("publishes the team board's top on hunt.<id>.teams.top", async () => {
    const board = model.teamBoard().slice(0, 10);
    const expected = board.map((t, i) => ({ rank: i + 1, teamId: t.id, score: t.score }));
    await waitFor(() => JSON.stringify(teamTops.at(-1)?.entries) === JSON.stringify(expected), {
      message: "the last team top to show the final team board",
    });
    for (const top of teamTops) expect(outputValidators.teamsTop(top)).toBe(true);
  });

  it("answers top with board teams (cursor paging), rank and around by teamId, and state with teams", async () => {
    const board = model.teamBoard();
    const paged: unknown[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await queryHunt<{ entries: unknown[]; next?: string }>(client.nc, HUNT, "top", {
        n: 1,
        board: "teams",
        ...(after ? { after } : {}),
      });
      paged.push(...page.entries);
      if (!page.next) break;
      after = page.next;
    }
    expect(paged).toEqual(board.map((t, i) => ({ rank: i + 1, teamId: t.id, score: t.score })));
    for (const t of [...board, { id: "never-created", score: 0 }]) {
      const r = await queryHunt(client.nc, HUNT, "rank", { teamId: t.id });
      expect(r).toEqual({ seq: inputs.length, rank: model.teamRankOf(t.id), score: t.score });
    }
    const around = await queryHunt<{ entries: { teamId: string }[] }>(client.nc, HUNT, "around", {
      teamId: board.at(-1)!.id,
      before: 1,
      after: 1,
    });
    expect(around.entries.map((e) => e.teamId)).toEqual(board.slice(-2).map((t) => t.id));
    const players = await queryHunt<{ entries: { playerId: string }[] }>(client.nc, HUNT, "top", { n: 100 });
    expect(players.entries.map((e) => e.playerId)).toEqual(model.leaderboard().map((p) => p.id));
    const state = await queryHunt(client.nc, HUNT, "state");
    expect(state).toMatchObject({
      seq: inputs.length,
      players: model.leaderboard().length,
      teams: board.length,
    });
    expect(outputValidators.stateReply(state)).toBe(true);
    const publicTop = await client.nc.request(`hunt.${HUNT}.public.top`, JSON.stringify({ board: "teams" }));
    expect(publicTop.json()).toEqual(await queryHunt(client.nc, HUNT, "top", { board: "teams" }));
  });
});
