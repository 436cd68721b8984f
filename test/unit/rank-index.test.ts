// Unit tests of both rank indexes: ordering, ties, edge values, batch calls, argument errors,
// corrupt serialisations and steady-state allocations. The native tests fail when the addon is not built.
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { xorshift } from "../../bench/xorshift.ts";
import {
  CorruptRankIndexError,
  createRankIndex,
  deserializeRankIndex,
  JsRankIndex,
  NativeRankIndex,
  nativeAvailable,
  nativeTotals,
  OP_REMOVE,
  OP_UPSERT,
  type RankIndex,
} from "../../native/index.ts";
import { ADDON_PATH } from "../../native/native-rank-index.ts";
import { encodeRankRecords } from "../../native/rank-format.ts";

const MAX = Number.MAX_SAFE_INTEGER;

const kinds: Array<[string, () => RankIndex, (b: Uint8Array) => RankIndex]> = [
  ["native", () => new NativeRankIndex(), (b) => NativeRankIndex.deserialize(b)],
  ["js", () => new JsRankIndex(), (b) => JsRankIndex.deserialize(b)],
];

function ids(entries: Array<{ playerId: string }>): string[] {
  return entries.map((e) => e.playerId);
}

it("the native addon is built (npm install builds it; `npm run build:native` by hand)", () => {
  expect(nativeAvailable()).toBe(true);
});

