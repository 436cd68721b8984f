// The fold's KeySet against a Set, the model it replaces: the same answers and the same insertion
// order after any sequence of adds and deletes, since the hunt's canonical bytes list keys in it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeySet } from "../../actors/hunt/key-set.ts";

type Op = { op: "add" | "delete" | "has"; key: number };

/** Keys from a small range (so that adds, deletes and re-adds of one key are common) and huge ones. */
const key = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.integer({ min: 0, max: 5000 }),
  fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 52 + 3),
);
const ops = fc.array(fc.record({ op: fc.constantFrom<Op["op"]>("add", "add", "delete", "has"), key }), {
  maxLength: 3000,
});

describe("KeySet", () => {
  it("answers and iterates as a Set does, in insertion order, after any adds and deletes", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const set = new KeySet();
        const model = new Set<number>();
        for (const { op, key } of sequence) {
          if (op === "add") expect(set.add(key)).toBe(set);
          if (op === "add") model.add(key);
          if (op === "delete") expect(set.delete(key)).toBe(model.delete(key));
          if (op === "has") expect(set.has(key)).toBe(model.has(key));
          expect(set.size).toBe(model.size);
        }
        expect([...set]).toEqual([...model]);
        for (const k of model) expect(set.has(k)).toBe(true);
      }),
      { numRuns: 300 },
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
    }
    expect(set.size).toBe(model.size);
    expect([...set]).toEqual([...model]);
  });
});
