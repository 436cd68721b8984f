// The fold as a specification: given these events, when this one arrives, then these outputs.
import { describe, expect, it } from "vitest";
import { answer, decodeHunt, encodeHunt, HuntFold, publicStateReply, stateHash } from "../../actors/index.ts";
import { createRankIndex, JsRankIndex } from "../../native/index.ts";
import { CollectingSink, ev, given, log, runningHunt } from "../support/hunt-log.ts";

const join = (playerId: string) => ev("PlayerJoined", { playerId });
const find = (playerId: string, treasureId: string, answer?: string) =>
  ev("TreasureFound", answer === undefined ? { playerId, treasureId } : { playerId, treasureId, answer });
const hint = (playerId: string, treasureId: string) => ev("HintTaken", { playerId, treasureId });
const adjust = (playerId: string, delta: number) => ev("ScoreAdjusted", { playerId, delta, reason: "test" });

function codes(outputs: { kind: string; code?: string }[]) {
  return outputs.map((o) => (o.kind === "rejected" ? o.code : o.kind));
}

describe("lifecycle", () => {
  it("rejects every event before HuntCreated with invalid_state", () => {
    const out = given([]).when(
      ev("HuntStarted"),
      join("p"),
      adjust("p", 1),
      ev("PlayerLeft", { playerId: "p" }),
    );
    expect(codes(out)).toEqual(["invalid_state", "invalid_state", "invalid_state", "invalid_state"]);
  });

  it("walks created → running ⇄ paused → ended and rejects the rest", () => {
    const h = given([ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1 }] })]);
    expect(h.fold.status).toBe("created");
    expect(codes(h.when(ev("HuntCreated", { title: "y", treasures: [{ id: "t", points: 1 }] })))).toEqual([
      "invalid_state",
    ]);
    expect(codes(h.when(ev("HuntPaused"), ev("HuntResumed"), ev("HuntEnded")))).toEqual([
      "invalid_state",
      "invalid_state",
      "invalid_state",
    ]);
    expect(h.when(ev("HuntStarted"))).toEqual([]);
    expect(h.fold.status).toBe("running");
    expect(codes(h.when(ev("HuntResumed"), ev("HuntStarted")))).toEqual(["invalid_state", "invalid_state"]);
    h.when(ev("HuntPaused"));
    expect(h.fold.status).toBe("paused");
    expect(codes(h.when(ev("HuntPaused")))).toEqual(["invalid_state"]);
    h.when(ev("HuntResumed"), ev("HuntPaused"), ev("HuntEnded"));
    expect(h.fold.status).toBe("ended");
    expect(codes(h.when(ev("HuntEnded"), ev("HuntResumed"), ev("HuntStarted")))).toEqual([
      "invalid_state",
      "invalid_state",
      "invalid_state",
    ]);
  });

  it("accepts events without data for the field-less types", () => {
    const h = given([ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1 }] })]);
    expect(h.when({ specversion: "1.0", id: "s", source: "g", type: "HuntStarted" })).toEqual([]);
    expect(h.fold.status).toBe("running");
  });
});

describe("PlayerJoined", () => {
  it("ranks a new player with score 0 and previousRank 0", () => {
    const h = given(runningHunt());
    expect(h.when(join("a"))).toEqual([
      { kind: "rank", seq: 3, playerId: "a", score: 0, rank: 1, previousRank: 0, players: 1 },
    ]);
    // Joining counts as a change: the later joiner ranks below on equal score.
    expect(h.when(join("b"))).toEqual([
      { kind: "rank", seq: 4, playerId: "b", score: 0, rank: 2, previousRank: 0, players: 2 },
    ]);
  });

  it("is accepted while created, not while paused or ended", () => {
    const created = given([ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1 }] })]);
    expect(codes(created.when(join("a")))).toEqual(["rank"]);
    const paused = given(runningHunt({}, [ev("HuntPaused")]));
    expect(codes(paused.when(join("a")))).toEqual(["invalid_state"]);
    const ended = given(runningHunt({}, [ev("HuntEnded")]));
    expect(codes(ended.when(join("a")))).toEqual(["invalid_state"]);
  });

  it("rejects already_joined, player_left and hunt_full in that order", () => {
    const h = given(runningHunt({ maxPlayers: 2 }, [join("a"), join("b")]));
    expect(codes(h.when(join("a")))).toEqual(["already_joined"]);
    expect(codes(h.when(join("c")))).toEqual(["hunt_full"]);
    h.when(ev("PlayerLeft", { playerId: "a" }));
    expect(codes(h.when(join("a")))).toEqual(["player_left"]);
    expect(codes(h.when(join("c")))).toEqual(["rank"]);
    expect(codes(h.when(join("d")))).toEqual(["hunt_full"]);
  });
});

describe("PlayerLeft", () => {
  it("publishes rank 0 with the last score and shrinks the board", () => {
    const h = given(runningHunt({}, [join("a"), join("b"), adjust("a", 5)]));
    expect(h.when(ev("PlayerLeft", { playerId: "a" }))).toEqual([
      { kind: "rank", seq: 6, playerId: "a", score: 5, rank: 0, previousRank: 1, players: 1 },
    ]);
    expect(h.fold.index.rank("b")).toBe(1);
    expect(codes(h.when(ev("PlayerLeft", { playerId: "a" }), ev("PlayerLeft", { playerId: "zz" })))).toEqual([
      "unknown_player",
      "unknown_player",
    ]);
  });

  it("is accepted after the hunt ended", () => {
    const h = given(runningHunt({}, [join("a"), ev("HuntEnded")]));
    expect(codes(h.when(ev("PlayerLeft", { playerId: "a" })))).toEqual(["rank"]);
  });
});

describe("TreasureFound", () => {
  it("adds points plus the first-finder bonus by find order", () => {
    const h = given(runningHunt({ firstFinderBonus: [5, 2] }, [join("a"), join("b"), join("c")]));
    const out = h.when(find("c", "t-1"), find("a", "t-1"), find("b", "t-1"));
    expect(out.map((o) => (o.kind === "rank" ? [o.playerId, o.score, o.rank, o.previousRank] : o))).toEqual([
      ["c", 15, 1, 3],
      ["a", 12, 2, 2],
      ["b", 10, 3, 3],
    ]);
  });

  it("checks status, player, treasure, repeat and answer in that order", () => {
    const h = given(runningHunt({}, [join("a")]));
    expect(codes(h.when(find("zz", "nope")))).toEqual(["unknown_player"]);
    expect(codes(h.when(find("a", "nope")))).toEqual(["unknown_treasure"]);
    expect(codes(h.when(find("a", "t-2")))).toEqual(["wrong_answer"]);
    expect(codes(h.when(find("a", "t-2", "Golden key")))).toEqual(["wrong_answer"]);
    expect(codes(h.when(find("a", "t-2", "golden key")))).toEqual(["rank"]);
    expect(codes(h.when(find("a", "t-2", "wrong")))).toEqual(["already_found"]);
    h.when(ev("HuntPaused"));
    expect(codes(h.when(find("zz", "nope")))).toEqual(["invalid_state"]);
  });

  it("publishes nothing for a zero-point find without bonus, and keeps the tie-break", () => {
    const h = given([
      ev("HuntCreated", { title: "x", treasures: [{ id: "z", points: 0 }] }),
      ev("HuntStarted"),
      join("a"),
      join("b"),
    ]);
    expect(h.when(find("b", "z"))).toEqual([]);
    expect(h.fold.index.rank("a")).toBe(1);
    expect(codes(h.when(find("b", "z")))).toEqual(["already_found"]);
  });
});

