// The ledger as a specification: given a log, a competitor's entries say why each of their rank
// messages was sent, and the same fold's outputs agree with the live fold's.
import { describe, expect, it } from "vitest";
import {
  type Competitor,
  decodeLedgerCursor,
  encodeLedgerCursor,
  HuntFold,
  LedgerFold,
  ledgerShortcut,
} from "../../actors/index.ts";
import { JsRankIndex } from "../../native/index.ts";
import { type LedgerEntry, outputValidators } from "../../schemas/index.ts";
import { CollectingSink, ev, log } from "../support/hunt-log.ts";

const T0 = 1_700_000_000_000;

/** The log of a small hunt; the times are set per event so that running time is known. */
function huntLog() {
  const events = [
    /* 1 */ ev("HuntCreated", {
      title: "ledger",
      treasures: [
        { id: "t1", points: 5 },
        { id: "t2", points: 10, decay: { everyMs: 60_000, step: 2, min: 4 } },
      ],
      rules: { firstFinderBonus: [3], hintPenalty: 2 },
    }),
    /* 2 */ ev("HuntStarted"),
    /* 3 */ ev("PlayerJoined", { playerId: "ann" }),
    /* 4 */ ev("PlayerJoined", { playerId: "bob" }),
    /* 5 */ ev("TreasureFound", { playerId: "ann", treasureId: "t1", reason: "not an adjustment", by: "x" }),
    /* 6 */ ev("HintTaken", { playerId: "ann", treasureId: "t2" }),
    /* 7 */ ev("TreasureFound", { playerId: "bob", treasureId: "t2" }),
    /* 8 */ ev("TreasureFound", { playerId: "ann", treasureId: "t1" }), // already_found
    /* 9 */ ev("HuntPaused"),
    /* 10 */ ev("ScoreAdjusted", { playerId: "ann", delta: 4, reason: "photo bonus", by: "alice" }),
    /* 11 */ ev("ScoreAdjusted", { playerId: "ann", delta: 0, reason: "no change" }),
    /* 12 */ ev("HuntResumed"),
    /* 13 */ ev("PlayerDisqualified", { playerId: "bob", reason: "shared answers", by: "carol" }),
    /* 14 */ ev("ScoreAdjusted", { playerId: "bob", delta: 1, reason: "too late" }), // disqualified
    /* 15 */ ev("PlayerLeft", { playerId: "ann" }),
  ];
  // Seconds from the start: running 0-120 s, paused 120-300 s, running again from 300 s.
  const at = [0, 0, 1, 2, 30, 60, 90, 100, 120, 200, 210, 300, 330, 340, 360];
  return log(events).map((m, i) => ({ ...m, time: T0 + at[i]! * 1000 }));
}

/** One log for every test, so its event ids stay the same. */
const LOG = huntLog();
const ids = LOG.map((m) => JSON.parse(new TextDecoder().decode(m.data)).id as string);

/** A competitor's ledger and every input's rejection code, the log fed in batches of `size`. */
function ledgerOf(
  competitor: Competitor | null,
  size = 1,
  inputs = LOG,
): { entries: LedgerEntry[]; codes: (string | undefined)[]; fold: LedgerFold } {
  const fold = new LedgerFold("h-ledger", new JsRankIndex(), competitor);
  const entries: LedgerEntry[] = [];
  const codes: (string | undefined)[] = [];
  for (let i = 0; i < inputs.length; i += size) {
    fold.feed(inputs.slice(i, i + size), (_input, entry, rejection) => {
      if (entry) entries.push(entry);
      codes.push(rejection?.code);
    });
  }
  return { entries, codes, fold };
}

/** The log with its pause and resume written with escapes (the same events to a JSON reader). */
function escapedClockLog() {
  return LOG.map((m) => {
    const body = new TextDecoder().decode(m.data);
    const escaped = body
      .replace('"HuntPaused"', '"Hunt\\u0050aused"')
      .replace('"HuntResumed"', '"\\u0048untResumed"');
    return { ...m, data: new TextEncoder().encode(escaped) };
  });
}

