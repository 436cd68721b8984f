// Model-based property tests: random op sequences run against both rank indexes and a trivial
// sorted-array model, which must agree on every answer and on the serialised bytes.
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
// A fast deterministic PRNG for long op sequences (fast-check draws its starting state, so failures shrink to it).
import { xorshift } from "../../bench/xorshift.ts";
import {
  CorruptRankIndexError,
  JsRankIndex,
  NativeRankIndex,
  OP_REMOVE,
  OP_UPSERT,
  type RankEntry,
  type RankIndex,
} from "../../native/index.ts";

const MAX = Number.MAX_SAFE_INTEGER;

/** The obvious model: a map of players, sorted on every read. */
class SortedModel {
  readonly players = new Map<string, { score: number; tiebreak: number }>();

  sorted(): Array<{ playerId: string; score: number; tiebreak: number }> {
    return [...this.players]
      .map(([playerId, k]) => ({ playerId, ...k }))
      .sort(
        (a, b) =>
          b.score - a.score ||
          a.tiebreak - b.tiebreak ||
          Buffer.compare(Buffer.from(a.playerId), Buffer.from(b.playerId)),
      );
  }
  rank(id: string): number {
    return this.players.has(id) ? this.sorted().findIndex((e) => e.playerId === id) + 1 : 0;
  }
  upsert(id: string, score: number, tiebreak: number): { rank: number; previousRank: number } {
    const previousRank = this.rank(id);
    this.players.set(id, { score: score + 0, tiebreak: tiebreak + 0 });
    return { rank: this.rank(id), previousRank };
  }
  remove(id: string): number {
    const r = this.rank(id);
    this.players.delete(id);
    return r;
  }
  top(n: number, offset: number): RankEntry[] {
    return this.sorted()
      .slice(offset, offset + n)
      .map((e, i) => ({ rank: offset + i + 1, playerId: e.playerId, score: e.score }));
  }
  around(id: string, before: number, after: number): RankEntry[] {
    const r = this.rank(id);
    if (r === 0) return [];
    const first = Math.max(1, r - before);
    return this.top(Math.min(this.players.size, r + after) - first + 1, first - 1);
  }
}

// Ids chosen to collide on purpose, including pairs whose UTF-16 order differs from code point order.
const idArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom("a", "b", "ab", "", "é", "\uFB01", "\u{1F600}", "\uFFFF", "\u{10000}"),
  },
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(1000), "\u{1F600}".repeat(300)) },
  // Around the native index's 15-byte inline id limit: the same prefix stored inline and out of line.
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "x".repeat(14),
      "x".repeat(15),
      "x".repeat(16),
      `${"x".repeat(14)}é`,
      "é".repeat(8),
    ),
  },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 4 }) },
);
// Scores and tiebreaks with many ties, the float-precision edge (2^24) and the safe-integer ends.
const edgeArb = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  2 ** 24,
  2 ** 24 + 1,
  2 ** 24 + 2,
  -(2 ** 24) - 1,
  MAX,
  -MAX,
  MAX - 1,
);
const numArb = fc.oneof(fc.integer({ min: -3, max: 3 }), edgeArb, fc.maxSafeInteger());

type Op =
  | { kind: "upsert"; id: string; score: number; tiebreak: number }
  | { kind: "remove"; id: string }
  | { kind: "rank"; id: string }
  | { kind: "top"; n: number; offset: number }
  | { kind: "around"; id: string; before: number; after: number }
  | { kind: "batch"; items: Array<{ remove: boolean; id: string; score: number; tiebreak: number }> }
  | { kind: "roundtrip" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("upsert" as const),
      id: idArb,
      score: numArb,
      tiebreak: numArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("remove" as const), id: idArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("rank" as const), id: idArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("top" as const), n: fc.nat(20), offset: fc.nat(20) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("around" as const),
      id: idArb,
      before: fc.nat(5),
      after: fc.nat(5),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("batch" as const),
      items: fc.array(fc.record({ remove: fc.boolean(), id: idArb, score: numArb, tiebreak: numArb }), {
        maxLength: 12,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "roundtrip" as const }) },
);

