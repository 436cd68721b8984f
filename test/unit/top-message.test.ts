// A hunt's top message is written by its board as bytes: they must be exactly the JSON of the entries
// `top(n)` reads, for either index, however long the ids (the scratch it is written in grows).
import { describe, expect, it } from "vitest";
import { topMessage } from "../../actors/host/outputs.ts";
import { JsRankIndex, NativeRankIndex, type RankIndex } from "../../native/index.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe.each([
  ["native", () => new NativeRankIndex()],
  ["js", () => new JsRankIndex()],
] as Array<[string, () => RankIndex]>)("a top message from the %s index", (_name, make) => {
  it("is the JSON of {seq, entries} for players and for teams, ids of any length included", () => {
    const board = make();
    for (let i = 0; i < 12; i++)
      board.upsert(i === 3 ? `long-${'é"'.repeat(20000)}` : `p${i}`, i * 5 - 20, i);
    const entries = board.top(10);
    expect(text(topMessage(42, board, 10, "playerId"))).toBe(JSON.stringify({ seq: 42, entries }));
    const teams = entries.map((e) => ({ rank: e.rank, teamId: e.playerId, score: e.score }));
    expect(text(topMessage(43, board, 10, "teamId"))).toBe(JSON.stringify({ seq: 43, entries: teams }));
    // After a message larger than the scratch kept, a small one is still whole.
    const small = make();
    small.upsert("only", 7, 1);
    expect(text(topMessage(44, small, 10, "playerId"))).toBe(
      JSON.stringify({ seq: 44, entries: [{ rank: 1, playerId: "only", score: 7 }] }),
    );
    expect(text(topMessage(45, make(), 10, "playerId"))).toBe('{"seq":45,"entries":[]}');
  });
});
