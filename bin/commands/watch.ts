// `cairn watch`: a live view of a hunt's rank stream (and, with --rejected, its rejections).
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { RankChange, Rejection } from "../../schemas/index.ts";
import { RANKS_STREAM, REJECTED_STREAM } from "../../streams/index.ts";
import {
  type Command,
  connectCli,
  huntFlag,
  NATS_FLAGS,
  NATS_FLAGS_USAGE,
  parseFlags,
  requireStream,
} from "../cli.ts";

const FLAGS = {
  ...NATS_FLAGS,
  hunt: { type: "string" },
  "from-start": { type: "boolean" },
  rejected: { type: "boolean" },
  json: { type: "boolean" },
} as const;

function describe(m: RankChange): string {
  const move =
    m.previousRank === 0
      ? "joined"
      : m.rank === 0
        ? "left"
        : m.rank < m.previousRank
          ? `↑${m.previousRank - m.rank}`
          : m.rank > m.previousRank
            ? `↓${m.rank - m.previousRank}`
            : "=";
  return `seq ${String(m.seq).padStart(8)}  ${m.playerId.padEnd(16)} score ${String(m.score).padStart(8)}  rank ${String(m.rank).padStart(7)}  ${move.padEnd(7)} players ${m.players}`;
}

export const command: Command = {
  summary: "follow a hunt's rank changes live (--rejected adds rejections)",
  usage: [
    "usage: cairn watch --hunt ID [--from-start] [--rejected] [--json] [flags]",
    "",
    "  --hunt ID       the hunt (required)",
    "  --from-start    replay the stored rank stream first (HUNT_RANKS keeps 24 h by default); needs",
    "                  permission to create consumers, where live watching needs only to subscribe",
    "  --rejected      also show rejections",
    "  --json          raw JSON lines",
    NATS_FLAGS_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("watch", argv, FLAGS);
    const huntId = huntFlag("watch", values.hunt);
    const nc = await connectCli("watch", values);
    try {
      const js = jetstream(nc);
      const streams = values.rejected ? [RANKS_STREAM, REJECTED_STREAM] : [RANKS_STREAM];
      // The stored history needs the streams: say so now rather than fail inside a watcher.
      if (values["from-start"]) {
        const jsm = await jetstreamManager(nc);
        for (const stream of streams) await requireStream(nc, jsm, stream);
      }
      // Live, a plain subscription does (what a subscriber's permissions allow); the stored history
      // needs an ordered consumer on the stream.
      const follow = async (stream: string, subject: string, show: (body: string) => string) => {
        const print = (body: string) => console.log(values.json ? body : show(body));
        if (!values["from-start"]) {
          for await (const m of nc.subscribe(subject)) print(m.string());
          return;
        }
        const consumer = await js.consumers.get(stream, {
          filter_subjects: subject,
          deliver_policy: DeliverPolicy.All,
        });
        for await (const m of await consumer.consume()) print(m.string());
      };
      console.error(`watching hunt ${huntId} (Ctrl-C stops)`);
      const stop = new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
      const watchers = [
        follow(RANKS_STREAM, `hunt.${huntId}.ranks`, (b) => describe(JSON.parse(b) as RankChange)),
      ];
      if (values.rejected) {
        watchers.push(
          follow(REJECTED_STREAM, `hunt.${huntId}.rejected`, (b) => {
            const r = JSON.parse(b) as Rejection;
            return `seq ${String(r.seq).padStart(8)}  REJECTED ${r.code}: ${r.message}${r.type ? ` (${r.type})` : ""}`;
          }),
        );
      }
      await Promise.race([stop, ...watchers]);
      return 0;
    } finally {
      // Closing also ends the other watchers, so a failure of one cannot leave the process hanging.
      await nc.close().catch(() => {});
    }
  },
};