type Impl = [string, () => RankIndex, (bytes: Uint8Array) => RankIndex];
const impls: Impl[] = [
  ["native", () => new NativeRankIndex(), (b) => NativeRankIndex.deserialize(b)],
  ["js", () => new JsRankIndex(), (b) => JsRankIndex.deserialize(b)],
];

/** Runs one op on an index and returns what it answered, in a form the model also produces. */
function apply(
  index: RankIndex,
  op: Op,
  load: (b: Uint8Array) => RankIndex,
): { index: RankIndex; answer: unknown } {
  switch (op.kind) {
    case "upsert":
      return { index, answer: index.upsert(op.id, op.score, op.tiebreak) };
    case "remove":
      return { index, answer: index.remove(op.id) };
    case "rank":
      return { index, answer: [index.rank(op.id), index.score(op.id)] };
    case "top":
      return { index, answer: index.top(op.n, op.offset) };
    case "around":
      return { index, answer: index.around(op.id, op.before, op.after) };
    case "batch": {
      const n = op.items.length;
      const ops = new Uint8Array(n);
      const slots = new Uint32Array(n);
      const scores = new Float64Array(n);
      const tiebreaks = new Float64Array(n);
      const out = new Int32Array(2 * n);
      op.items.forEach((it, i) => {
        ops[i] = it.remove ? OP_REMOVE : OP_UPSERT;
        slots[i] = index.intern(it.id);
        scores[i] = it.score;
        tiebreaks[i] = it.tiebreak;
      });
      index.applyBatch(ops, slots, scores, tiebreaks, n, out);
      return { index, answer: [...out] };
    }
    case "roundtrip": {
      const bytes = index.serialize();
      const back = load(bytes);
      expect(Buffer.from(back.serialize()).equals(Buffer.from(bytes))).toBe(true);
      return { index: back, answer: back.size };
    }
  }
}

/** writeTopJson's bytes as text, from a buffer that starts too small for most boards and doubles. */
function topJson(index: RankIndex, n: number): string {
  for (let size = 16; ; size *= 2) {
    const out = new Uint8Array(size);
    const end = index.writeTopJson(out, 3, n, "playerId");
    if (end >= 0) return new TextDecoder().decode(out.subarray(3, end));
  }
}

function modelAnswer(model: SortedModel, op: Op): unknown {
  switch (op.kind) {
    case "upsert":
      return model.upsert(op.id, op.score, op.tiebreak);
    case "remove":
      return model.remove(op.id);
    case "rank": {
      const p = model.players.get(op.id);
      return [model.rank(op.id), p?.score];
    }
    case "top":
      return model.top(op.n, op.offset);
    case "around":
      return model.around(op.id, op.before, op.after);
    case "batch":
      return op.items.flatMap((it) =>
        it.remove ? [0, model.remove(it.id)] : Object.values(model.upsert(it.id, it.score, it.tiebreak)),
      );
    case "roundtrip":
      return model.players.size;
  }
}

