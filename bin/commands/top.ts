// `cairn top`: the leaderboard of a hunt, paged through the engine's `top` query.
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
  withConnection,
} from "../cli.ts";

const FLAGS = { ...HUNT_FLAGS, n: { type: "string" } } as const;

/** The first `n` rows of the leaderboard, in pages of at most 1000, and the seq of the last page. */
async function readTop(nc: NatsConnection, huntId: string, n: number) {
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
  return { seq, entries };
}

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
    const { seq, entries } = await withConnection("top", values, (nc) => readTop(nc, huntId, n));
    if (values.json) console.log(JSON.stringify({ seq, entries }));
    else {
      console.log(`hunt ${huntId} at seq ${seq}`);
      printEntries(entries);
    }
    return 0;
  },
};
