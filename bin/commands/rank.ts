// `cairn rank`: one player's rank and score, optionally with the players around them.
import type { RankEntry } from "../../native/index.ts";
import {
  type Command,
  connectCli,
  huntFlag,
  intFlag,
  NATS_FLAGS,
  NATS_FLAGS_USAGE,
  parseFlags,
  queryCli,
  requiredFlag,
} from "../cli.ts";
import { printEntries } from "./top.ts";

const FLAGS = {
  ...NATS_FLAGS,
  hunt: { type: "string" },
  player: { type: "string" },
  around: { type: "string" },
  json: { type: "boolean" },
} as const;

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
    const nc = await connectCli("rank", values);
    try {
      const r = await queryCli<{ seq: number; rank: number; score: number }>(nc, huntId, "rank", {
        playerId,
      });
      const near =
        around === undefined
          ? undefined
          : await queryCli<{ seq: number; entries: RankEntry[] }>(nc, huntId, "around", {
              playerId,
              before: around,
              after: around,
            });
      if (values.json) console.log(JSON.stringify({ ...r, ...(near ? { around: near.entries } : {}) }));
      else {
        console.log(
          r.rank === 0
            ? `${playerId} is not ranked in ${huntId} (seq ${r.seq})`
            : `${playerId}: rank ${r.rank}, score ${r.score} (hunt ${huntId}, seq ${r.seq})`,
        );
        if (near && near.entries.length > 0) printEntries(near.entries);
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