describe("HintTaken", () => {
  it("subtracts the penalty once per treasure and not after a find", () => {
    const h = given(runningHunt({ hintPenalty: 3 }, [join("a"), join("b")]));
    expect(h.when(hint("a", "t-1"))).toEqual([
      { kind: "rank", seq: 5, playerId: "a", score: -3, rank: 2, previousRank: 1, players: 2 },
    ]);
    expect(codes(h.when(hint("a", "t-1")))).toEqual(["already_hinted"]);
    h.when(find("b", "t-1"));
    expect(codes(h.when(hint("b", "t-1")))).toEqual(["already_found"]);
    expect(codes(h.when(hint("b", "nope")))).toEqual(["unknown_treasure"]);
    expect(codes(h.when(hint("zz", "t-1")))).toEqual(["unknown_player"]);
  });

  it("publishes nothing when the penalty is 0", () => {
    const h = given(runningHunt({}, [join("a")]));
    expect(h.when(hint("a", "t-1"))).toEqual([]);
    expect(codes(h.when(hint("a", "t-1")))).toEqual(["already_hinted"]);
  });
});

describe("ScoreAdjusted", () => {
  it("adds delta, may go negative, and moves ties by who got there first", () => {
    const h = given(runningHunt({}, [join("a"), join("b")]));
    expect(h.when(adjust("b", 4), adjust("a", 4))).toEqual([
      { kind: "rank", seq: 5, playerId: "b", score: 4, rank: 1, previousRank: 2, players: 2 },
      { kind: "rank", seq: 6, playerId: "a", score: 4, rank: 2, previousRank: 2, players: 2 },
    ]);
    expect(h.when(adjust("b", -10))[0]).toMatchObject({ score: -6, rank: 2, previousRank: 1 });
    expect(h.when(adjust("a", 0))).toEqual([]);
  });

  it("is accepted in created, paused and ended hunts but needs a joined player", () => {
    const h = given(runningHunt({}, [join("a"), ev("HuntEnded")]));
    expect(codes(h.when(adjust("a", 1), adjust("x", 1)))).toEqual(["rank", "unknown_player"]);
  });

  it("rejects a change that would leave the safe-integer range", () => {
    const h = given(runningHunt({}, [join("a"), adjust("a", Number.MAX_SAFE_INTEGER)]));
    expect(codes(h.when(adjust("a", 1)))).toEqual(["invalid_event"]);
    expect(h.fold.playerScore(0)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe("invalid input", () => {
  it("rejects bad JSON, unknown types and bad data with invalid_event, naming what it could read", () => {
    const h = given(runningHunt());
    const out = h.when("{not json", ev("Teleported", {}), ev("PlayerJoined", { playerId: 7 }, "bad-1"));
    expect(out.map((o) => (o.kind === "rejected" ? [o.seq, o.eventId, o.type, o.code] : o))).toEqual([
      [3, null, null, "invalid_event"],
      [4, expect.any(String), "Teleported", "invalid_event"],
      [5, "bad-1", "PlayerJoined", "invalid_event"],
    ]);
    for (const o of out) expect(o.message).toMatch(/\S/);
  });

  it("ignores a redelivered sequence", () => {
    const events = runningHunt({}, [join("a"), adjust("a", 3)]);
    const h = given(events);
    const sink = new CollectingSink();
    h.fold.applyBatch(log(events), sink);
    expect(sink.outputs).toEqual([]);
    expect(h.fold.seq).toBe(events.length);
    expect(h.fold.playerScore(0)).toBe(3);
  });
});

describe("no input stops the fold", () => {
  it("rejects a lone-surrogate player id (valid JSON) with invalid_event, and the hunt goes on", () => {
    const h = given(runningHunt());
    const lone =
      '{"specversion":"1.0","id":"lone","source":"g","type":"PlayerJoined","data":{"playerId":"\\ud83d"}}';
    const out = h.when(lone, join("after"));
    expect(codes(out)).toEqual(["invalid_event", "rank"]);
    expect(out[0]!.message).toMatch(/playerId: must be well-formed Unicode/);
    expect(h.fold.joined).toBe(1);
    expect(h.fold.index.rank("after")).toBe(1);
  });

  it("rejects an input the index refuses, deterministically, and leaves no trace of it in the state", () => {
    /** An index that refuses one id, as any failure inside the fold would. */
    class RefusingIndex extends JsRankIndex {
      override intern(playerId: string): number {
        if (playerId === "cursed") throw new RangeError("the index refuses this id");
        return super.intern(playerId);
      }
    }
    const events = runningHunt({}, [join("a")]);
    const run = () => {
      const fold = new HuntFold("h", new RefusingIndex());
      const sink = new CollectingSink();
      fold.applyBatch(log([...events, join("cursed"), join("b"), adjust("b", 5)]), sink);
      return { fold, out: sink.outputs };
    };
    const { fold, out } = run();
    const rejected = out.filter((o) => o.kind === "rejected");
    expect(rejected).toEqual([
      expect.objectContaining({ seq: 4, code: "invalid_event", type: "PlayerJoined" }),
    ]);
    expect(rejected[0]!.message).toMatch(/could not be applied: the index refuses this id/);
    expect(fold.playerCount).toBe(2);
    expect([fold.playerId(0), fold.playerId(1)]).toEqual(["a", "b"]);
    expect(fold.joined).toBe(2);
    expect(fold.index.rank("b")).toBe(1);
    // The same log gives the same verdict and state every time.
    expect(stateHash(run().fold)).toBe(stateHash(fold));
  });

  it("rejects an input published without a Nats-Msg-Id header with invalid_event", () => {
    const h = given(runningHunt());
    const [msg] = log([join("a")], h.fold.seq + 1);
    const sink = new CollectingSink();
    h.fold.applyBatch([{ ...msg!, msgId: null }], sink);
    expect(sink.outputs).toEqual([
      expect.objectContaining({ kind: "rejected", code: "invalid_event", eventId: expect.any(String) }),
    ]);
    expect(sink.outputs[0]!.message).toMatch(/Nats-Msg-Id/);
    expect(h.fold.joined).toBe(0);
  });
});

/** Folds events with explicit JetStream times (ms from an epoch of 0), returning each input's outputs' codes. */
function timed(events: [number, Record<string, unknown> | string][]) {
  const fold = new HuntFold("h-timed", new JsRankIndex());
  const sink = new CollectingSink();
  const msgs = log(events.map(([, e]) => e)).map((m, i) => ({ ...m, time: events[i]![0] }));
  fold.applyBatch(msgs, sink);
  return { fold, outputs: sink.outputs };
}

/** Codes of the outputs of the inputs at these seqs, in order ("rank" for a rank message). */
function codesOf(outputs: { kind: string; seq: number; code?: string }[], seqs: number[]) {
  return outputs.filter((o) => seqs.includes(o.seq)).map((o) => (o.kind === "rejected" ? o.code : o.kind));
}

const created = (treasures: Record<string, unknown>[], rules: Record<string, unknown> = {}) =>
  ev("HuntCreated", { title: "v2", treasures, rules });

describe("finding a player by id", () => {
  for (const kind of ["js", "native"] as const) {
    it(`finds each player's pid through the ${kind} index, also after a snapshot put the slots in rank order`, () => {
      const h = given(
        runningHunt({}, [join("c"), join("a"), join("b"), adjust("b", 9), adjust("a", 4)]),
        kind,
      );
      const restored = decodeHunt("h-test", encodeHunt(h.fold), { indexKind: kind });
      // The board's slots now follow rank order (b, a, c), not join order (c, a, b).
      expect([0, 1, 2].map((s) => restored.index.playerIdOf(s))).toEqual(["b", "a", "c"]);
      for (const fold of [h.fold, restored]) {
        expect(["c", "a", "b", "z"].map((id) => fold.pidOf(id))).toEqual([0, 1, 2, undefined]);
        // An id the board holds that is no player's is not taken for one.
        fold.index.intern("ghost");
        expect(fold.pidOf("ghost")).toBeUndefined();
        const sink = new CollectingSink();
        fold.applyBatch(log([adjust("c", 20), adjust("ghost", 1)], fold.seq + 1), sink);
        expect(sink.outputs).toEqual([
          expect.objectContaining({ kind: "rank", playerId: "c", score: 20, rank: 1 }),
          expect.objectContaining({ kind: "rejected", code: "unknown_player" }),
        ]);
      }
    });
  }
});

describe("what a small hunt holds", () => {
  it("a solo hunt shares one empty, read-only map for its teams and reviews; a team hunt, live or restored, has its own", () => {
    const solo = given(runningHunt({}, [join("a"), find("a", "t-1")])).fold;
    const otherSolo = given(runningHunt({}, [join("b")])).fold;
    for (const map of [solo.teamNumbers, solo.submissions.sids]) {
      expect(map.size).toBe(0);
      expect(map).toBe(otherSolo.teamNumbers);
      expect(() => map.set("x" as never, 1 as never)).toThrow(/shared empty one/);
    }
    expect(solo.playerTeam.length).toBe(0);

    const teamEvents = runningHunt({ teams: {} }, [
      ev("TeamCreated", { teamId: "red" }),
      ev("PlayerJoined", { playerId: "z", teamId: "red" }),
      ev("PlayerJoined", { playerId: "a", teamId: "red" }),
      find("a", "t-1"),
    ]);
    const team = given(teamEvents).fold;
    const restored = decodeHunt("h-test", encodeHunt(team), { indexKind: "js" });
    const otherTeam = given(teamEvents).fold;
    for (const fold of [team, restored]) {
      // The find is the team's (key 0: team 0, treasure 0), made by its second member, "a" (pid 1).
      expect(fold.found.size).toBe(1);
      expect(fold.found.get(0)).toBe(1);
      expect(fold.teamNumbers).not.toBe(otherTeam.teamNumbers);
      expect(fold.playerTeam[0]).toBe(0);
    }
    expect(stateHash(restored)).toBe(stateHash(team));
  });
});

describe("what a small hunt holds, player by player", () => {
  it("keeps a treasure's rules to that treasure, and lets one with none and a solo hunt's teams share the empty ones", () => {
    const created = ev("HuntCreated", {
      title: "Rules",
      treasures: [
        { id: "plain", points: 10 },
        { id: "timed", points: 20, opensAfterMs: 1_000, decay: { everyMs: 60_000, step: 1, min: 5 } },
        { id: "after", points: 30, requires: ["timed"], review: true },
        { id: "also-plain", points: 40 },
      ],
    });
    const live = given([created, ev("HuntStarted")]).fold;
    const other = given(runningHunt()).fold;
    const restored = decodeHunt("h-test", encodeHunt(live), { indexKind: "js" });
    for (const fold of [live, restored]) {
      const [plain, timed, after, alsoPlain] = fold.treasures;
      expect(timed!.opensAfterMs).toBe(1_000);
      expect(timed!.decay).toEqual({ everyMs: 60_000, step: 1, min: 5 });
      expect(after!.requires).toEqual([1]);
      expect(after!.review).toBe(true);
      for (const t of [plain!, alsoPlain!]) {
        expect([t.opensAfterMs, t.closesAfterMs, t.decay, t.location, t.review]).toEqual([
          null,
          null,
          null,
          null,
          false,
        ]);
        expect(t.requires).toBe(other.treasures[0]!.requires);
      }
      expect([timed!.review, timed!.closesAfterMs, after!.opensAfterMs]).toEqual([false, null, null]);
      // A rule set on one treasure stays with it.
      plain!.closesAfterMs = 5_000;
      expect([plain!.closesAfterMs, alsoPlain!.closesAfterMs, other.treasures[0]!.closesAfterMs]).toEqual([
        5_000,
        null,
        null,
      ]);
      expect(fold.teamIds).toBe(other.teamIds);
      expect(() => fold.teamIds.push("t")).toThrow(TypeError);
    }
  });

  it("keeps its player columns in one buffer, grown and restored alike, and shares what it has nothing in", () => {
    const events = runningHunt({}, [
      ...Array.from({ length: 40 }, (_, i) => join(`p${i}`)),
      find("p3", "t-1"),
      adjust("p7", 5),
    ]);
    const live = given(events).fold;
    const other = given(runningHunt({}, [join("a")])).fold;
    const restored = decodeHunt("h-test", encodeHunt(live), { indexKind: "js" });
    for (const fold of [live, restored]) {
      const columns = Object.values(fold.recordColumns());
      expect(new Set(columns.map((c) => c.buffer)).size).toBe(1);
      expect(new Set(columns.map((c) => c.length)).size).toBe(1);
      expect(columns[0]!.length).toBe(fold.playerState.length);
      expect(fold.playerState.length).toBeGreaterThanOrEqual(40);
      expect(fold.pidOf("p39")).toBe(39);
      expect(fold.playerScore(fold.pidOf("p7")!)).toBe(5);
      // No submission yet: the shared empty ones, which refuse one; no treasure requires another.
      expect(fold.submissions).toBe(other.submissions);
      expect(() => fold.submissions.add("s", 0, 0, 0, 0)).toThrow(/shared empty ones/);
      expect(fold.treasures[0]!.requires).toBe(other.treasures[1]!.requires);
      expect(() => fold.treasures[0]!.requires.push(1)).toThrow(TypeError);
      expect(fold.findCounts).toEqual([1, 0]);
      // Its finds are its own; no hint yet: the shared empty set, which refuses a key.
      expect(fold.found.size).toBe(1);
      expect(fold.found).not.toBe(other.found);
      expect(fold.hinted).toBe(other.hinted);
      expect(other.found).toBe(other.hinted);
      expect(() => other.hinted.add(1)).toThrow(/shared empty one/);
    }
    expect(stateHash(restored)).toBe(stateHash(live));
    // Joins after the restore grow the columns together.
    const sink = new CollectingSink();
    restored.applyBatch(
      log(
        Array.from({ length: 30 }, (_, i) => join(`q${i}`)),
        restored.seq + 1,
      ),
      sink,
    );
    expect(new Set(Object.values(restored.recordColumns()).map((c) => c.buffer)).size).toBe(1);
    expect(restored.recordColumns().tiebreaks.length).toBe(restored.playerState.length);
    expect(restored.pidOf("q29")).toBe(69);
    expect(restored.pidOf("p39")).toBe(39);
  });
});

describe("treasures by id", () => {
  it("are found in a hunt of a few, searched in order, as in one of many, through a map, live and restored", () => {
    for (const count of [2, 8, 9, 40]) {
      const treasures = Array.from({ length: count }, (_, i) => ({ id: `t${i}`, points: i + 1 }));
      const h = given([
        ev("HuntCreated", { title: "many", treasures }),
        ev("HuntStarted"),
        join("a"),
        find("a", `t${count - 1}`),
      ]);
      const restored = decodeHunt("h-test", encodeHunt(h.fold), { indexKind: "js" });
      for (const fold of [h.fold, restored]) {
        expect(fold.treasureNumber(`t${count - 1}`)).toBe(count - 1);
        expect(fold.treasureNumber("t0")).toBe(0);
        expect(fold.treasureNumber("nope")).toBeUndefined();
        expect(fold.findCounts[count - 1]).toBe(1);
      }
      expect(codes(h.when(find("a", "t0"), find("a", "nope"), find("a", `t${count - 1}`)))).toEqual([
        "rank",
        "unknown_treasure",
        "already_found",
      ]);
    }
  });
});

describe("the canonical bytes of finds and hints", () => {
  it("list them in log order, a key dropped by a disqualification and found again going last (fixed hash)", () => {
    const events = runningHunt({ teams: {}, hintPenalty: 2, firstFinderBonus: [3] }, [
      ev("TeamCreated", { teamId: "red" }),
      ev("TeamCreated", { teamId: "blue" }),
      ev("PlayerJoined", { playerId: "a", teamId: "red" }),
      ev("PlayerJoined", { playerId: "b", teamId: "red" }),
      ev("PlayerJoined", { playerId: "c", teamId: "blue" }),
      hint("b", "t-2"),
      find("b", "t-1"),
      find("c", "t-1"),
      hint("c", "t-2"),
      find("b", "t-2", "golden key"),
      // b's finds and hints stop being red's: red may find t-1 again, and take t-2's hint again.
      ev("PlayerDisqualified", { playerId: "b", reason: "shared answers", by: "judge" }),
      find("a", "t-1"),
      hint("a", "t-2"),
    ]);
    for (const kind of ["js", "native"] as const) {
      const fold = new HuntFold("h-test", createRankIndex(kind));
      const sink = new CollectingSink();
      fold.applyBatch(log(events), sink);
      expect(sink.outputs.filter((o) => o.kind === "rejected")).toEqual([]);
      const found: number[] = [];
      fold.found.forEach((k) => {
        found.push(k);
      });
      const hinted: number[] = [];
      fold.hinted.forEach((k) => {
        hinted.push(k);
      });
      expect(found).toEqual([2, 0]);
      expect(hinted).toEqual([3, 1]);
      // The hash the fold gave when these were Sets: the bytes did not change with KeySet.
      expect(stateHash(fold)).toBe("bac6a9d2ac7e4e7d2ba164e8e425320ccf593949899704290d439683a64f94f1");
    }
  });
});

describe("finalisation", () => {
  it("closes an ended hunt: every later event but HuntCreated is rejected finalized", () => {
    const h = given(runningHunt({}, [join("a")]));
    expect(codes(h.when(ev("HuntFinalized")))).toEqual(["invalid_state"]);
    h.when(ev("HuntEnded", { reason: "done" }));
    expect(h.when(ev("HuntFinalized", { by: "organiser" }))).toEqual([]);
    expect(h.fold.status).toBe("finalized");
    expect(
      codes(
        h.when(
          adjust("a", 5),
          ev("PlayerLeft", { playerId: "a" }),
          ev("HuntFinalized"),
          ev("PlayerDisqualified", { playerId: "a", reason: "x" }),
          ev("HuntCreated", { title: "again", treasures: [{ id: "t", points: 1 }] }),
        ),
      ),
    ).toEqual(["finalized", "finalized", "finalized", "finalized", "invalid_state"]);
  });
});

describe("disqualification", () => {
  it("takes the player off the board with rank 0 and rejects every later event naming them", () => {
    const h = given(runningHunt({ firstFinderBonus: [7] }, [join("a"), join("b"), find("a", "t-1")]));
    const out = h.when(ev("PlayerDisqualified", { playerId: "a", reason: "cheating", by: "judge" }));
    expect(out).toEqual([
      { kind: "rank", seq: 6, playerId: "a", score: 17, rank: 0, previousRank: 1, players: 1 },
    ]);
    expect(
      codes(
        h.when(
          find("a", "t-2", "golden key"),
          hint("a", "t-2"),
          adjust("a", 1),
          ev("PlayerLeft", { playerId: "a" }),
          join("a"),
          ev("PlayerDisqualified", { playerId: "a", reason: "again" }),
        ),
      ),
    ).toEqual([
      "disqualified",
      "disqualified",
      "disqualified",
      "disqualified",
      "disqualified",
      "disqualified",
    ]);
    // Their find keeps its place in the first-finder order: b gets no bonus for t-1.
    expect(h.when(find("b", "t-1"))).toEqual([
      expect.objectContaining({ kind: "rank", playerId: "b", score: 10, rank: 1 }),
    ]);
  });

  it("needs a player who joined at some point; one who left is disqualified without a rank message", () => {
    const h = given(runningHunt({}, [join("a"), ev("PlayerLeft", { playerId: "a" })]));
    expect(codes(h.when(ev("PlayerDisqualified", { playerId: "nobody", reason: "x" })))).toEqual([
      "unknown_player",
    ]);
    expect(h.when(ev("PlayerDisqualified", { playerId: "a", reason: "x" }))).toEqual([]);
    expect(codes(h.when(join("a")))).toEqual(["disqualified"]);
  });

  it("frees no place in the hunt: a disqualified player still counts for maxPlayers", () => {
    const h = given(runningHunt({ maxPlayers: 1 }, [join("a")]));
    h.when(ev("PlayerDisqualified", { playerId: "a", reason: "x" }));
    expect(codes(h.when(join("b")))).toEqual(["hunt_full"]);
  });
});

describe("time rules", () => {
  const start = 1_000_000;

  it("counts running time from JetStream times without the paused spans, and refuses finds at the deadline", () => {
    const { outputs } = timed([
      [
        start - 5000,
        created(
          [
            { id: "t", points: 10 },
            { id: "u", points: 3 },
          ],
          { durationMs: 10_000 },
        ),
      ],
      [start, ev("HuntStarted")],
      [start + 1, join("a")],
      [start + 4000, ev("HuntPaused")], // 4,000 ms run
      [start + 60_000, ev("HuntResumed")], // the pause does not count
      [start + 65_999, find("a", "t")], // 9,999 ms: in time
      [start + 66_000, find("a", "u")], // 10,000 ms: time is up
      [start + 66_000, hint("a", "u")],
      [start + 66_000, adjust("a", 1)], // adjustments are not on the clock
    ]);
    expect(codesOf(outputs, [6, 7, 8, 9])).toEqual(["rank", "time_up", "time_up", "rank"]);
  });

  it("opens and closes a treasure by running time: inclusive from opensAfterMs, exclusive at closesAfterMs", () => {
    const { outputs } = timed([
      [0, created([{ id: "t", points: 5, opensAfterMs: 1000, closesAfterMs: 2000 }])],
      [start, ev("HuntStarted")],
      [start, join("a")],
      [start, join("b")],
      [start, join("c")],
      [start + 999, find("a", "t")],
      [start + 1000, find("a", "t")],
      [start + 1999, find("b", "t")],
      [start + 2000, find("c", "t")],
    ]);
    expect(codesOf(outputs, [6, 7, 8, 9])).toEqual(["not_open", "rank", "rank", "closed"]);
  });

  it("decays points by running time, never below min", () => {
    const { outputs } = timed([
      [0, created([{ id: "t", points: 100, decay: { everyMs: 1000, step: 30, min: 20 } }])],
      [start, ev("HuntStarted")],
      [start, join("a")],
      [start, join("b")],
      [start, join("c")],
      [start + 999, find("a", "t")], // 100
      [start + 2000, find("b", "t")], // 100 - 60 = 40
      [start + 9000, find("c", "t")], // floor: 20
    ]);
    expect(
      outputs.filter((o) => o.kind === "rank" && o.seq >= 6).map((o) => (o as { score: number }).score),
    ).toEqual([100, 40, 20]);
  });
});

describe("clues in order and places", () => {
  it("locks a treasure until every one it requires is found by the player", () => {
    const h = given([
      created([
        { id: "t1", points: 1 },
        { id: "t2", points: 2, requires: ["t1"] },
        { id: "t3", points: 3, requires: ["t1", "t2"] },
      ]),
      ev("HuntStarted"),
      join("a"),
      join("b"),
    ]);
    expect(codes(h.when(find("a", "t3"), find("a", "t2"), find("a", "t1"), find("a", "t3")))).toEqual([
      "locked",
      "locked",
      "rank",
      "locked",
    ]);
    expect(codes(h.when(find("a", "t2"), find("a", "t3"), find("b", "t2")))).toEqual([
      "rank",
      "rank",
      "locked",
    ]);
  });

  it("refuses a hunt whose requires name no treasure, the treasure itself, or form a cycle", () => {
    for (const treasures of [
      [{ id: "t1", points: 1, requires: ["nope"] }],
      [{ id: "t1", points: 1, requires: ["t1"] }],
      [
        { id: "t1", points: 1, requires: ["t2"] },
        { id: "t2", points: 1, requires: ["t3"] },
        { id: "t3", points: 1, requires: ["t1"] },
      ],
    ]) {
      const out = given([]).when(created(treasures));
      expect(codes(out)).toEqual(["invalid_event"]);
      expect(out[0]!.message).toMatch(/requires/);
    }
  });

  it("accepts a chain of clues as long as a hunt allows, however deep the caller's stack", () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => ({
      id: `c${i}`,
      points: 1,
      ...(i < 9_999 ? { requires: [`c${i + 1}`] } : {}),
    }));
    const deep = (n: number): ReturnType<ReturnType<typeof given>["when"]> =>
      n === 0 ? given([]).when(created(chain)) : deep(n - 1);
    expect(deep(0)).toEqual([]);
    expect(deep(3_000)).toEqual([]);
    const cycle = [...chain.slice(0, 9_999), { id: "c9999", points: 1, requires: ["c0"] }];
    expect(codes(given([]).when(created(cycle)))).toEqual(["invalid_event"]);
  });

  it("needs a find within radiusM of the treasure's location, by the contract's distance", () => {
    const at = { lat: 48.8584, lon: 2.2945 };
    // Along a meridian the distance is R·Δφ: these are 9 m and 11 m north of the treasure.
    const north = (m: number) => ({ lat: at.lat + ((m / 6_371_008.8) * 180) / Math.PI, lon: at.lon });
    const h = given([
      created([{ id: "t", points: 5, location: { ...at, radiusM: 10 } }]),
      ev("HuntStarted"),
      join("a"),
      join("b"),
    ]);
    expect(
      codes(
        h.when(
          ev("TreasureFound", { playerId: "a", treasureId: "t" }),
          ev("TreasureFound", { playerId: "a", treasureId: "t", location: north(11) }),
          ev("TreasureFound", { playerId: "a", treasureId: "t", location: north(9) }),
          ev("TreasureFound", { playerId: "b", treasureId: "t", location: at }),
        ),
      ),
    ).toEqual(["too_far", "too_far", "rank", "rank"]);
  });
});

describe("ScoreAdjusted in version 2", () => {
  it("takes exactly one of playerId and teamId; a team in a hunt without teams is unknown", () => {
    const h = given(runningHunt({}, [join("a")]));
    expect(
      codes(
        h.when(
          ev("ScoreAdjusted", { delta: 1, reason: "x" }),
          ev("ScoreAdjusted", { playerId: "a", teamId: "t", delta: 1, reason: "x" }),
          ev("ScoreAdjusted", { teamId: "t", delta: 1, reason: "x", by: "judge" }),
          ev("ScoreAdjusted", { playerId: "a", delta: 1, reason: "x", by: "judge" }),
        ),
      ),
    ).toEqual(["invalid_event", "invalid_event", "unknown_team", "rank"]);
  });
});

describe("snapshots of version 2 hunts", () => {
  it("keep, for a hunt without teams, the bytes and stateHash they had before team hunts were served", () => {
    const events = [
      ev(
        "HuntCreated",
        {
          title: "v2 solo",
          treasures: [
            { id: "a", points: 10, decay: { everyMs: 1000, step: 1, min: 2 } },
            { id: "b", points: 5, requires: ["a"], location: { lat: 1, lon: 2, radiusM: 50 } },
          ],
          rules: { firstFinderBonus: [3], hintPenalty: 1, durationMs: 3_600_000 },
        },
        "x-1",
      ),
      ev("HuntStarted", undefined, "x-2"),
      join("p1"),
      ev("PlayerJoined", { playerId: "p2", teamId: "ignored" }),
      find("p1", "a"),
      hint("p2", "b"),
      ev("TreasureFound", { playerId: "p1", treasureId: "b", location: { lat: 1, lon: 2 } }),
      adjust("p2", 4),
      ev("PlayerDisqualified", { playerId: "p2", reason: "r" }),
      ev("ScoreAdjusted", { teamId: "t", delta: 4, reason: "r" }),
    ];
    const fold = new HuntFold("h-v2", new JsRankIndex());
    fold.applyBatch(log(events), new CollectingSink());
    // Computed by the engine before it served teams.
    expect(stateHash(fold)).toBe("730620b072f12f1acf63162292dbc44bc050d7ecf340b5a2bdd07f58e8ea83d9");
    // The hashed bytes, after the audit header (which starts every snapshot now).
    const snapshot = Buffer.from(encodeHunt(fold));
    expect(snapshot.length - snapshot.indexOf(Buffer.from("CRNH", "latin1"))).toBe(375);
  });

  it("keep the rules and the running time, so a restored hunt judges the tail the same", () => {
    const events: [number, Record<string, unknown>][] = [
      [
        0,
        created(
          [
            { id: "t", points: 100, decay: { everyMs: 1000, step: 10, min: 0 }, requires: ["u"] },
            { id: "u", points: 1, location: { lat: 1, lon: 1, radiusM: 5 } },
          ],
          { durationMs: 50_000 },
        ),
      ],
      [1_000, ev("HuntStarted")],
      [1_000, join("a")],
      [3_000, ev("HuntPaused")],
      [9_000, ev("HuntResumed")],
      [9_500, ev("TreasureFound", { playerId: "a", treasureId: "u", location: { lat: 1, lon: 1 } })],
      [10_000, join("b")],
      [10_500, ev("PlayerDisqualified", { playerId: "b", reason: "x" })],
      [12_000, find("a", "t")],
      [60_000, hint("a", "t")],
    ];
    const full = timed(events);
    for (let cut = 1; cut < events.length; cut++) {
      const head = timed(events.slice(0, cut));
      const restored = decodeHunt("h-timed", encodeHunt(head.fold));
      expect(stateHash(restored)).toBe(stateHash(head.fold));
      const sink = new CollectingSink();
      const tail = log(events.map(([, e]) => e))
        .map((m, i) => ({ ...m, time: events[i]![0] }))
        .slice(cut);
      restored.applyBatch(tail, sink);
      expect(stateHash(restored)).toBe(stateHash(full.fold));
      expect(sink.outputs).toEqual(full.outputs.filter((o) => o.seq > cut));
    }
  });
});

describe("teams", () => {
  const team = (teamId: string) => ev("TeamCreated", { teamId });
  const member = (playerId: string, teamId?: string) =>
    ev("PlayerJoined", teamId === undefined ? { playerId } : { playerId, teamId });
  const adjustTeam = (teamId: string, delta: number) => ev("ScoreAdjusted", { teamId, delta, reason: "t" });
  const disqualify = (playerId: string) => ev("PlayerDisqualified", { playerId, reason: "test" });
  /** A running team hunt (t-1: 10 points, t-2: 25 with an answer) with teams red and blue, and members. */
  const teamHunt = (rules: Record<string, unknown> = {}, extra: Record<string, unknown>[] = []) =>
    given(
      runningHunt({ teams: { maxSize: 3 }, ...rules }, [
        team("red"),
        team("blue"),
        member("r1", "red"),
        member("r2", "red"),
        member("b1", "blue"),
        ...extra,
      ]),
    );
  const teamRanks = (out: { kind: string }[]) =>
    out.filter(
      (o): o is { kind: "teamRank"; teamId: string; score: number; rank: number } => o.kind === "teamRank",
    );

  it("TeamCreated puts a team on the team board with score 0 and previousRank 0, after the teams created before", () => {
    const h = given(runningHunt({ teams: {} }));
    expect(h.when(team("red"))).toEqual([
      { kind: "teamRank", seq: 3, teamId: "red", score: 0, rank: 1, previousRank: 0, teams: 1 },
    ]);
    // Creation counts as a change: the later team ranks below on equal score.
    expect(h.when(team("blue"))).toEqual([
      { kind: "teamRank", seq: 4, teamId: "blue", score: 0, rank: 2, previousRank: 0, teams: 2 },
    ]);
    expect(h.fold.teamIndex!.top(5).map((e) => e.playerId)).toEqual(["red", "blue"]);
  });

  it("TeamCreated checks the status, then not_team_hunt, then team_exists", () => {
    expect(codes(given(runningHunt()).when(team("red")))).toEqual(["not_team_hunt"]);
    const created = given([
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1 }], rules: { teams: {} } }),
    ]);
    expect(codes(created.when(team("red"), team("red")))).toEqual(["teamRank", "team_exists"]);
    const paused = given(runningHunt({ teams: {} }, [ev("HuntPaused")]));
    expect(codes(paused.when(team("red")))).toEqual(["invalid_state"]);
    const ended = given(runningHunt({}, [ev("HuntEnded")]));
    expect(codes(ended.when(team("red")))).toEqual(["invalid_state"]);
  });

  it("PlayerJoined needs an existing team with room, counting everyone who ever joined it, after hunt_full", () => {
    const h = given(runningHunt({ teams: { maxSize: 2 }, maxPlayers: 4 }, [team("red"), team("blue")]));
    expect(codes(h.when(member("a")))).toEqual(["unknown_team"]);
    expect(codes(h.when(member("a", "green")))).toEqual(["unknown_team"]);
    // Joining publishes the player's message only: the team's score does not change.
    expect(codes(h.when(member("a", "red"), member("b", "red")))).toEqual(["rank", "rank"]);
    expect(codes(h.when(member("c", "red")))).toEqual(["team_full"]);
    h.when(ev("PlayerLeft", { playerId: "a" }), disqualify("b"));
    expect(codes(h.when(member("c", "red")))).toEqual(["team_full"]);
    expect(codes(h.when(member("c", "blue"), member("d", "blue")))).toEqual(["rank", "rank"]);
    // b is disqualified and still seated (a left): c, d and b fill maxPlayers 4 with one more.
    expect(codes(h.when(member("e", "blue")))).toEqual(["team_full"]);
    expect(codes(h.when(member("a", "blue")))).toEqual(["player_left"]);
  });

  it("a solo hunt ignores a PlayerJoined teamId", () => {
    const h = given(runningHunt());
    expect(codes(h.when(member("a", "red")))).toEqual(["rank"]);
    expect(h.fold.teamIds).toEqual([]);
  });

  it("gives a find's points to the member and the team at the same input, the player message first", () => {
    const h = teamHunt({ firstFinderBonus: [5, 2] });
    expect(h.when(find("r2", "t-1"))).toEqual([
      { kind: "rank", seq: 8, playerId: "r2", score: 15, rank: 1, previousRank: 2, players: 3 },
      { kind: "teamRank", seq: 8, teamId: "red", score: 15, rank: 1, previousRank: 1, teams: 2 },
    ]);
    // One find per team, by any member: r1 cannot find it again for red.
    expect(codes(h.when(find("r1", "t-1")))).toEqual(["already_found"]);
    // The first-finder order counts teams: blue is the second finder.
    const out = h.when(find("b1", "t-1"));
    expect(out.map((o) => (o.kind === "rejected" ? o.code : [o.kind, o.score, o.rank]))).toEqual([
      ["rank", 12, 2],
      ["teamRank", 12, 2],
    ]);
  });

  it("counts hints per team, and a teammate's find forbids the hint", () => {
    const h = teamHunt({ hintPenalty: 3 });
    expect(teamRanks(h.when(hint("r1", "t-2")))).toMatchObject([{ teamId: "red", score: -3 }]);
    expect(codes(h.when(hint("r2", "t-2")))).toEqual(["already_hinted"]);
    h.when(find("r2", "t-1"));
    expect(codes(h.when(hint("r1", "t-1")))).toEqual(["already_found"]);
  });

  it("judges locked on the team's finds", () => {
    const h = given(
      runningHunt({ teams: {} }, [team("red"), member("r1", "red"), member("r2", "red")]).map((e) =>
        e.type === "HuntCreated"
          ? ev("HuntCreated", {
              title: "chain",
              treasures: [
                { id: "a", points: 1 },
                { id: "b", points: 2, requires: ["a"] },
              ],
              rules: { teams: {} },
            })
          : e,
      ),
    );
    expect(codes(h.when(find("r1", "b")))).toEqual(["locked"]);
    expect(codes(h.when(find("r1", "a"), find("r2", "b")))).toEqual(["rank", "teamRank", "rank", "teamRank"]);
  });

  it("ScoreAdjusted of a player moves the team too; of a team, the team only", () => {
    const h = teamHunt();
    expect(codes(h.when(adjust("r1", 4)))).toEqual(["rank", "teamRank"]);
    expect(h.when(adjustTeam("blue", 7))).toEqual([
      { kind: "teamRank", seq: 9, teamId: "blue", score: 7, rank: 1, previousRank: 2, teams: 2 },
    ]);
    expect(codes(h.when(adjustTeam("green", 1)))).toEqual(["unknown_team"]);
    expect(h.when(adjustTeam("red", 0))).toEqual([]);
    // Team adjustments are accepted in every status but none, like a player's.
    h.when(ev("HuntEnded"));
    expect(codes(h.when(adjustTeam("red", -1)))).toEqual(["teamRank"]);
  });

  it("rejects a change that would take a team's score out of the safe-integer range, for the player too", () => {
    const h = teamHunt();
    h.when(adjustTeam("red", Number.MAX_SAFE_INTEGER - 1));
    expect(codes(h.when(adjust("r1", 2), adjustTeam("red", 2)))).toEqual(["invalid_event", "invalid_event"]);
    expect(h.fold.playerScore(h.fold.pidOf("r1")!)).toBe(0);
    expect(codes(h.when(adjust("r1", 1)))).toEqual(["rank", "teamRank"]);
  });

  it("a member who leaves keeps their points in the team", () => {
    const h = teamHunt({}, [adjust("r1", 6)]);
    expect(h.when(ev("PlayerLeft", { playerId: "r1" }))).toEqual([
      { kind: "rank", seq: 9, playerId: "r1", score: 6, rank: 0, previousRank: 1, players: 2 },
    ]);
    expect(h.fold.teamIndex!.score("red")).toBe(6);
  });

  it("ranks teams by score, then by the seq of their last score change", () => {
    const h = teamHunt();
    h.when(adjust("b1", 5), adjust("r1", 5));
    expect(h.fold.teamIndex!.top(5).map((e) => e.playerId)).toEqual(["blue", "red"]);
    h.when(adjustTeam("red", 1), adjustTeam("red", -1));
    expect(h.fold.teamIndex!.top(5).map((e) => e.playerId)).toEqual(["blue", "red"]);
    h.when(adjust("b1", 1), adjust("b1", -1));
    expect(h.fold.teamIndex!.top(5).map((e) => e.playerId)).toEqual(["red", "blue"]);
  });

  it("disqualification takes the member's score out of the team and frees their finds and hints, not their bonus place", () => {
    const h = teamHunt({ firstFinderBonus: [5, 2, 1], hintPenalty: 1 }, [adjust("r2", 3)]);
    h.when(find("r1", "t-1"), hint("r1", "t-2"));
    // red: r1 has 15 - 1 = 14, r2 has 3.
    expect(h.when(disqualify("r1"))).toEqual([
      { kind: "rank", seq: 11, playerId: "r1", score: 14, rank: 0, previousRank: 1, players: 2 },
      { kind: "teamRank", seq: 11, teamId: "red", score: 3, rank: 1, previousRank: 1, teams: 2 },
    ]);
    // red may find t-1 again, as the second finder (r1 keeps the first place), and take the hint again.
    expect(h.when(find("r2", "t-1"))).toMatchObject([
      { kind: "rank", playerId: "r2", score: 15 },
      { kind: "teamRank", teamId: "red", score: 15 },
    ]);
    expect(codes(h.when(hint("r2", "t-2")))).toEqual(["rank", "teamRank"]);
    // blue finds t-1 third.
    expect(teamRanks(h.when(find("b1", "t-1")))).toMatchObject([{ teamId: "blue", score: 11 }]);
    expect(codes(h.when(find("r1", "t-2", "golden key")))).toEqual(["disqualified"]);
  });

  it("disqualifying a member who left takes their points out of the team with a team message only", () => {
    const h = teamHunt({}, [adjust("r1", 4), ev("PlayerLeft", { playerId: "r1" })]);
    expect(h.when(disqualify("r1"))).toEqual([
      { kind: "teamRank", seq: 10, teamId: "red", score: 0, rank: 2, previousRank: 1, teams: 2 },
    ]);
    // A member with score 0 changes nothing on the team board.
    expect(codes(h.when(disqualify("b1")))).toEqual(["rank"]);
  });

  it("answers top on the team board, rank and around by teamId, and counts teams in state", () => {
    const h = teamHunt({}, [team("green"), adjustTeam("blue", 2)]);
    const top = answer(h.fold, "top", { n: 2, board: "teams" }) as { entries: unknown[]; next?: string };
    expect(top.entries).toEqual([
      { rank: 1, teamId: "blue", score: 2 },
      { rank: 2, teamId: "red", score: 0 },
    ]);
    const next = answer(h.fold, "top", { n: 2, board: "teams", after: top.next! }) as { entries: unknown[] };
    expect(next).toEqual({ seq: 9, entries: [{ rank: 3, teamId: "green", score: 0 }] });
    expect(answer(h.fold, "rank", { teamId: "blue" })).toEqual({ seq: 9, rank: 1, score: 2 });
    expect(answer(h.fold, "rank", { teamId: "none" })).toEqual({ seq: 9, rank: 0, score: 0 });
    expect(answer(h.fold, "around", { teamId: "red", before: 1, after: 0 })).toEqual({
      seq: 9,
      entries: [
        { rank: 1, teamId: "blue", score: 2 },
        { rank: 2, teamId: "red", score: 0 },
      ],
    });
    expect(answer(h.fold, "state", {})).toMatchObject({ players: 3, teams: 3 });
    expect(publicStateReply(h.fold)).toEqual({
      seq: 9,
      status: "running",
      players: 3,
      teams: 3,
      frozenAt: null,
      runningMs: h.fold.runningMs,
    });
    // A solo hunt has an empty team board.
    const solo = given(runningHunt({}, [join("a")]));
    expect(answer(solo.fold, "top", { n: 5, board: "teams" })).toEqual({ seq: 3, entries: [] });
    expect(answer(solo.fold, "around", { teamId: "x", before: 1, after: 1 })).toEqual({
      seq: 3,
      entries: [],
    });
    expect(answer(solo.fold, "state", {})).toMatchObject({ teams: 0 });
  });

  it("freezes the team board with the player board: the public sees neither a later team nor its points", () => {
    const h = teamHunt({}, [
      adjustTeam("red", 5),
      ev("StandingsFrozen"),
      team("green"),
      adjustTeam("green", 50),
    ]);
    expect(answer(h.fold, "top", { n: 5, board: "teams" }, "public")).toMatchObject({
      entries: [
        { rank: 1, teamId: "red", score: 5 },
        { rank: 2, teamId: "blue", score: 0 },
      ],
    });
    expect(publicStateReply(h.fold)).toMatchObject({ players: 3, teams: 2 });
    expect(answer(h.fold, "rank", { teamId: "green" }, "public")).toMatchObject({ rank: 0, score: 0 });
    expect(answer(h.fold, "rank", { teamId: "green" })).toMatchObject({ rank: 1, score: 50 });
    expect(answer(h.fold, "state", {})).toMatchObject({ teams: 3 });
  });

  it("snapshots keep the teams, so a restored hunt judges the tail the same", () => {
    const h = teamHunt({ teams: { maxSize: 2 }, firstFinderBonus: [4] }, [
      find("r1", "t-1"),
      hint("r1", "t-2"),
    ]);
    const bytes = encodeHunt(h.fold);
    const hashed = Buffer.from(bytes).indexOf(Buffer.from("CRNH", "latin1"));
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(hashed + 4, true)).toBe(2);
    const restored = decodeHunt("h-test", bytes, { indexKind: "native" });
    expect(stateHash(restored)).toBe(stateHash(h.fold));
    const tail = [
      member("r3", "red"),
      disqualify("r1"),
      find("r2", "t-1"),
      hint("r2", "t-2"),
      adjustTeam("blue", 1),
    ];
    const a = new CollectingSink();
    const b = new CollectingSink();
    h.fold.applyBatch(log(tail, h.fold.seq + 1), a);
    restored.applyBatch(log(tail, restored.seq + 1), b);
    expect(b.outputs).toEqual(a.outputs);
    expect(codes(a.outputs)).toEqual(["team_full", "rank", "teamRank", "rank", "teamRank", "teamRank"]);
    expect(stateHash(restored)).toBe(stateHash(h.fold));
  });
});

