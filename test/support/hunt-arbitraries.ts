// fast-check arbitraries for hunt logs: random valid and invalid inputs over a small universe of
// players and treasures, so that every rule and rejection code is reached.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { log } from "./hunt-log.ts";
import type { ModelInput } from "./hunt-model.ts";

const PLAYERS = ["a", "b", "c", "d", "é", "\u{1F600}", "p-7"];
const TREASURES = ["t1", "t2", "t3"];
const ANSWER_SHA = createHash("sha256").update("ans", "utf8").digest("hex");

const player = fc.constantFrom(...PLAYERS);
const treasure = fc.constantFrom(...TREASURES, "t-missing");
let counter = 0;
const id = () => `ev-${++counter}`;

export const inputArb: fc.Arbitrary<ModelInput> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .record({
        treasures: fc.uniqueArray(
          fc.record({
            id: fc.constantFrom(...TREASURES),
            points: fc.integer({ min: 0, max: 20 }),
            withAnswer: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3, selector: (t) => t.id },
        ),
        bonus: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
        hintPenalty: fc.integer({ min: 0, max: 4 }),
        maxPlayers: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
      })
      .map(
        (r): ModelInput => ({
          kind: "event",
          event: {
            id: id(),
            type: "HuntCreated",
            data: {
              title: "prop",
              treasures: r.treasures.map((t) =>
                t.withAnswer
                  ? { id: t.id, points: t.points, answerSha256: ANSWER_SHA }
                  : { id: t.id, points: t.points },
              ),
              rules: { firstFinderBonus: r.bonus, hintPenalty: r.hintPenalty, maxPlayers: r.maxPlayers },
            },
          },
        }),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom("HuntStarted", "HuntPaused", "HuntResumed", "HuntEnded")
      .map((type): ModelInput => ({ kind: "event", event: { id: id(), type } })),
  },
  {
    weight: 6,
    arbitrary: player.map(
      (playerId): ModelInput => ({
        kind: "event",
        event: { id: id(), type: "PlayerJoined", data: { playerId } },
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: player.map(
      (playerId): ModelInput => ({
        kind: "event",
        event: { id: id(), type: "PlayerLeft", data: { playerId } },
      }),
    ),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(player, treasure, fc.constantFrom(undefined, "ans", "nope")).map(
      ([playerId, treasureId, answer]): ModelInput => ({
        kind: "event",
        event: {
          id: id(),
          type: "TreasureFound",
          data: answer === undefined ? { playerId, treasureId } : { playerId, treasureId, answer },
        },
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(player, treasure).map(
      ([playerId, treasureId]): ModelInput => ({
        kind: "event",
        event: { id: id(), type: "HintTaken", data: { playerId, treasureId } },
      }),
    ),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(player, fc.integer({ min: -15, max: 15 })).map(
      ([playerId, delta]): ModelInput => ({
        kind: "event",
        event: { id: id(), type: "ScoreAdjusted", data: { playerId, delta, reason: "prop" } },
      }),
    ),
  },
  { weight: 1, arbitrary: fc.constant<ModelInput>({ kind: "invalid", eventId: null, type: null }) },
);

/** A log that starts a hunt most of the time, so that the interesting rules are reached. */
export const logArb = fc
  .tuple(fc.boolean(), fc.array(inputArb, { minLength: 0, maxLength: 120 }))
  .map(([start, rest]) => {
    if (!start) return rest;
    const create: ModelInput = {
      kind: "event",
      event: {
        id: id(),
        type: "HuntCreated",
        data: {
          title: "p",
          treasures: TREASURES.map((t, i) => ({
            id: t,
            points: i * 5,
            ...(i === 2 ? { answerSha256: ANSWER_SHA } : {}),
          })),
          rules: { firstFinderBonus: [3, 1], hintPenalty: 2 },
        },
      },
    };
    return [create, { kind: "event", event: { id: id(), type: "HuntStarted" } } as ModelInput, ...rest];
  });

export function encode(inputs: ModelInput[]) {
  return log(
    inputs.map((i) =>
      i.kind === "invalid" ? "\u0000garbage{" : { specversion: "1.0", source: "prop", ...i.event },
    ),
  );
}
