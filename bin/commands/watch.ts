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
      // Each stream is in log order, but the two arrive independently: lines wait in a merge until
      // the other stream has gone past their seq (or stayed quiet for a moment), so that what is
      // printed follows the log. Live, a message can also arrive twice (the engine sends an output
      // again until JetStream confirms it): its Nats-Msg-Id drops the copy.
      const merge = new SeqMerge(streams.length, (line) => console.log(line), {
        holdMs: values["from-start"] ? 1000 : 200,
      });
      // Live, a plain subscription does (what a subscriber's permissions allow); the stored history
      // needs an ordered consumer on the stream.
      const follow = async (
        index: number,
        stream: string,
        subject: string,
        show: (body: string) => string,
      ) => {
        const take = (body: string, msgId: string | undefined) => {
          let seq: unknown;
          try {
            seq = (JSON.parse(body) as { seq?: unknown }).seq;
          } catch {
            seq = undefined;
          }
          const line = values.json ? body : typeof seq === "number" ? show(body) : body;
          merge.push(index, typeof seq === "number" ? seq : undefined, line, msgId);
        };
        if (!values["from-start"]) {
          for await (const m of nc.subscribe(subject)) take(m.string(), m.headers?.get("Nats-Msg-Id"));
          return;
        }
        const consumer = await js.consumers.get(stream, {
          filter_subjects: subject,
          deliver_policy: DeliverPolicy.All,
        });
        for await (const m of await consumer.consume()) take(m.string(), undefined);
      };
      console.error(`watching hunt ${huntId} (Ctrl-C stops)`);
      let onSignal: (() => void) | undefined;
      const stop = new Promise<void>((resolve) => {
        onSignal = resolve;
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      const watchers = [
        follow(0, RANKS_STREAM, `hunt.${huntId}.ranks`, (b) => describe(JSON.parse(b) as RankChange)),
      ];
      if (values.rejected) {
        watchers.push(
          follow(1, REJECTED_STREAM, `hunt.${huntId}.rejected`, (b) => {
            const r = JSON.parse(b) as Rejection;
            return `seq ${String(r.seq).padStart(8)}  REJECTED ${r.code}: ${r.message}${r.type ? ` (${r.type})` : ""}`;
          }),
        );
      }
      try {
        await Promise.race([stop, ...watchers]);
      } finally {
        // What is still held is printed, in order, before the process goes.
        merge.close();
        if (onSignal) {
          process.removeListener("SIGINT", onSignal);
          process.removeListener("SIGTERM", onSignal);
        }
      }
      return 0;
    } finally {
      // Closing also ends the other watchers, so a failure of one cannot leave the process hanging.
      await nc.close().catch(() => {});
    }
  },
};

/**
 * Merges streams that are each in non-decreasing seq order into one in seq order. A message waits
 * until every other stream has delivered something at or past its seq (each input seq has outputs
 * on one stream only, so nothing earlier can come from there any more), or until it has waited
 * `holdMs`, for a stream that is quiet. Messages without a seq, and those arriving after later ones
 * were released, go out at once.
 */
export class SeqMerge {
  private readonly pending: { seq: number; line: string; at: number }[] = [];
  /** Per stream: the highest seq it delivered. */
  private readonly reached: number[];
  private released = -1;
  private timer: NodeJS.Timeout | undefined;
  private readonly holdMs: number;
  /** Nats-Msg-Ids seen lately, to drop a message delivered twice. */
  private readonly seen = new Set<string>();

  constructor(
    streams: number,
    private readonly emit: (line: string) => void,
    options: { holdMs?: number } = {},
  ) {
    this.reached = new Array<number>(streams).fill(-1);
    this.holdMs = options.holdMs ?? 200;
  }

  push(stream: number, seq: number | undefined, line: string, msgId?: string): void {
    if (msgId !== undefined) {
      if (this.seen.has(msgId)) return;
      this.seen.add(msgId);
      if (this.seen.size > 10_000) this.seen.delete(this.seen.values().next().value as string);
    }
    if (seq === undefined || seq < this.released) {
      this.emit(line);
      return;
    }
    this.reached[stream] = Math.max(this.reached[stream]!, seq);
    // Nearly always an append: each stream is in order, and the other is rarely far behind.
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.seq > seq) i--;
    this.pending.splice(i, 0, { seq, line, at: performance.now() });
    this.release();
  }

  /** Releases every message nothing can come before any more, then waits for the next one's hold. */
  private release(): void {
    const now = performance.now();
    const low = Math.min(...this.reached);
    let n = 0;
    while (n < this.pending.length) {
      const head = this.pending[n]!;
      if (head.seq > low && now - head.at < this.holdMs) break;
      n++;
    }
    for (const m of this.pending.splice(0, n)) {
      this.released = m.seq;
      this.emit(m.line);
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    const head = this.pending[0];
    if (head) {
      this.timer = setTimeout(() => this.release(), Math.max(0, head.at + this.holdMs - now));
      this.timer.unref();
    }
  }

  /** Releases everything held, in order, and stops the timer. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const m of this.pending.splice(0)) {
      this.released = m.seq;
      this.emit(m.line);
    }
  }
}
