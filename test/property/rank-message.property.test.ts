// The rank messages the engine writes as bytes (rankMessage) against JSON.stringify of the same
// message: for every id (ASCII, quotes, backslashes, controls, any Unicode, lone surrogates) and every
// number (safe integers at their edges, -0, fractions, NaN, infinities), the bytes are the ones
// JSON.stringify gives, UTF-8 encoded, for a player's message and for a team's.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PLAYER_RANK_KEYS, rankMessage, TEAM_RANK_KEYS } from "../../streams/index.ts";

const number = fc.oneof(
  { weight: 6, arbitrary: fc.maxSafeInteger() },
  { weight: 3, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(-0, 0.5, -1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 53)),
  },
  { weight: 1, arbitrary: fc.double() },
);
const id = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary" }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  },
);

describe("rankMessage", () => {
  it("writes exactly the bytes JSON.stringify gives for the message, a player's and a team's", () => {
    fc.assert(
      fc.property(
        id,
        number,
        number,
        number,
        number,
        number,
        (who, seq, score, rank, previousRank, count) => {
          const player = { seq, playerId: who, score, rank, previousRank, players: count };
          const team = { seq, teamId: who, score, rank, previousRank, teams: count };
          expect(
            Buffer.from(rankMessage(PLAYER_RANK_KEYS, seq, who, score, rank, previousRank, count)),
          ).toEqual(Buffer.from(JSON.stringify(player)));
          expect(
            Buffer.from(rankMessage(TEAM_RANK_KEYS, seq, who, score, rank, previousRank, count)),
          ).toEqual(Buffer.from(JSON.stringify(team)));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
