// Proofs by review as a specification (schemas/CONTRACT.md, SubmissionMade, SubmissionReviewed and
// "Reviews"): given these events, when this one arrives, then these outputs.
import { describe, expect, it } from "vitest";
import { decodeHunt, encodeHunt, stateHash } from "../../actors/index.ts";
import { CollectingSink, ev, given, log } from "../support/hunt-log.ts";

const join = (playerId: string) => ev("PlayerJoined", { playerId });
const find = (playerId: string, treasureId: string) => ev("TreasureFound", { playerId, treasureId });
const submit = (submissionId: string, playerId: string, treasureId: string, extra = {}) =>
  ev("SubmissionMade", { submissionId, playerId, treasureId, ...extra });
const review = (submissionId: string, approved: boolean, extra = {}) =>
  ev("SubmissionReviewed", { submissionId, approved, reviewer: "judge", ...extra });

function codes(outputs: { kind: string; code?: string }[]) {
  return outputs.map((o) => (o.kind === "rejected" ? o.code : o.kind));
}

/**
 * A started hunt (every input is one second after the one before): "photo" needs a review and decays 1
 * point a second from 50, "plain" does not, "late" opens at 100 s, "statue" is at a place, "final"
 * requires "photo"; a 1, 2 and 3 for first finders.
 */
function reviewHunt(extra: Record<string, unknown>[] = [], rules: Record<string, unknown> = {}) {
  return [
    ev("HuntCreated", {
      title: "Reviews",
      treasures: [
        { id: "photo", points: 50, review: true, decay: { everyMs: 1000, step: 1, min: 0 } },
        { id: "plain", points: 10 },
        { id: "late", points: 5, review: true, opensAfterMs: 100_000 },
        { id: "early", points: 5, review: true, closesAfterMs: 1_000 },
        { id: "statue", points: 7, review: true, location: { lat: 10, lon: 20, radiusM: 5 } },
        { id: "final", points: 9, review: true, requires: ["photo"] },
      ],
      rules: { firstFinderBonus: [3, 2, 1], ...rules },
    }),
    ev("HuntStarted"),
    join("a"),
    join("b"),
    ...extra,
  ];
}

describe("TreasureFound of a treasure that needs a review", () => {
  it("is needs_review, right after unknown_treasure and before already_found", () => {
    const h = given(reviewHunt([submit("s1", "a", "photo"), review("s1", true)]));
    expect(
      codes(h.when(find("a", "nope"), find("a", "photo"), find("b", "photo"), find("a", "plain"))),
    ).toEqual(["unknown_treasure", "needs_review", "needs_review", "rank"]);
  });

  it("leaves hints alone: a hint of a review treasure is taken as any other", () => {
    const h = given(reviewHunt([], { hintPenalty: 2 }));
    expect(h.when(ev("HintTaken", { playerId: "a", treasureId: "photo" }))).toEqual([
      expect.objectContaining({ kind: "rank", playerId: "a", score: -2 }),
    ]);
  });
});