describe.each(kinds)("%s rank index", (_name, make, load) => {
  it("starts empty", () => {
    const idx = make();
    expect(idx.size).toBe(0);
    expect(idx.top(10)).toEqual([]);
    expect(idx.rank("nobody")).toBe(0);
    expect(idx.score("nobody")).toBeUndefined();
    expect(idx.remove("nobody")).toBe(0);
    expect(idx.around("nobody", 3, 3)).toEqual([]);
    expect(idx.slotOf("nobody")).toBe(-1);
    const bytes = idx.serialize();
    expect(bytes.byteLength).toBe(16);
    expect(load(bytes).size).toBe(0);
  });

  it("clears: every player and interned id goes, the memory with them, and the index works on", () => {
    const idx = make();
    const empty = idx.stats().bytes;
    for (let i = 0; i < 5000; i++) idx.upsert(`player-${i}`, i % 97, i);
    idx.top(50);
    expect(idx.stats().bytes).toBeGreaterThan(empty * 10);
    idx.clear();
    expect(idx.stats().bytes).toBe(empty);
    expect(idx.size).toBe(0);
    expect(idx.top(10)).toEqual([]);
    expect(idx.slotOf("player-7")).toBe(-1);
    expect(idx.serialize().byteLength).toBe(16);
    // Slots start again at 0, and a top read before the clear does not come back from a cache.
    expect(idx.intern("again")).toBe(0);
    expect(idx.upsert("again", 3, 1)).toEqual({ rank: 1, previousRank: 0 });
    expect(idx.top(10)).toEqual([{ rank: 1, playerId: "again", score: 3 }]);
  });

  it("orders by score descending, then tiebreak ascending, then id by code point", () => {
    const idx = make();
    expect(idx.upsert("c", 10, 5)).toEqual({ rank: 1, previousRank: 0 });
    expect(idx.upsert("a", 20, 9)).toEqual({ rank: 1, previousRank: 0 });
    expect(idx.upsert("b", 10, 3)).toEqual({ rank: 2, previousRank: 0 });
    expect(idx.upsert("z", 10, 3)).toEqual({ rank: 3, previousRank: 0 });
    expect(ids(idx.top(10))).toEqual(["a", "b", "z", "c"]);
    // "\uFB01" (U+FB01) sorts before "\u{1F600}" by code point, though not by UTF-16 unit.
    idx.upsert("\u{1F600}", 10, 3);
    idx.upsert("\uFB01", 10, 3);
    expect(ids(idx.top(10))).toEqual(["a", "b", "z", "\uFB01", "\u{1F600}", "c"]);
    expect(idx.top(2, 1)).toEqual([
      { rank: 2, playerId: "b", score: 10 },
      { rank: 3, playerId: "z", score: 10 },
    ]);
  });

  it("moves players and reports previous ranks", () => {
    const idx = make();
    for (let i = 0; i < 5; i++) idx.upsert(`p${i}`, i, 0);
    expect(ids(idx.top(5))).toEqual(["p4", "p3", "p2", "p1", "p0"]);
    expect(idx.upsert("p0", 100, 1)).toEqual({ rank: 1, previousRank: 5 });
    expect(idx.upsert("p0", 100, 1)).toEqual({ rank: 1, previousRank: 1 });
    expect(idx.upsert("p4", -1, 2)).toEqual({ rank: 5, previousRank: 2 });
    expect(idx.remove("p3")).toBe(2);
    expect(idx.remove("p3")).toBe(0);
    expect(idx.size).toBe(4);
    expect(idx.rank("p3")).toBe(0);
    expect(idx.score("p0")).toBe(100);
    expect(idx.score("p3")).toBeUndefined();
  });

  it("handles extreme and negative scores, -0, long and unicode ids", () => {
    const idx = make();
    const long = "é".repeat(1000);
    idx.upsert("max", MAX, -MAX);
    idx.upsert("min", -MAX, MAX);
    idx.upsert(long, 0, 0);
    idx.upsert("neg", -5, 0);
    idx.upsert("zero", -0, -0);
    idx.upsert("", 0, 0);
    expect(ids(idx.top(10))).toEqual(["max", "", "zero", long, "neg", "min"]);
    expect(Object.is(idx.score("zero"), 0)).toBe(true);
    expect(idx.around(long, 1, 1).map((e) => e.rank)).toEqual([3, 4, 5]);
    const back = load(idx.serialize());
    expect(back.top(10)).toEqual(idx.top(10));
    expect(back.serialize()).toEqual(idx.serialize());
  });

  it("clamps around() and top() at the ends", () => {
    const idx = make();
    for (let i = 0; i < 10; i++) idx.upsert(`p${i}`, 100 - i, i);
    expect(idx.around("p0", 3, 2).map((e) => e.rank)).toEqual([1, 2, 3]);
    expect(idx.around("p9", 2, 5).map((e) => e.rank)).toEqual([8, 9, 10]);
    expect(idx.around("p5", 1e9, 1e9)).toHaveLength(10);
    expect(idx.around("p5", 0, 0)).toEqual([{ rank: 6, playerId: "p5", score: 95 }]);
    expect(idx.top(5, 8).map((e) => e.rank)).toEqual([9, 10]);
    expect(idx.top(5, 10)).toEqual([]);
    expect(idx.top(0)).toEqual([]);
    expect(idx.top(3000)).toHaveLength(10);
  });

  it("returns long top() ranges in order", () => {
    const idx = make();
    for (let i = 0; i < 5000; i++) idx.upsert(`p${i}`, i % 7, i);
    const all = idx.top(10_000);
    expect(all).toHaveLength(5000);
    expect(all.map((e) => e.rank)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
    expect(idx.top(1500, 1200)).toEqual(all.slice(1200, 2700));
  });

  it("interns ids to dense slots and applies batches", () => {
    const idx = make();
    expect(idx.intern("a")).toBe(0);
    expect(idx.intern("b")).toBe(1);
    expect(idx.intern("a")).toBe(0);
    expect(idx.slotOf("b")).toBe(1);
    expect(idx.playerIdOf(1)).toBe("b");
    expect(idx.size).toBe(0);
    const c = idx.intern("c");
    const out = new Int32Array(10);
    idx.applyBatch(
      Uint8Array.of(OP_UPSERT, OP_UPSERT, OP_UPSERT, OP_REMOVE, OP_REMOVE),
      Uint32Array.of(0, 1, 0, 1, 1),
      Float64Array.of(5, 7, 9, 0, 0),
      Float64Array.of(1, 2, 3, 0, 0),
      5,
      out,
    );
    expect([...out]).toEqual([1, 0, 1, 0, 1, 2, 0, 2, 0, 0]);
    expect(idx.rank("a")).toBe(1);
    expect(idx.rank("b")).toBe(0);
    idx.applyBatch(new Uint8Array(1), Uint32Array.of(c), Float64Array.of(1), Float64Array.of(1), 1, out);
    expect(idx.upsert("c", 1, 1)).toEqual({ rank: 2, previousRank: 2 });
    idx.applyBatch(new Uint8Array(0), new Uint32Array(0), new Float64Array(0), new Float64Array(0), 0, out);
    expect(idx.size).toBe(2);
  });

  it("reads the right ids at every rank after players move up, down, far and out of the top", () => {
    // The native index reads the top through a cache of the ids last read at each rank: moves within
    // and beyond the distance it looks for a moved player, and between reads of different depths.
    const idx = make();
    const n = 60;
    const scoreOf = new Map<string, number>();
    const set = (id: string, score: number, tiebreak: number) => {
      idx.upsert(id, score, tiebreak);
      scoreOf.set(id, score);
    };
    const expected = (count: number, offset = 0) =>
      [...scoreOf]
        .sort((a, b) => b[1] - a[1])
        .slice(offset, offset + count)
        .map(([playerId, score], i) => ({ rank: offset + i + 1, playerId, score }));
    for (let i = 0; i < n; i++) set(`p${i}`, 2000 - 2 * i, i);
    expect(idx.top(40)).toEqual(expected(40));
    set("p0", 1, 100); // the first falls to the last rank, beyond the top read
    set("p1", 1991, 101); // the new first falls a few ranks
    set("p35", 4000, 102); // from far down to the first
    set("p59", 1995, 103); // from outside the top read into it
    expect(idx.top(40)).toEqual(expected(40));
    // Reverse the whole order: every player moves, most of them further than the cache looks.
    for (let i = 0; i < n; i++) set(`p${i}`, 10 + i, 200 + i);
    expect(idx.top(10)).toEqual(expected(10));
    expect(idx.top(60)).toEqual(expected(60));
    expect(idx.top(5, 20)).toEqual(expected(5, 20));
    expect(idx.around("p30", 3, 3)).toEqual(expected(7, 26));
  });

  it("writes its top as the JSON that JSON.stringify writes, escapes and all, or says it does not fit", () => {
    const idx = make();
    const players = [
      'say "hi"',
      "back\\slash",
      "tab\there",
      "line\nbreak",
      "\u0001\u001f\u007f\b\f\r\v",
      "é中😀",
      "",
      "plain",
    ];
    for (const [i, id] of players.entries()) idx.upsert(id, (i - 3) * 1_000_000_000_007, i);
    idx.upsert("max", Number.MAX_SAFE_INTEGER, 99);
    idx.upsert("min", -Number.MAX_SAFE_INTEGER, 98);
    const expected = (n: number, key: string) =>
      JSON.stringify(idx.top(n).map((e) => ({ rank: e.rank, [key]: e.playerId, score: e.score })));
    const out = new Uint8Array(4096);
    out.set([0x41, 0x42]);
    for (const [n, key] of [
      [10, "playerId"],
      [3, "teamId"],
      [0, "x"],
      [1000, "k_9"],
    ] as const) {
      const end = idx.writeTopJson(out, 2, n, key);
      expect(new TextDecoder().decode(out.subarray(0, end))).toBe(`AB${expected(n, key)}`);
    }
    // Too small anywhere along the way: -1, at every length up to the one that fits.
    const fits = idx.writeTopJson(out, 0, 10, "playerId");
    for (let size = 0; size < fits; size++) {
      expect(idx.writeTopJson(new Uint8Array(size), 0, 10, "playerId")).toBe(-1);
    }
    expect(idx.writeTopJson(new Uint8Array(fits + 1), 0, 10, "playerId")).toBe(fits);
    expect(() => idx.writeTopJson(out, 5000, 1, "playerId")).toThrow(/at \(5000\) must be within out/);
    expect(() => idx.writeTopJson(out, 0, 1, 'a"b')).toThrow(RangeError);
    expect(() => idx.writeTopJson(out, 0, 1, "")).toThrow(/key must be 1 to 32 letters/);
    // A key that could be an array index: JSON.stringify would write it before "rank".
    expect(() => idx.writeTopJson(out, 0, 1, "1")).toThrow(/starting with a letter or _/);
    expect(idx.writeTopJson(out, 0, 1, "_1")).toBeGreaterThan(0);
    // The arguments are checked in the same order by both indexes.
    expect(() => idx.writeTopJson("x" as unknown as Uint8Array, 0, -1, "k")).toThrow(TypeError);
    expect(() => idx.writeTopJson(out, 0, -1, "k")).toThrow(RangeError);
  });

  it("rejects bad arguments with TypeError or RangeError naming the argument", () => {
    const idx = make();
    idx.upsert("a", 1, 1);
    const bad = idx as unknown as Record<string, (...args: unknown[]) => unknown>;
    const cases: Array<[() => unknown, ErrorConstructor, RegExp]> = [
      [() => bad.upsert!(42, 1, 1), TypeError, /playerId/],
      [() => bad.upsert!(undefined, 1, 1), TypeError, /playerId/],
      [() => bad.upsert!("x", "1", 1), TypeError, /score/],
      [() => idx.upsert("x", Number.NaN, 1), RangeError, /score/],
      [() => idx.upsert("x", 1.5, 1), RangeError, /score/],
      [() => idx.upsert("x", Number.POSITIVE_INFINITY, 1), RangeError, /score/],
      [() => idx.upsert("x", 2 ** 53, 1), RangeError, /score/],
      [() => idx.upsert("x", 1, Number.NaN), RangeError, /tiebreak/],
      [() => idx.upsert("x", 1, -(2 ** 53)), RangeError, /tiebreak/],
      [() => bad.upsert!("x", 1, null), TypeError, /tiebreak/],
      [() => idx.upsert("\uD800", 1, 1), RangeError, /playerId/],
      [() => idx.upsert("x".repeat(65536), 1, 1), RangeError, /playerId/],
      [() => bad.rank!({}), TypeError, /playerId/],
      [() => bad.remove!(1), TypeError, /playerId/],
      [() => bad.score!(null), TypeError, /playerId/],
      [() => bad.intern!(Symbol("s")), TypeError, /playerId/],
      [() => idx.top(-1), RangeError, /\bn\b/],
      [() => idx.top(1.5), RangeError, /\bn\b/],
      [() => idx.top(Number.POSITIVE_INFINITY), RangeError, /\bn\b/],
      [() => bad.top!("1"), TypeError, /\bn\b/],
      [() => idx.top(1, -1), RangeError, /offset/],
      [() => idx.top(1, Number.NaN), RangeError, /offset/],
      [() => idx.around("a", -1, 0), RangeError, /before/],
      [() => idx.around("a", 0, 0.5), RangeError, /after/],
      [() => idx.playerIdOf(5), RangeError, /slot/],
      [() => idx.playerIdOf(-1), RangeError, /slot/],
      [() => idx.playerIdOf(0.5), RangeError, /slot/],
      [() => bad.playerIdOf!("0"), TypeError, /slot/],
    ];
    for (const [call, type, message] of cases) {
      expect(call).toThrow(type);
      expect(call).toThrow(message);
    }
    expect(idx.size).toBe(1);
    expect(idx.rank("x")).toBe(0);
  });

  it("interns ids from their UTF-8 bytes in one call, and refuses bytes that are no id", () => {
    const idx = make();
    const a = idx.intern("a");
    const bytes = new TextEncoder().encode("xaé€b");
    // "a" (known), "é€" (new, 5 bytes), "b" (new), "" (new): slots in the order given.
    const slots = idx.internUtf8(bytes, Uint32Array.of(1, 1, 2, 5, 7, 1, 0, 0));
    expect([...slots]).toEqual([a, a + 1, a + 2, a + 3]);
    expect([1, 2, 3].map((s) => idx.playerIdOf(s))).toEqual(["é€", "b", ""]);
    const refused: [Uint32Array, RegExp][] = [
      [Uint32Array.of(2, 1), /id 0 is not a player id's UTF-8 bytes/], // half of "é"
      [Uint32Array.of(0, 1, 7, 9), /id 1 is not a player id's UTF-8 bytes/], // past the end
    ];
    for (const [spans, message] of refused) {
      expect(() => idx.internUtf8(bytes, spans)).toThrow(RangeError);
      expect(() => idx.internUtf8(bytes, spans)).toThrow(message);
    }
    const loose = idx as unknown as Record<string, (...args: unknown[]) => unknown>;
    expect(() => idx.internUtf8(bytes, Uint32Array.of(0, 1, 2))).toThrow(
      /spans must hold \(offset, length\) pairs/,
    );
    expect(() => loose.internUtf8!([1], new Uint32Array(0))).toThrow(TypeError);
    expect(() => loose.internUtf8!(bytes, [0, 1])).toThrow(TypeError);
    const cesuSurrogate = Uint8Array.of(0xed, 0xa0, 0x80); // U+D800 encoded: not UTF-8
    expect(() => idx.internUtf8(cesuSurrogate, Uint32Array.of(0, 3))).toThrow(/id 0 is not/);
  });

  it("writes player records from its ids into the caller's buffer: whole records while they fit", () => {
    const idx = make();
    const ids = ["a", "é€", "", "player-42"];
    const slots = Uint32Array.from(ids, (id) => idx.intern(id)).reverse();
    const states = Uint8Array.of(1, 2, 3, 4);
    const scores = Float64Array.of(5, -0, -7, 2 ** 53 - 1);
    const tiebreaks = Float64Array.of(1, 2, 3, 4);
    // The reference: each record written field by field.
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) {
      const id = new TextEncoder().encode(idx.playerIdOf(slots[i]!));
      expected.push(...new Uint8Array(Uint32Array.of(id.length).buffer), ...id, states[i]!);
      expected.push(...new Uint8Array(Float64Array.of(scores[i]!, tiebreaks[i]!).buffer));
    }
    const out = new Uint8Array(expected.length + 2).fill(0xee);
    const cursor = Uint32Array.of(0, 2);
    idx.writeRecords(out, cursor, slots, states, scores, tiebreaks, 3);
    expect([...cursor]).toEqual([3, expected.length + 2]);
    expect([...out]).toEqual([0xee, 0xee, ...expected]);
    // Room for the first record and part of the second: only the first is written.
    const first = 4 + 9 + 17; // "player-42"
    const small = new Uint8Array(first + 10);
    const part = Uint32Array.of(0, 0);
    idx.writeRecords(small, part, slots, states, scores, tiebreaks, 3);
    expect([...part]).toEqual([1, first]);
    expect([...small.subarray(0, first)]).toEqual(expected.slice(0, first));

    // A slot past what fits is neither written nor read, so it is not checked either.
    const a = idx.slotOf("a");
    const none = Uint32Array.of(0, 0);
    idx.writeRecords(new Uint8Array(0), none, Uint32Array.of(2 ** 32 - 1), states, scores, tiebreaks, 1);
    expect([...none]).toEqual([0, 0]);
    const one = Uint32Array.of(0, 0);
    idx.writeRecords(new Uint8Array(4 + 1 + 17), one, Uint32Array.of(a, 9), states, scores, tiebreaks, 2);
    expect([...one]).toEqual([1, 22]);

    const write = idx.writeRecords.bind(idx) as (...args: unknown[]) => void;
    const at0 = () => Uint32Array.of(0, 0);
    const cases: Array<[unknown[], ErrorConstructor, RegExp]> = [
      [[[0], at0(), slots, states, scores, tiebreaks, 1], TypeError, /out must be a Uint8Array/],
      [[out, [0, 0], slots, states, scores, tiebreaks, 1], TypeError, /cursor must be a Uint32Array/],
      [[out, at0(), [0], states, scores, tiebreaks, 1], TypeError, /slots must be a Uint32Array/],
      [[out, at0(), slots, new Int8Array(4), scores, tiebreaks, 1], TypeError, /states must be a Uint8Array/],
      [
        [out, at0(), slots, states, new Float32Array(4), tiebreaks, 1],
        TypeError,
        /scores must be a Float64Array/,
      ],
      [[out, at0(), slots, states, scores, null, 1], TypeError, /tiebreaks must be a Float64Array/],
      [[out, at0(), slots, states, scores, tiebreaks, "1"], TypeError, /count must be a number/],
      [
        [out, at0(), slots, states, scores, tiebreaks, -1],
        RangeError,
        /count must be a non-negative integer/,
      ],
      [
        [out, at0(), slots, states, scores, tiebreaks, 1.5],
        RangeError,
        /count must be a non-negative integer/,
      ],
      [[out, at0(), slots, states, scores, tiebreaks, 5], RangeError, /must each hold count \(5\) entries/],
      [[out, Uint32Array.of(4, 0), slots, states, scores, tiebreaks, 3], RangeError, /cursor must hold/],
      [[out, Uint32Array.of(0, out.length + 1), slots, states, scores, tiebreaks, 3], RangeError, /cursor/],
      [
        [out, at0(), Uint32Array.of(0, 9), states, scores, tiebreaks, 2],
        RangeError,
        /slots\[1\] is 9, which no id has/,
      ],
    ];
    for (const [args, type, message] of cases) {
      expect(() => write(...args)).toThrow(type);
      expect(() => write(...args)).toThrow(message);
    }
  });

  it("serialises in parts into the caller's buffers, whole entries at a time, and says how long the whole is", () => {
    const idx = make();
    idx.upsert("ana", 5, 1);
    idx.upsert("bo-é", 7, 2);
    idx.upsert("a-rather-longer-player-id", 7, 2);
    idx.intern("never-ranked");
    const bytes = idx.serialize();
    // No room: nothing is written, and the length tells the caller what the whole takes.
    const cursor = new Uint32Array(4);
    expect(idx.serializeInto(new Uint8Array(0), cursor)).toBe(bytes.length);
    expect([...cursor]).toEqual([0, 0, 0, 0]);
    // Under the 12-byte header: nothing either.
    const tiny = new Uint8Array(11).fill(0xaa);
    expect(idx.serializeInto(tiny, cursor)).toBe(bytes.length);
    expect(tiny.every((b) => b === 0xaa)).toBe(true);
    // Room to spare: all of it at the cursor's offset, the rest untouched.
    const big = new Uint8Array(bytes.length + 8).fill(0xaa);
    cursor.set([0, 3, 0, 0]);
    expect(idx.serializeInto(big, cursor)).toBe(bytes.length);
    expect(big.subarray(3, 3 + bytes.length)).toEqual(bytes);
    expect([...big.subarray(0, 3), ...big.subarray(3 + bytes.length)].every((b) => b === 0xaa)).toBe(true);
    expect([cursor[0], cursor[1], cursor[2]]).toEqual([bytes.length, 3 + bytes.length, 3]);
    // A view that starts inside its buffer (as a pooled Buffer does) is written from the view's start.
    const inside = new Uint8Array(bytes.length + 16).fill(0xaa).subarray(8, 8 + bytes.length);
    expect(idx.serializeInto(inside, new Uint32Array(4))).toBe(bytes.length);
    expect(inside).toEqual(bytes);
    expect(new Uint8Array(inside.buffer, 0, 8).every((b) => b === 0xaa)).toBe(true);
    // 45 bytes at a time, whole entries only: the header (the first entry, 45 bytes, does not fit after
    // it), that entry, the next (25: the last, 23, does not fit after it), the last and the CRC.
    const parts: number[][] = [];
    const part = new Uint8Array(45);
    cursor.fill(0);
    while (cursor[0]! < bytes.length) {
      cursor[1] = 0;
      idx.serializeInto(part, cursor);
      parts.push([...part.subarray(0, cursor[1])]);
    }
    expect(parts.map((p) => p.length)).toEqual([12, 20 + 25, 20 + 5, 20 + 3 + 4]);
    expect(Uint8Array.from(parts.flat())).toEqual(bytes);
    const into = idx.serializeInto.bind(idx) as (out: unknown, cursor: unknown) => number;
    for (const bad of [undefined, [1, 2], new Uint16Array(64), new Uint8ClampedArray(64)]) {
      expect(() => into(bad, new Uint32Array(4))).toThrow(TypeError);
      expect(() => into(bad, new Uint32Array(4))).toThrow(/out must be a Uint8Array, got/);
      expect(() => into(new Uint8Array(64), bad)).toThrow(TypeError);
      expect(() => into(new Uint8Array(64), bad)).toThrow(/cursor must be a Uint32Array, got/);
    }
    for (const bad of [
      new Uint32Array(3),
      Uint32Array.of(bytes.length + 1, 0, 0, 0),
      Uint32Array.of(0, 65, 0, 0),
      Uint32Array.of(0, 0, 4, 0),
    ]) {
      expect(() => into(new Uint8Array(64), bad)).toThrow(RangeError);
      expect(() => into(new Uint8Array(64), bad)).toThrow(/cursor must be 4 zeros to start/);
    }
  });

  it("checks every applyBatch argument and applies nothing from a bad batch", () => {
    const idx = make();
    const a = idx.intern("a");
    idx.upsert("a", 1, 1);
    const ops = Uint8Array.of(OP_UPSERT, OP_UPSERT);
    const slots = Uint32Array.of(a, a);
    const scores = Float64Array.of(5, 6);
    const tbs = Float64Array.of(1, 2);
    const out = new Int32Array(4);
    const batch = idx.applyBatch.bind(idx) as (...args: unknown[]) => void;
    const cases: Array<[unknown[], ErrorConstructor, RegExp]> = [
      [[[0, 0], slots, scores, tbs, 2, out], TypeError, /ops/],
      [[ops, new Int32Array(2), scores, tbs, 2, out], TypeError, /slots/],
      [[ops, slots, new Float32Array(2), tbs, 2, out], TypeError, /scores/],
      [[ops, slots, scores, null, 2, out], TypeError, /tiebreaks/],
      [[ops, slots, scores, tbs, 2, new Uint32Array(4)], TypeError, /out/],
      [[ops, slots, scores, tbs, "2", out], TypeError, /count/],
      [[ops, slots, scores, tbs, -1, out], RangeError, /count/],
      [[ops, slots, scores, tbs, 1.5, out], RangeError, /count/],
      [[ops, slots, scores, tbs, 3, out], RangeError, /ops/],
      [[ops, new Uint32Array(1), scores, tbs, 2, out], RangeError, /slots/],
      [[ops, slots, new Float64Array(1), tbs, 2, out], RangeError, /scores/],
      [[ops, slots, scores, new Float64Array(1), 2, out], RangeError, /tiebreaks/],
      [[ops, slots, scores, tbs, 2, new Int32Array(3)], RangeError, /out/],
      [[Uint8Array.of(0, 2), slots, scores, tbs, 2, out], RangeError, /ops\[1\]/],
      [[ops, Uint32Array.of(a, 7), scores, tbs, 2, out], RangeError, /slots\[1\]/],
      [[ops, slots, Float64Array.of(5, Number.NaN), tbs, 2, out], RangeError, /scores\[1\]/],
      [[ops, slots, Float64Array.of(5, 0.5), tbs, 2, out], RangeError, /scores\[1\]/],
      [[ops, slots, scores, Float64Array.of(1, 2 ** 60), 2, out], RangeError, /tiebreaks\[1\]/],
    ];
    for (const [args, type, message] of cases) {
      expect(() => batch(...args)).toThrow(type);
      expect(() => batch(...args)).toThrow(message);
    }
    expect(idx.score("a")).toBe(1);
  });

  it("rejects corrupt or truncated serialisations with a clear message", () => {
    const idx = make();
    for (let i = 0; i < 20; i++) idx.upsert(`player-${i}`, i % 3, i);
    const good = idx.serialize();
    const flipped = good.slice();
    flipped[30] = flipped[30]! ^ 0x40;
    const badMagic = good.slice();
    badMagic[0] = 0x58;
    const badVersion = good.slice();
    badVersion[4] = 2;
    const cases: Array<[Uint8Array, RegExp]> = [
      [flipped, /corrupt rank index: checksum mismatch/],
      [good.subarray(0, good.length - 1), /corrupt rank index/],
      [good.subarray(0, 10), /corrupt rank index: truncated/],
      [new Uint8Array(0), /corrupt rank index: truncated/],
      [badMagic, /corrupt rank index: bad magic/],
      [badVersion, /corrupt rank index: unsupported version 2/],
      [
        encodeRankRecords([
          { playerId: "a", score: 1, tiebreak: 0 },
          { playerId: "b", score: 2, tiebreak: 0 },
        ]),
        /corrupt rank index: entry 1 is out of order/,
      ],
      [
        encodeRankRecords([
          { playerId: "a", score: 2, tiebreak: 0 },
          { playerId: "b", score: 1, tiebreak: 0 },
          { playerId: "a", score: 0, tiebreak: 0 },
        ]),
        /corrupt rank index: entry 2 duplicates a player id/,
      ],
      [
        encodeRankRecords([{ playerId: "a", score: 0.5, tiebreak: 0 }]),
        /corrupt rank index: entry 0 has a score that is not a safe integer/,
      ],
    ];
    for (const [bytes, message] of cases) {
      expect(() => load(bytes)).toThrow(CorruptRankIndexError);
      expect(() => load(bytes)).toThrow(message);
    }
    expect(() => load("CRNK" as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe("native and JS indexes agree", () => {
  it("serialise the same op sequence to identical bytes and read each other's bytes", () => {
    const n = new NativeRankIndex();
    const j = new JsRankIndex();
    for (const idx of [n, j]) {
      for (let i = 0; i < 3000; i++) idx.upsert(`p${(i * 7919) % 1000}`, (i * 31) % 50, i % 13);
      for (let i = 0; i < 300; i++) idx.remove(`p${(i * 13) % 1000}`);
    }
    expect(n.serialize()).toEqual(j.serialize());
    expect(JsRankIndex.deserialize(n.serialize()).serialize()).toEqual(j.serialize());
    expect(NativeRankIndex.deserialize(j.serialize()).top(5000)).toEqual(j.top(5000));
  });

  it("createRankIndex and deserializeRankIndex pick the implementation asked for", () => {
    expect(createRankIndex("native")).toBeInstanceOf(NativeRankIndex);
    expect(createRankIndex("js")).toBeInstanceOf(JsRankIndex);
    expect(createRankIndex()).toBeInstanceOf(NativeRankIndex);
    const bytes = new JsRankIndex().serialize();
    expect(deserializeRankIndex(bytes, "js")).toBeInstanceOf(JsRankIndex);
    expect(deserializeRankIndex(bytes)).toBeInstanceOf(NativeRankIndex);
  });
});

/** Whether `f` returns without throwing. */
function tryCall(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch {
    return false;
  }
}

describe("native index memory", () => {
  it("allocates nothing for 100,000 moves after a 100,000-player warm-up", () => {
    const idx = new NativeRankIndex();
    const next = xorshift(12345);
    const players = 100_000;
    for (let i = 0; i < players; i++) idx.upsert(`player-${i}`, next() % 10_000, i);
    const before = idx.stats();
    expect(before.bytes / players).toBeLessThan(128);
    let tb = players;
    for (let i = 0; i < 100_000; i++) idx.upsert(`player-${next() % players}`, next() % 10_000, tb++);
    const n = 1000;
    const ops = new Uint8Array(n);
    const slots = new Uint32Array(n);
    const scores = new Float64Array(n);
    const tbs = new Float64Array(n);
    const out = new Int32Array(2 * n);
    for (let b = 0; b < 100; b++) {
      for (let i = 0; i < n; i++) {
        slots[i] = next() % players;
        scores[i] = next() % 10_000;
        tbs[i] = tb++;
      }
      idx.applyBatch(ops, slots, scores, tbs, n, out);
    }
    expect(idx.stats()).toEqual(before);
    expect(idx.size).toBe(players);
  });

  it("adds up every native index of the process in one call, and gives a cleared index's bytes back", async () => {
    // An engine with thousands of boards reads its native memory from these totals rather than
    // asking each board. Indexes that earlier tests dropped give their bytes back when collected:
    // collect them first, and let their finalizers run, so that none does during the measure.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    for (let i = 0; i < 2; i++) {
      gc();
      await new Promise(setImmediate);
    }
    const start = nativeTotals();
    const a = new NativeRankIndex();
    const b = new NativeRankIndex();
    for (let i = 0; i < 5000; i++) a.upsert(`a-${i}`, i % 97, i);
    for (let i = 0; i < 50; i++) b.upsert(`b-${i}`, i, i);
    const both = nativeTotals();
    expect(both.bytes - start.bytes).toBe(a.stats().bytes + b.stats().bytes);
    expect(both.allocations - start.allocations).toBe(a.stats().allocations + b.stats().allocations);
    const aBytes = a.stats().bytes;
    a.clear();
    const after = nativeTotals();
    expect(both.bytes - after.bytes).toBe(aBytes - a.stats().bytes);
    // Allocations are counted as they happen: clearing takes none back, and the fresh empty index
    // that takes a cleared one's place adds its own.
    expect(after.allocations - both.allocations).toBe(a.stats().allocations);
  });

  it("takes a few kilobytes for a small hunt, and still allocates nothing when its players move", () => {
    // A platform hosts thousands of small hunts at once: each index starts small and grows with
    // its players (the first page of slot records and the first slabs of tree nodes included). Its
    // tree is one leaf: no slack for splits it cannot make.
    const idx = new NativeRankIndex();
    for (let i = 0; i < 20; i++) idx.upsert(`a-rather-long-player-id-${i}`, i, i);
    const small = idx.stats();
    expect(small.bytes).toBeLessThanOrEqual(4 * 1024);
    let tb = 20;
    for (let i = 0; i < 10_000; i++) idx.upsert(`a-rather-long-player-id-${i % 20}`, (i * 7919) % 100, tb++);
    expect(idx.stats()).toEqual(small);
  });

  it("makes its functions once, so a board costs no heap per method", () => {
    // A platform's thousands of small hunts each hold a board or two: functions made per instance
    // cost about 11 KB of heap per board.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const { NativeRankIndexCore } = createRequire(import.meta.url)(ADDON_PATH) as {
      NativeRankIndexCore: new (scratch: Int32Array, scores: Float64Array) => object;
    };
    const scratch = new Int32Array(16);
    const scores = new Float64Array(16);
    gc();
    const before = process.memoryUsage().heapUsed;
    const many = Array.from({ length: 10_000 }, () => new NativeRankIndexCore(scratch, scores));
    gc();
    const perIndex = (process.memoryUsage().heapUsed - before) / many.length;
    expect(perIndex).toBeLessThan(1024);
  });

  it("refuses a handle that names no live index with a TypeError, never touching freed memory", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const addon = createRequire(import.meta.url)(ADDON_PATH) as {
      NativeRankIndexCore: new (scratch: Int32Array, scores: Float64Array) => { readonly handle: number };
      upsert(handle: unknown, id: string, score: number, tiebreak: number): number;
      size(handle: unknown): number;
    };
    let core: { readonly handle: number } | undefined = new addon.NativeRankIndexCore(
      new Int32Array(16),
      new Float64Array(16),
    );
    const handle = core.handle;
    addon.upsert(handle, "p", 1, 0);
    expect(addon.size(handle)).toBe(1);
    expect(() => addon.size(handle + 1_000_000)).toThrow(/handle must name a live NativeRankIndexCore/);
    expect(() => addon.size("0")).toThrow(TypeError);
    for (const notAHandle of [Number.NaN, handle + 0.5, 2 ** 32 + handle, -1, Number.POSITIVE_INFINITY])
      expect(() => addon.size(notAHandle)).toThrow(TypeError);
    expect(() => addon.size(undefined)).toThrow(TypeError);
    // Once its owner is collected, the index is gone and its handle names nothing.
    core = undefined;
    for (let i = 0; i < 10 && tryCall(() => addon.size(handle)); i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(() => addon.size(handle)).toThrow(TypeError);
  });
});
