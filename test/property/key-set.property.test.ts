// The fold's KeySet against a Map of key to value, the model it replaces (a Set of finds and a Map of
// finders): the same answers, values and insertion order after any sequence of adds and deletes,
// since the hunt's canonical bytes list keys, and a team hunt's their values, in that order.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeySet } from "../../actors/hunt/key-set.ts";

type Op = { op: "add" | "delete" | "has" | "order"; key: number; value: number };

function keysOf(set: KeySet): number[] {
  const keys: number[] = [];
  set.forEach((k) => {
    keys.push(k);
  });
  return keys;
}

function entriesOf(set: KeySet): [number, number][] {
  const entries: [number, number][] = [];
  set.forEach((k, v) => {
    entries.push([k, v]);
  });
  return entries;
}

/**
 * Keys as the fold makes them, competitor * treasureCount + treasure: a few competitors (so adds,
 * deletes and re-adds of one key are common), many, and competitor numbers large enough that keys
 * pass 2^32; and the ends of the range.
 */
const key = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 4 })).map(([c, t]) => c * 5 + t),
  fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 19 })).map(([c, t]) => c * 20 + t),
  fc
    .tuple(fc.integer({ min: 2 ** 26, max: 2 ** 27 }), fc.integer({ min: 0, max: 63 }))
    .map(([c, t]) => c * 64 + t),
  fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 52 + 3),
);
const ops = fc.array(
  fc.record({
    op: fc.constantFrom<Op["op"]>("add", "add", "add", "delete", "delete", "has", "order"),
    key,
    value: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom(0xffffffff, 2 ** 31)),
  }),
  { maxLength: 4000, size: "max" },
);

describe("KeySet", () => {
  it("answers and iterates as a Map does, in insertion order, after any adds and deletes", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const set = new KeySet();
        const model = new Map<number, number>();
        for (const { op, key, value } of sequence) {
          if (op === "add") expect(set.add(key, value)).toBe(set);
          // A key already there keeps its place and its value.
          if (op === "add" && !model.has(key)) model.set(key, value);
          if (op === "delete") expect(set.delete(key)).toBe(model.delete(key));
          if (op === "has") expect(set.has(key)).toBe(model.has(key));
          if (op === "has") expect(set.get(key)).toBe(model.get(key));
          if (op === "order") expect(entriesOf(set)).toEqual([...model]);
          expect(set.size).toBe(model.size);
        }
        expect(entriesOf(set)).toEqual([...model]);
        for (const [k, v] of model) expect(set.get(k)).toBe(v);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps the order through growth and the dropping of deleted entries", () => {
    const set = new KeySet();
    const model = new Set<number>();
    // Many rounds of adding a block and deleting most of an older one: the table grows, and the log
    // of insertions is compacted again and again.
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < 100; k++) {
        set.add(round * 100 + k);
        model.add(round * 100 + k);
      }
      for (let k = 0; k < 100; k += 1 + (round % 3)) {
        const old = Math.floor(round / 2) * 100 + k;
        expect(set.delete(old)).toBe(model.delete(old));
      }
      // A deleted key added again goes to the end.
      set.add(round);
      model.add(round);
      if (round % 50 === 0) expect(keysOf(set)).toEqual([...model]);
    }
    expect(set.size).toBe(model.size);
    expect(keysOf(set)).toEqual([...model]);
  });

  it("refuses what is not a key, and keeps -0 as 0 as a Set does", () => {
    const set = new KeySet();
    for (const bad of [-1, Number.NaN, 1.5, 2 ** 53, Number.POSITIVE_INFINITY]) {
      expect(() => set.add(bad)).toThrow(RangeError);
      expect(() => set.add(bad)).toThrow(/a key must be a safe integer of at least 0/);
    }
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => set.add(1, bad)).toThrow(/a value must be a 32-bit unsigned integer/);
    }
    expect(set.size).toBe(0);
    set.add(-0);
    expect(Object.is(keysOf(set)[0], 0)).toBe(true);
    expect(set.has(0)).toBe(true);
  });
});