describe("SubmissionMade", () => {
  it("is accepted silently: a pending submission changes no score", () => {
    const h = given(reviewHunt());
    expect(h.when(submit("s1", "a", "photo", { evidence: "https://example.invalid/p.jpg" }))).toEqual([]);
    expect(h.fold.submissions.pending.size).toBe(1);
  });

  it("needs a running hunt, within its time, and a player who is not disqualified and joined", () => {
    const paused = given(reviewHunt([ev("HuntPaused")]));
    expect(codes(paused.when(submit("s1", "a", "photo")))).toEqual(["invalid_state"]);
    const created = given([reviewHunt()[0]!, join("a")]);
    expect(codes(created.when(submit("s1", "a", "photo")))).toEqual(["invalid_state"]);
    // The inputs are a second apart: the sixth input runs at 4 s, past a duration of 3 s.
    const timed = given(reviewHunt([], { durationMs: 3_000 }));
    expect(codes(timed.when(submit("s1", "a", "photo")))).toEqual(["time_up"]);
    const h = given(reviewHunt([ev("PlayerDisqualified", { playerId: "b", reason: "x" })]));
    expect(codes(h.when(submit("s1", "b", "photo"), submit("s2", "zz", "photo")))).toEqual([
      "disqualified",
      "unknown_player",
    ]);
  });

  it("checks the treasure, that it needs a review, the id, and what the competitor found, in that order", () => {
    const h = given(reviewHunt([find("a", "plain"), submit("s1", "a", "photo"), review("s1", true)]));
    expect(
      codes(
        h.when(
          submit("s1", "a", "nope"), // the treasure comes before the id
          submit("s2", "a", "plain"), // no review, though found
          submit("s1", "b", "photo"), // the id exists
          submit("s3", "a", "photo"), // found by approval
          submit("s4", "b", "photo"),
        ),
      ),
    ).toEqual(["unknown_treasure", "no_review", "submission_exists", "already_found"]);
    // A rejected input does not take its id: s2 and s3 are free.
    expect(codes(h.when(submit("s2", "a", "final")))).toEqual([]);
  });

  it("applies the treasure's window, clues and place as TreasureFound does, then already_pending", () => {
    const at = { lat: 10, lon: 20 };
    const h = given(reviewHunt());
    expect(
      codes(
        h.when(
          submit("s1", "a", "late"),
          submit("s2", "a", "early"),
          submit("s3", "a", "final"),
          submit("s4", "a", "statue"),
          submit("s5", "a", "statue", { location: { lat: 10.001, lon: 20 } }),
          submit("s6", "a", "statue", { location: at }),
          submit("s7", "a", "statue", { location: at }),
          submit("s8", "b", "statue", { location: at }),
        ),
      ),
    ).toEqual(["not_open", "closed", "locked", "too_far", "too_far", "already_pending"]);
  });
});

