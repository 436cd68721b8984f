// The viewer's pure part (viewer/board.ts): shape checks of what arrives over NATS, movements between two
// boards, and the ticker lines they make.
import { describe, expect, it } from "vitest";
import { clock, movements, parseBoard, parseState, replyError, tickerLines } from "../../viewer/board.ts";

const board = (...ids: [string, number][]) => ids.map(([id, score], i) => ({ rank: i + 1, id, score }));

describe("viewer board", () => {
  it("accepts player and team boards and refuses anything else", () => {
    expect(parseBoard({ seq: 3, entries: [{ rank: 1, playerId: "a", score: 5 }], next: "c" })).toEqual({
      seq: 3,
      entries: [{ rank: 1, id: "a", score: 5 }],
      next: "c",
    });
    expect(parseBoard({ seq: 3, entries: [{ rank: 1, teamId: "t", score: -2 }] })?.entries[0]?.id).toBe("t");
    for (const bad of [
      null,
      "x",
      { seq: -1, entries: [] },
      { seq: 1, entries: {} },
      { seq: 1, entries: [{ rank: "1", playerId: "a", score: 1 }] },
      { seq: 1, entries: [{ rank: 0, playerId: "a", score: 1 }] },
      { seq: 1, entries: [{ rank: 1, score: 1 }] },
      { seq: 1, entries: [{ rank: 1, playerId: "a", score: 1.5 }] },
      {
        seq: 1,
        entries: [
          { rank: 2, playerId: "a", score: 1 },
          { rank: 1, playerId: "b", score: 0 },
        ],
      },
    ])
      expect(parseBoard(bad)).toBeUndefined();
    expect(parseState({ seq: 1, status: "running", players: 2 })).toEqual({
      seq: 1,
      status: "running",
      players: 2,
    });
    expect(parseState({ seq: 1, status: "running", players: 2, frozenAt: null })?.frozenAt).toBeNull();
    expect(parseState({ seq: 1, status: 3, players: 2 })).toBeUndefined();
    expect(replyError({ error: { code: "unknown_hunt", message: "no" } })).toEqual({
      code: "unknown_hunt",
      message: "no",
    });
    expect(replyError({ seq: 1 })).toBeUndefined();
  });

  it("says who moved up, down or is new since the previous board", () => {
    const prev = board(["a", 30], ["b", 20], ["c", 10]);
    const next = board(["c", 40], ["a", 30], ["d", 25]);
    expect(Object.fromEntries(movements(prev, next))).toEqual({
      c: { kind: "up", by: 2 },
      a: { kind: "down", by: 1 },
      d: { kind: "new", by: 0 },
    });
    expect(movements(undefined, next).size).toBe(0);
  });

  it("makes a few ticker lines per update, highest ranks first, falls left out", () => {
    const prev = board(["a", 30], ["b", 20], ["c", 10]);
    const next = board(["c", 40], ["a", 35], ["d", 25]);
    expect(tickerLines(prev, next).map((l) => l.text)).toEqual([
      "c climbs to #1 (40 pts)",
      "d enters at #3 (25 pts)",
      "b drops out of the top 3",
    ]);
    expect(tickerLines(board(["a", 1]), board(["a", 6]))[0]?.text).toBe("a +5 at #1 (6 pts)");
    expect(tickerLines(undefined, next)).toEqual([]);
    expect(tickerLines(prev, next, 1)).toHaveLength(1);
  });
});

describe("clock", () => {
  it("counts down in whole seconds, rounding up, with hours only when needed, never below zero", () => {
    expect(clock(0)).toBe("0:00");
    expect(clock(-5_000)).toBe("0:00");
    expect(clock(1)).toBe("0:01");
    expect(clock(7_000)).toBe("0:07");
    expect(clock(249_000)).toBe("4:09");
    expect(clock(3_909_000)).toBe("1:05:09");
  });
});
