// `cairn top`: the leaderboard of a hunt, paged through the engine's `top` query.
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
} from "../cli.ts";

/** Prints leaderboard rows as an aligned table. */
export function printEntries(entries: RankEntry[]): void {
  const width = Math.max(6, ...entries.map((e) => e.playerId.length));
  console.log(`${"rank".padStart(7)}  ${"player".padEnd(width)}  ${"score".padStart(10)}`);
  for (const e of entries)
    console.log(
      `${String(e.rank).padStart(7)}  ${e.playerId.padEnd(width)}  ${String(e.score).padStart(10)}`,
    );
}

const FLAGS = {
  ...NATS_FLAGS,
  hunt: { type: "string" },
  n: { type: "string" },
  json: { type: "boolean" },
} as const;

export const command: Command = {
  summary: "print a hunt's leaderboard (the top N, paging as needed)",
  usage: [
    "usage: cairn top --hunt ID [--n 10] [--json] [flags]",
    "",
    "  --hunt ID   the hunt (required)",
    "  --n N      rows (default 10; pages of 1000)",
    "  --json     one JSON object",
    NATS_FLAGS_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("top", argv, FLAGS);
    const huntId = huntFlag("top", values.hunt);
    const n = intFlag("top", "n", values.n, 10, 1, 10_000_000);
    const nc = await connectCli("top", values);
    try {
      const entries: RankEntry[] = [];
      let after: string | undefined;
      let seq = 0;
      while (entries.length < n) {
        const page = await queryCli<{ seq: number; entries: RankEntry[]; next?: string }>(nc, huntId, "top", {
          n: Math.min(1000, n - entries.length),
          ...(after ? { after } : {}),
        });
        seq = page.seq;
        entries.push(...page.entries);
        if (!page.next || page.entries.length === 0) break;
        after = page.next;
      }
      if (values.json) console.log(JSON.stringify({ seq, entries }));
      else {
        console.log(`hunt ${huntId} at seq ${seq}`);
        printEntries(entries);
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