describe("LedgerFold", () => {
  it("gives a player an entry for every rank message but the join, with its input", () => {
    const { entries } = ledgerOf({ playerId: "ann" });
    expect(entries).toEqual([
      // A find: the treasure's points and the first finder's bonus; a find's data gives no reason or by.
      {
        seq: 5,
        time: T0 + 30_000,
        runningMs: 30_000,
        type: "TreasureFound",
        eventId: ids[4],
        delta: 8,
        score: 8,
        rank: 1,
        treasureId: "t1",
      },
      {
        seq: 6,
        time: T0 + 60_000,
        runningMs: 60_000,
        type: "HintTaken",
        eventId: ids[5],
        delta: -2,
        score: 6,
        rank: 1,
        treasureId: "t2",
      },
      // While paused the running time stays at the closed span; bob's find (11) put ann second.
      {
        seq: 10,
        time: T0 + 200_000,
        runningMs: 120_000,
        type: "ScoreAdjusted",
        eventId: ids[9],
        delta: 4,
        score: 10,
        rank: 2,
        reason: "photo bonus",
        by: "alice",
      },
      // Leaving: rank 0 with the last score, delta 0. Paused time does not count.
      {
        seq: 15,
        time: T0 + 360_000,
        runningMs: 180_000,
        type: "PlayerLeft",
        eventId: ids[14],
        delta: 0,
        score: 10,
        rank: 0,
      },
    ]);
    expect(outputValidators.ledgerReply({ seq: 15, entries })).toBe(true);
  });

  it("gives a disqualified player an entry with delta 0 and rank 0, reason and by", () => {
    const { entries } = ledgerOf({ playerId: "bob" });
    expect(
      entries.map((e) => [e.seq, e.type, e.runningMs, e.delta, e.score, e.rank, e.reason, e.by]),
    ).toEqual([
      // t2 decayed one step (2 points) at running time 90 s, plus the first finder's bonus (3).
      [7, "TreasureFound", 90_000, 11, 11, 1, undefined, undefined],
      [13, "PlayerDisqualified", 150_000, 0, 11, 0, "shared answers", "carol"],
    ]);
  });

  it("agrees with the live fold's rank messages, one entry per message after the join", () => {
    const live = new HuntFold("h-ledger", new JsRankIndex());
    const sink = new CollectingSink();
    live.applyBatch(LOG, sink);
    for (const playerId of ["ann", "bob"]) {
      const messages = sink.outputs.filter((o) => o.kind === "rank" && o.playerId === playerId);
      const { entries, fold } = ledgerOf({ playerId });
      expect(entries.map((e) => [e.seq, e.score, e.rank])).toEqual(
        messages.slice(1).map((m) => [m.seq, (m as { score: number }).score, (m as { rank: number }).rank]),
      );
      expect(fold.fold.seq).toBe(live.seq);
    }
  });

  it("says why each input it folded was rejected", () => {
    const { entries, codes } = ledgerOf(null);
    expect(entries).toEqual([]); // no competitor, no entries
    expect(codes[7]).toBe("already_found");
    expect(codes[13]).toBe("disqualified");
    expect(codes.filter((c) => c !== undefined)).toHaveLength(2);
  });

  it("gives a player who never joined no entries", () => {
    expect(ledgerOf({ playerId: "nobody" }).entries).toEqual([]);
  });

  it("gives the same entries, running times and verdicts whatever the batches it is fed", () => {
    for (const playerId of ["ann", "bob"]) {
      const one = ledgerOf({ playerId });
      expect(one.entries.length).toBeGreaterThan(0);
      for (const size of [2, 3, 4, 7, LOG.length]) {
        const batched = ledgerOf({ playerId }, size);
        expect(batched.entries).toEqual(one.entries);
        expect(batched.codes).toEqual(one.codes);
      }
    }
  });

  it("keeps the running time right when a pause or a resume is written with escapes", () => {
    const escaped = escapedClockLog();
    expect(new TextDecoder().decode(escaped[8]!.data)).not.toContain("HuntPaused");
    const one = ledgerOf({ playerId: "ann" });
    expect(ledgerOf({ playerId: "ann" }, LOG.length, escaped).entries).toEqual(one.entries);
  });
});

describe("ledger cursors and shortcuts", () => {
  it("round-trips a cursor and refuses what is not one", () => {
    expect(decodeLedgerCursor(encodeLedgerCursor(0))).toBe(0);
    expect(decodeLedgerCursor(encodeLedgerCursor(123_456_789))).toBe(123_456_789);
    for (const bad of [
      "",
      "x",
      Buffer.from('{"ledgerAfter":-1}').toString("base64url"),
      Buffer.from("[3]").toString("base64url"),
      Buffer.from('{"ledgerAfter":1.5}').toString("base64url"),
    ]) {
      expect(decodeLedgerCursor(bad)).toBeUndefined();
    }
  });

  it("answers a team's ledger unknown_team in a hunt without teams, and a stranger's at once, empty", () => {
    const fold = new HuntFold("h-ledger", new JsRankIndex());
    fold.applyBatch(LOG, new CollectingSink());
    expect(ledgerShortcut(fold, { teamId: "red" })).toMatchObject({ error: { code: "unknown_team" } });
    expect(ledgerShortcut(fold, { playerId: "nobody" })).toEqual({ seq: 15, entries: [] });
    expect(ledgerShortcut(fold, { playerId: "ann" })).toBeUndefined();
  });
});