describe("SubmissionReviewed", () => {
  it("scores an approval as a find at the review: the points decayed at the submission, no first-finder bonus", () => {
    // The submission is the fifth input (running time 3 s: 47 points), the review the seventh.
    const h = given(reviewHunt([submit("s1", "a", "photo"), join("c")]));
    expect(h.when(review("s1", true))).toEqual([
      { kind: "rank", seq: 7, playerId: "a", score: 47, rank: 1, previousRank: 1, players: 3 },
    ]);
    // A later find of a plain treasure still gets the first finder's bonus: reviews take no place.
    expect(h.when(find("b", "plain"))).toEqual([
      expect.objectContaining({ playerId: "b", score: 13, rank: 2 }),
    ]);
    // Submitted at the ninth input (running time 7 s: 43 points).
    expect(codes(h.when(submit("s2", "b", "photo"), review("s2", true)))).toEqual(["rank"]);
    expect(h.fold.index.score("b")).toBe(13 + 43);
  });

  it("gives the review's points when it has them, and counts the find for clues and hints", () => {
    const h = given(reviewHunt([submit("s1", "a", "photo")]));
    expect(h.when(review("s1", true, { points: 100, reason: "great shot" }))).toEqual([
      expect.objectContaining({ kind: "rank", playerId: "a", score: 100 }),
    ]);
    expect(
      codes(h.when(submit("s2", "a", "final"), ev("HintTaken", { playerId: "a", treasureId: "photo" }))),
    ).toEqual(["already_found"]);
  });

  it("changes nothing on a rejection, and the competitor may submit again", () => {
    const h = given(reviewHunt([submit("s1", "a", "photo")]));
    expect(h.when(review("s1", false, { reason: "blurry" }))).toEqual([]);
    expect(h.fold.index.score("a")).toBe(0);
    expect(codes(h.when(review("s1", true), submit("s1", "a", "photo"), submit("s2", "a", "photo")))).toEqual(
      ["already_reviewed", "submission_exists"],
    );
    expect(codes(h.when(review("s2", true)))).toEqual(["rank"]);
  });

  it("records a find of 0 points without a rank message", () => {
    const h = given(reviewHunt([submit("s1", "a", "photo")]));
    expect(h.when(review("s1", true, { points: 0 }))).toEqual([]);
    expect(codes(h.when(submit("s2", "a", "photo")))).toEqual(["already_found"]);
  });

  it("rejects unknown_submission, then already_reviewed", () => {
    const h = given(reviewHunt([submit("s1", "a", "photo"), review("s1", true)]));
    expect(codes(h.when(review("nope", true), review("s1", true), review("s1", false)))).toEqual([
      "unknown_submission",
      "already_reviewed",
      "already_reviewed",
    ]);
  });

  it("reviews late: while paused and after the hunt ended, not before it started nor once finalised", () => {
    const h = given(reviewHunt([submit("s1", "a", "photo"), submit("s2", "b", "photo"), ev("HuntPaused")]));
    expect(codes(h.when(review("s1", true)))).toEqual(["rank"]);
    h.when(ev("HuntEnded"));
    expect(codes(h.when(review("s2", true)))).toEqual(["rank"]);
    const none = given([]);
    expect(codes(none.when(review("s1", true)))).toEqual(["invalid_state"]);
    const created = given([reviewHunt()[0]!]);
    expect(codes(created.when(review("s1", true)))).toEqual(["invalid_state"]);
    const finalized = given(reviewHunt([submit("s1", "a", "photo"), ev("HuntEnded"), ev("HuntFinalized")]));
    expect(codes(finalized.when(review("s1", true)))).toEqual(["finalized"]);
  });

  it("finds a submission closed when its player left or was disqualified no longer pending", () => {
    const h = given(
      reviewHunt([
        submit("s1", "a", "photo"),
        submit("s2", "b", "photo"),
        submit("s3", "b", "statue", { location: { lat: 10, lon: 20 } }),
        ev("PlayerLeft", { playerId: "a" }),
        ev("PlayerDisqualified", { playerId: "b", reason: "x" }),
      ]),
    );
    expect(codes(h.when(review("s1", true), review("s2", true), review("s3", false)))).toEqual([
      "already_reviewed",
      "already_reviewed",
      "already_reviewed",
    ]);
    expect(h.fold.submissions.pending.size).toBe(0);
  });

  it("rejects an approval that would leave the safe-integer range, and the submission stays pending", () => {
    const h = given(reviewHunt([ev("ScoreAdjusted", { playerId: "a", delta: 2 ** 53 - 10, reason: "x" })]));
    h.when(submit("s1", "a", "photo"));
    expect(codes(h.when(review("s1", true)))).toEqual(["invalid_event"]);
    expect(codes(h.when(review("s1", true, { points: 9 })))).toEqual(["rank"]);
  });
});

describe("snapshots of hunts with reviews", () => {
  it("keep the review treasures and every submission, pending or not, so the tail is judged the same", () => {
    const events = reviewHunt([
      submit("s1", "a", "photo"),
      submit("s2", "b", "photo"),
      review("s2", false),
      submit("s3", "b", "photo"),
      join("c"),
      submit("s4", "c", "photo"),
      ev("PlayerLeft", { playerId: "c" }),
      review("s1", true),
      submit("s5", "a", "final"),
      find("a", "photo"),
      review("s3", true),
      review("s4", true),
      review("s5", true, { points: 4 }),
      submit("s1", "b", "final"),
    ]);
    const full = given(events);
    const fullSink = new CollectingSink();
    const msgs = log(events);
    const replay = given([]);
    replay.fold.applyBatch(msgs, fullSink);
    expect(stateHash(replay.fold)).toBe(stateHash(full.fold));
    for (let cut = 1; cut < events.length; cut++) {
      const head = given(events.slice(0, cut));
      const restored = decodeHunt("h-test", encodeHunt(head.fold));
      expect(stateHash(restored)).toBe(stateHash(head.fold));
      const sink = new CollectingSink();
      restored.applyBatch(msgs.slice(cut), sink);
      expect(stateHash(restored)).toBe(stateHash(full.fold));
      expect(sink.outputs).toEqual(fullSink.outputs.filter((o) => o.seq > cut));
    }
  });
});
