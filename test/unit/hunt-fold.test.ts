// The fold as a specification: given these events, when this one arrives, then these outputs.
import { describe, expect, it } from "vitest";
import { HuntFold, stateHash } from "../../actors/index.ts";
import { JsRankIndex } from "../../native/index.ts";
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
    expect(h.fold.playerScore[0]).toBe(Number.MAX_SAFE_INTEGER);
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
    expect(h.fold.playerScore[0]).toBe(3);
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
    expect(fold.playerIds).toEqual(["a", "b"]);
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
