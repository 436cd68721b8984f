// Property tests of the fold on version 2 hunts, solo and team (time rules, treasure conditions,
// disqualification, finalisation, teams, reviews, the standings freeze): random logs against the
// reference model, and snapshot + tail against a full replay, cut at random or right after the events
// that leave lasting state (a disqualification, an end, a team, a freeze, a pending submission).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { answer, decodeHunt, encodeHunt, HuntFold, stateHash } from "../../actors/index.ts";
import { createRankIndex } from "../../native/index.ts";
import { encode, expectFoldLikeModel, logArbTeams, logArbV2 } from "../support/hunt-arbitraries.ts";
import { CollectingSink } from "../support/hunt-log.ts";
import type { ModelInput } from "../support/hunt-model.ts";

const LASTING = new Set([
  "PlayerDisqualified",
  "HuntEnded",
  "HuntFinalized",
  "TeamCreated",
  "StandingsFrozen",
  "SubmissionMade",
]);

/** What the public sees of a hunt: the whole public board and its state. */
function publicView(fold: HuntFold) {
  return [
    answer(fold, "top", { n: 1000 }, "public"),
    answer(fold, "top", { n: 1000, board: "teams" }, "public"),
    answer(fold, "state", {}, "public"),
  ];
}

/** A cut point: anywhere, or just after an input that leaves lasting state. */
function cutAt(inputs: ModelInput[], seed: number, afterLasting: boolean): number {
  const lasting = inputs.flatMap((input, i) =>
    input.kind === "event" && LASTING.has(input.event.type) ? [i + 1] : [],
  );
  if (afterLasting && lasting.length > 0) return lasting[seed % lasting.length]!;
  return seed % (inputs.length + 1);
}

for (const [hunts, logs] of [
  ["solo", logArbV2],
  ["team", logArbTeams],
] as const) {
  describe(`the fold against the reference model, version 2 ${hunts} hunts`, () => {
    for (const kind of ["native", "js"] as const) {
      it(`gives the model's outputs, leaderboard and status (${kind} index), in batches of any size`, () => {
        fc.assert(
          fc.property(logs, fc.integer({ min: 1, max: 40 }), (inputs, batch) =>
            expectFoldLikeModel(inputs, kind, batch),
          ),
          { numRuns: 300 },
        );
      });
    }

    it("gives the same stateHash after snapshot + tail as after a full replay, with either index", () => {
      fc.assert(
        fc.property(logs, fc.nat(), fc.boolean(), (inputs, seed, afterLasting) => {
          const msgs = encode(inputs);
          const cut = cutAt(inputs, seed, afterLasting);
          const full = new HuntFold("h", createRankIndex("native"));
          const fullSink = new CollectingSink();
          full.applyBatch(msgs, fullSink);

          const head = new HuntFold("h", createRankIndex("js"));
          const headSink = new CollectingSink();
          head.applyBatch(msgs.slice(0, cut), headSink);
          const restored = decodeHunt("h", encodeHunt(head), { indexKind: "native" });
          expect(stateHash(restored)).toBe(stateHash(head));
          expect(publicView(restored)).toEqual(publicView(head));
          const tailSink = new CollectingSink();
          restored.applyBatch(msgs.slice(cut), tailSink);
          expect(stateHash(restored)).toBe(stateHash(full));
          expect(restored.status).toBe(full.status);
          expect(publicView(restored)).toEqual(publicView(full));
          expect([...headSink.outputs, ...tailSink.outputs]).toEqual(fullSink.outputs);
        }),
        { numRuns: 300 },
      );
    });
  });
}
