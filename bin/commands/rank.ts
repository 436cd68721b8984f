// `cairn rank`: one player's rank and score, optionally with the players around them.
import type { NatsConnection } from "@nats-io/transport-node";
import type { RankEntry } from "../../native/index.ts";
import {
  type Command,
  HUNT_FLAGS,
  huntFlag,
  intFlag,
  NATS_FLAGS_USAGE,
  parseFlags,
  printEntries,
  queryCli,
  requiredFlag,
  withConnection,
} from "../cli.ts";

const FLAGS = { ...HUNT_FLAGS, player: { type: "string" }, around: { type: "string" } } as const;

/** The player's rank and score, and with `around` the rows of up to that many players above and below. */
async function readRank(nc: NatsConnection, huntId: string, playerId: string, around: number | undefined) {
  const r = await queryCli<{ seq: number; rank: number; score: number }>(nc, huntId, "rank", { playerId });
  const near =
    around === undefined
      ? undefined
      : await queryCli<{ seq: number; entries: RankEntry[] }>(nc, huntId, "around", {
          playerId,
          before: around,
          after: around,
        });
  return { ...r, near: near?.entries };
}

export const command: Command = {
  summary: "print a player's rank and score (and --around N neighbours)",
  usage: [
    "usage: cairn rank --hunt ID --player P [--around N] [--json] [flags]",
    "",
    "  --hunt ID     the hunt (required)",
    "  --player P   the player (required)",
    "  --around N   also show N players above and below",
    "  --json       one JSON object",
    NATS_FLAGS_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("rank", argv, FLAGS);
    const huntId = huntFlag("rank", values.hunt);
    const playerId = requiredFlag("rank", "player", values.player);
    const around =
      values.around === undefined ? undefined : intFlag("rank", "around", values.around, 5, 0, 500);
    const { near, ...r } = await withConnection("rank", values, (nc) =>
      readRank(nc, huntId, playerId, around),
    );
    if (values.json) console.log(JSON.stringify({ ...r, ...(near ? { around: near } : {}) }));
    else {
      console.log(
        r.rank === 0
          ? `${playerId} is not ranked in ${huntId} (seq ${r.seq})`
          : `${playerId}: rank ${r.rank}, score ${r.score} (hunt ${huntId}, seq ${r.seq})`,
      );
      if (near && near.length > 0) printEntries(near);
    }
    return 0;
  },
};