describe.each(impls)("%s rank index against the sorted-array model", (_name, make, load) => {
  it("answers every op like the model and keeps the same contents", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60, size: "max" }), (ops) => {
        const model = new SortedModel();
        let index = make();
        for (const op of ops) {
          const got = apply(index, op, load);
          index = got.index;
          expect(got.answer).toEqual(modelAnswer(model, op));
          expect(index.size).toBe(model.players.size);
        }
        expect(index.top(1000)).toEqual(model.top(1000, 0));
        expect(topJson(index, 1000)).toBe(JSON.stringify(model.top(1000, 0)));
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects any flipped byte or cut of a serialisation", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(idArb, numArb, numArb), { maxLength: 20 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (entries, at, mask) => {
          const index = make();
          for (const [id, s, t] of entries) index.upsert(id, s, t);
          const bytes = index.serialize();
          const flipped = bytes.slice();
          flipped[at % bytes.length] = flipped[at % bytes.length]! ^ mask;
          expect(() => load(flipped)).toThrow(CorruptRankIndexError);
          expect(() => load(bytes.subarray(0, at % bytes.length))).toThrow(/corrupt rank index/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/**
 * A score among `range` values centred on 0. Ranges beyond 2^32 take two draws, so the widest
 * (MAX_SAFE_INTEGER) spreads over all of ±2^52, not a 2^32-wide sliver of it.
 */
function scoreIn(next: () => number, range: number): number {
  const draw = range > 2 ** 32 ? next() * 2 ** 21 + (next() >>> 11) : next();
  return (draw % range) - Math.floor(range / 2);
}

/** One op of a batch: upsert (OP_UPSERT) a player to a key, or remove it (OP_REMOVE). */
interface BatchOp {
  id: string;
  op: number;
  score: number;
  tiebreak: number;
}

/**
 * Runs `n` ops from `nextOp` through the native and the JS applyBatch, `batch` ops per call, and
 * checks that they agree on every op's (rank, previous rank), on the top and on the serialised bytes.
 */
function batchesAgree(players: number, n: number, batch: number, nextOp: (i: number) => BatchOp): void {
  const native = new NativeRankIndex();
  const js = new JsRankIndex();
  const ops = new Uint8Array(n);
  const slotsN = new Uint32Array(n);
  const slotsJ = new Uint32Array(n);
  const scores = new Float64Array(n);
  const ties = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = nextOp(i);
    ops[i] = o.op;
    slotsN[i] = native.intern(o.id);
    slotsJ[i] = js.intern(o.id);
    scores[i] = o.score;
    ties[i] = o.tiebreak;
  }
  const outN = new Int32Array(2 * n);
  const outJ = new Int32Array(2 * n);
  for (let at = 0; at < n; at += batch) {
    const end = Math.min(n, at + batch);
    const out = (a: Int32Array) => a.subarray(2 * at, 2 * end);
    native.applyBatch(
      ops.subarray(at, end),
      slotsN.subarray(at, end),
      scores.subarray(at, end),
      ties.subarray(at, end),
      end - at,
      out(outN),
    );
    js.applyBatch(
      ops.subarray(at, end),
      slotsJ.subarray(at, end),
      scores.subarray(at, end),
      ties.subarray(at, end),
      end - at,
      out(outJ),
    );
  }
  const differs = outN.findIndex((v, i) => v !== outJ[i]);
  if (differs >= 0) {
    const op = differs >> 1;
    expect({ op, native: [outN[2 * op], outN[2 * op + 1]] }).toEqual({
      op,
      native: [outJ[2 * op], outJ[2 * op + 1]],
    });
  }
  expect(native.top(players)).toEqual(js.top(players));
  expect(Buffer.from(native.serialize()).equals(Buffer.from(js.serialize()))).toBe(true);
}

describe("native and JS indexes together", () => {
  it("serialise the same op sequence to identical bytes", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80, size: "max" }), (ops) => {
        let native: RankIndex = new NativeRankIndex();
        let js: RankIndex = new JsRankIndex();
        for (const op of ops) {
          const a = apply(native, op, (b) => JsRankIndex.deserialize(b));
          const b = apply(js, op, (x) => NativeRankIndex.deserialize(x));
          // Round trips swap implementations, so bytes from each are read by the other.
          native = a.index;
          js = b.index;
          expect(a.answer).toEqual(b.answer);
        }
        expect(Buffer.from(native.serialize()).equals(Buffer.from(js.serialize()))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("serialise in parts of any sizes to the whole's bytes, with the same parts and cursors", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 80, size: "max" }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 20 }),
        (ops, sizes) => {
          let native: RankIndex = new NativeRankIndex();
          let js: RankIndex = new JsRankIndex();
          for (const op of ops) {
            native = apply(native, op, (b) => NativeRankIndex.deserialize(b)).index;
            js = apply(js, op, (b) => JsRankIndex.deserialize(b)).index;
          }
          const whole = native.serialize();
          const written = impls.map(() => [] as number[]);
          const cursors = [native, js].map(() => new Uint32Array(4));
          // Each part's room comes round from `sizes`; a room too small for the next entry gets
          // another go with room for the longest.
          for (let i = 0, stalled = false; cursors[0]![0]! < whole.length; i++) {
            const room = stalled ? 20 + 65535 : sizes[i % sizes.length]!;
            const before = cursors[0]![0];
            [native, js].forEach((index, k) => {
              const out = new Uint8Array(room);
              cursors[k]![1] = 0;
              expect(index.serializeInto(out, cursors[k]!)).toBe(whole.length);
              written[k]!.push(...out.subarray(0, cursors[k]![1]));
            });
            expect([...cursors[1]!]).toEqual([...cursors[0]!]);
            stalled = cursors[0]![0] === before;
          }
          expect(Uint8Array.from(written[0]!)).toEqual(whole);
          expect(Uint8Array.from(written[1]!)).toEqual(whole);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("agree op by op on long sequences that split and merge many tree nodes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 50, max: 4000 }),
        (seed, players) => {
          const next = xorshift(seed);
          const native = new NativeRankIndex();
          const js = new JsRankIndex();
          const model = new SortedModel();
          const scoreRange = [3, 100, 2 ** 26, MAX][next() % 4]!;
          for (let i = 0; i < 20_000; i++) {
            const id = `p${next() % players}`;
            const r = next() % 100;
            if (r < 70) {
              const s = scoreIn(next, scoreRange);
              const t = next() % 5;
              expect(native.upsert(id, s, t)).toEqual(js.upsert(id, s, t));
              model.players.set(id, { score: s + 0, tiebreak: t });
            } else if (r < 90) {
              expect(native.remove(id)).toBe(js.remove(id));
              model.players.delete(id);
            } else {
              expect(native.rank(id)).toBe(js.rank(id));
            }
          }
          expect(native.top(players)).toEqual(model.top(players, 0));
          expect(js.top(players)).toEqual(model.top(players, 0));
          expect(Buffer.from(native.serialize()).equals(Buffer.from(js.serialize()))).toBe(true);
        },
      ),
      { numRuns: 12 },
    );
  });

  it("agree on small moves (the engine's workload: a player moves a few places, often inside one leaf)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 200, max: 5000 }),
        (seed, players) => {
          const next = xorshift(seed);
          const score = new Map<string, number>();
          batchesAgree(players, 30_000, 30_000, (i) => {
            const id = `p${next() % players}`;
            const s = (score.get(id) ?? 0) + ((next() % 21) - 10);
            score.set(id, s);
            const op = next() % 50 === 0 ? OP_REMOVE : OP_UPSERT;
            if (op === OP_REMOVE) score.delete(id);
            return { id, op, score: s, tiebreak: i };
          });
        },
      ),
      { numRuns: 10 },
    );
  });

  it("agree when batches walk ahead: random moves, removes, repeated keys and one slot hit twice in a row", () => {
    // The native applyBatch walks each op's tree path a few ops early; ops in between may split or
    // merge nodes or move the same player, and every such walk must be noticed as stale.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.constantFrom(1, 3, 7, 64, 1000, 20_000),
        (seed, players, batch) => {
          const next = xorshift(seed);
          const scoreRange = [2, 50, 2 ** 26, MAX][next() % 4]!;
          let prev: BatchOp | undefined;
          batchesAgree(players, 20_000, batch, () => {
            // One op in eight repeats the previous op's player: the same slot twice within a walk-ahead.
            const id = prev && next() % 8 === 0 ? prev.id : `p${next() % players}`;
            const op = next() % 5 === 0 ? OP_REMOVE : OP_UPSERT;
            // Some upserts repeat the previous op's key (for the same player, a rank lookup, no move).
            const same = prev && next() % 10 === 0;
            const score = same ? prev!.score : scoreIn(next, scoreRange);
            const tiebreak = same ? prev!.tiebreak : next() % 4;
            prev = { id, op, score, tiebreak };
            return prev;
          });
        },
      ),
      { numRuns: 24 },
    );
  });
});