describe("a hunt's rules", () => {
  const created = (rules: Record<string, unknown>) =>
    ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1 }], rules });

  it("are one read-only object shared by hunts created with the same rules, one after another", () => {
    const rules = { firstFinderBonus: [5, 2], hintPenalty: 1, maxPlayers: 20, durationMs: 60_000 };
    const a = given([created(rules)]).fold;
    const b = given([created({ ...rules, firstFinderBonus: [5, 2] })]).fold;
    expect(b.rules).toBe(a.rules);
    expect(Object.isFrozen(a.rules) && Object.isFrozen(a.rules.firstFinderBonus)).toBe(true);
    for (const other of [
      { ...rules, firstFinderBonus: [5, 3] },
      { ...rules, firstFinderBonus: [5] },
      { ...rules, hintPenalty: 2 },
      { ...rules, maxPlayers: 21 },
      { ...rules, durationMs: 60_001 },
      { ...rules, teams: {} },
    ]) {
      const c = given([created(other)]).fold;
      expect(c.rules).not.toBe(a.rules);
      expect(c.rules).toEqual({
        firstFinderBonus: other.firstFinderBonus,
        hintPenalty: other.hintPenalty,
        maxPlayers: other.maxPlayers,
        durationMs: other.durationMs,
        teams: "teams" in other ? { maxSize: null } : null,
      });
    }
  });

  it("keep -0 apart from 0, so a hunt hashes the same whichever hunt came before it", () => {
    // JSON.stringify writes -0 as 0: a client in another language may send "-0", which parses as -0.
    const log = (penalty: number) => [
      JSON.stringify(created({ hintPenalty: 12345 })).replace("12345", Object.is(penalty, -0) ? "-0" : "0"),
      ev("HuntStarted"),
    ];
    const unlike = () => given([created({ hintPenalty: 7 })]);
    unlike();
    const minusZeroAlone = stateHash(given(log(-0)).fold);
    unlike();
    const zeroAlone = stateHash(given(log(0)).fold);
    expect(minusZeroAlone).not.toBe(zeroAlone);
    const afterZero = given(log(-0)).fold;
    expect(Object.is(afterZero.rules.hintPenalty, -0)).toBe(true);
    expect(stateHash(afterZero)).toBe(minusZeroAlone);
    const restored = decodeHunt(afterZero.huntId, encodeHunt(afterZero), { indexKind: "js" });
    expect(stateHash(restored)).toBe(minusZeroAlone);
    expect(stateHash(given(log(0)).fold)).toBe(zeroAlone);
  });
});
