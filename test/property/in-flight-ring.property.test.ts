// The output publisher's ring of outputs in flight against a Map, the structure it replaced: for any
// run of adds (in bursts that grow it past its first room and wrap it round), deletes (oldest first,
// from the middle, all but the oldest, again of ids already gone, of ids never handed out, of
// non-integers), starting from ids low and high (past 2^31 and 2^32, where 32-bit arithmetic would
// break), the two agree on every lookup, on the size, on the oldest entry and on the order of every
// entry.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InFlightRing } from "../../streams/publishers.ts";

type Op =
  | { kind: "add"; n: number }
  | { kind: "deleteOldest"; n: number }
  | { kind: "deletePick"; pick: number }
  | { kind: "deleteId"; id: number }
  | { kind: "allButOldest" }
  | { kind: "again"; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant("add" as const), n: fc.integer({ min: 1, max: 1500 }) }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("deleteOldest" as const),
      n: fc.integer({ min: 1, max: 1500 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant("deletePick" as const), pick: fc.nat() }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant("deleteId" as const),
      id: fc.oneof(fc.integer({ min: -5, max: 20_000 }), fc.double({ noNaN: false })),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("allButOldest" as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("again" as const), pick: fc.nat() }), weight: 1 },
);

describe("InFlightRing", () => {
  it("agrees with a Map on every lookup, the size, the oldest entry and the order", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 2 ** 31 - 700, 2 ** 32 - 700, 2 ** 53 - 2 ** 20),
        fc.array(op, { maxLength: 40 }),
        (first, ops) => {
          const ring = new InFlightRing<string>(first);
          const model = new Map<number, string>();
          const gone: number[] = [];
          let next = first;
          const check = () => {
            expect(ring.size).toBe(model.size);
            const oldest = model.entries().next();
            expect(ring.first()).toEqual(oldest.done ? undefined : oldest.value);
            expect([...ring.entries()]).toEqual([...model.entries()]);
            expect([...ring.values()]).toEqual([...model.values()]);
            for (const id of [next - 1, next, next - 1025, first, first - 1, first + 1.5]) {
              expect(ring.get(id)).toBe(model.get(id));
            }
          };
          for (const o of ops) {
            if (o.kind === "add") {
              for (let i = 0; i < o.n; i++) {
                const value = `v${next}`;
                expect(ring.add(value)).toBe(next);
                model.set(next++, value);
              }
            } else if (o.kind === "deleteOldest") {
              for (const id of [...model.keys()].slice(0, o.n)) {
                ring.delete(id);
                model.delete(id);
              }
            } else if (o.kind === "deletePick") {
              const keys = [...model.keys()];
              const id = keys.length === 0 ? first + o.pick : keys[o.pick % keys.length]!;
              ring.delete(id);
              model.delete(id);
              gone.push(id);
            } else if (o.kind === "allButOldest") {
              for (const id of [...model.keys()].slice(1)) {
                ring.delete(id);
                model.delete(id);
                gone.push(id);
              }
            } else if (o.kind === "again") {
              const id = gone.length === 0 ? first : gone[o.pick % gone.length]!;
              ring.delete(id);
              model.delete(id);
            } else {
              ring.delete(first + o.id);
              model.delete(first + o.id);
            }
            check();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
