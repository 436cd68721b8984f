// Property tests of the fold: random valid and invalid logs against the reference model, and the
// stateHash of snapshot + tail against a full replay at random cut points.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeHunt, encodeHunt, HuntFold, stateHash } from "../../actors/index.ts";
import { createRankIndex } from "../../native/index.ts";
import { encode, expectFoldLikeModel, logArb } from "../support/hunt-arbitraries.ts";
import { CollectingSink } from "../support/hunt-log.ts";

describe("the fold against the reference model", () => {
  for (const kind of ["native", "js"] as const) {
    it(`gives the model's outputs and leaderboard (${kind} index), in batches of any size`, () => {
      fc.assert(
        fc.property(logArb, fc.integer({ min: 1, max: 40 }), (inputs, batch) =>
          expectFoldLikeModel(inputs, kind, batch),
        ),
        { numRuns: 400 },
      );
    });
  }

  it("gives the same stateHash after snapshot + tail as after a full replay, with either index", () => {
    fc.assert(
      fc.property(logArb, fc.nat(), (inputs, cutSeed) => {
        const msgs = encode(inputs);
        const cut = msgs.length === 0 ? 0 : cutSeed % (msgs.length + 1);
        const full = new HuntFold("h", createRankIndex("native"));
        full.applyBatch(msgs, new CollectingSink());

        const head = new HuntFold("h", createRankIndex("js"));
        head.applyBatch(msgs.slice(0, cut), new CollectingSink());
        const restored = decodeHunt("h", encodeHunt(head), { indexKind: "native" });
        expect(stateHash(restored)).toBe(stateHash(head));
        const sink = new CollectingSink();
        restored.applyBatch(msgs.slice(cut), sink);
        expect(stateHash(restored)).toBe(stateHash(full));
        expect(restored.status).toBe(full.status);
      }),
      { numRuns: 400 },
    );
  });
});
