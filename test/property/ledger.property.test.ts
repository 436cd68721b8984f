// The ledger against a reference built from the reference model: for random version 2 logs, solo and
// team, every competitor's ledger is one entry per rank message of theirs (the one that opened their
// place aside), in order, with the change of score since their previous message, whatever the batches
// the log is read in.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Competitor, LedgerFold } from "../../actors/index.ts";
import { createRankIndex } from "../../native/index.ts";
import { encode, logArbTeams, logArbV2 } from "../support/hunt-arbitraries.ts";
import { HuntModel, type ModelInput, type ModelOutput } from "../support/hunt-model.ts";

/** What the ledger holds for each rank message, as [seq, type, delta, score, rank]. */
type Row = [number, string, number, number, number];

/** The reference ledger of a competitor, from the model's rank messages and the inputs behind them. */
function modelLedger(inputs: ModelInput[], outputs: ModelOutput[], competitor: Competitor): Row[] {
  const rows: Row[] = [];
  let previous = 0;
  for (const o of outputs) {
    const mine =
      (o.kind === "rank" && o.playerId === competitor.playerId) ||
      (o.kind === "teamRank" && o.teamId === competitor.teamId);
    if (!mine) continue;
    const input = inputs[o.seq - 1]!;
    const type = input.kind === "event" ? input.event.type : "";
    const delta = o.score - previous;
    previous = o.score;
    if (type !== "PlayerJoined" && type !== "TeamCreated") rows.push([o.seq, type, delta, o.score, o.rank]);
  }
  return rows;
}

/** The ledger as LedgerFold builds it, the log fed in batches of `batch`. */
function foldLedger(inputs: ModelInput[], competitor: Competitor, batch: number): Row[] {
  const fold = new LedgerFold("h", createRankIndex("native"), competitor);
  const msgs = encode(inputs);
  const rows: Row[] = [];
  for (let i = 0; i < msgs.length; i += batch) {
    fold.feed(msgs.slice(i, i + batch), (_input, entry) => {
      if (entry) rows.push([entry.seq, entry.type, entry.delta, entry.score, entry.rank]);
    });
  }
  fold.fold.dispose();
  return rows;
}

for (const [hunts, logs] of [
  ["solo", logArbV2],
  ["team", logArbTeams],
] as const) {
  describe(`the ledger against the reference model, version 2 ${hunts} hunts`, () => {
    it("gives every player and team the model's rank messages as entries, in batches of any size", () => {
      fc.assert(
        fc.property(logs, fc.integer({ min: 1, max: 40 }), (inputs, batch) => {
          const model = new HuntModel();
          for (let i = 0; i < inputs.length; i++) model.apply(i + 1, inputs[i]!);
          const competitors: Competitor[] = [
            ...new Set(model.outputs.flatMap((o) => (o.kind === "rank" ? [o.playerId] : []))),
          ].map((playerId) => ({ playerId }));
          for (const o of model.outputs) {
            if (o.kind === "teamRank" && !competitors.some((c) => c.teamId === o.teamId)) {
              competitors.push({ teamId: o.teamId });
            }
          }
          for (const competitor of competitors) {
            const rows = foldLedger(inputs, competitor, batch);
            expect(rows).toEqual(modelLedger(inputs, model.outputs, competitor));
            // Every ledger adds up to the competitor's last score.
            const sum = rows.reduce((s, r) => s + r[2], 0);
            const last = rows.at(-1)?.[3];
            if (last !== undefined) expect(sum).toBe(last);
          }
        }),
        { numRuns: 150 },
      );
    });
  });
}
