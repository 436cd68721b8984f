// `cairn publish --hunt ID [--file events.ndjson | -]`: validates NDJSON CloudEvents and appends them to a hunt's log.
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { PubAck } from "@nats-io/jetstream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import cliProgress from "cli-progress";
import { decodeEvent } from "../../schemas/index.ts";
import { EVENTS_STREAM, eventsSubject } from "../../streams/index.ts";
import type { Command } from "../cli.ts";
import {
  connectCli,
  huntFlag,
  intFlag,
  NATS_FLAGS,
  NATS_FLAGS_USAGE,
  parseFlags,
  RuntimeError,
  UsageError,
} from "../cli.ts";

const NAME = "publish";

/** Counts reported at the end of a run. */
export interface PublishSummary {
  /** Lines read (blank lines included). */
  lines: number;
  /** Events stored. */
  published: number;
  /** Events JetStream dropped as duplicates of an id already in the window. */
  duplicate: number;
  /** Lines that failed validation (not published). */
  invalid: number;
}

export const command: Command = {
  summary: "validate NDJSON CloudEvents and append them to a hunt's log (hunt.<id>.events)",
  usage: [
    "usage: cairn publish --hunt ID [--file events.ndjson | -] [--nats URL] [--in-flight N]",
    "",
    "Reads one CloudEvent per line, validates each against schemas/, and publishes the valid ones to",
    "hunt.<ID>.events with Nats-Msg-Id = the event id (a re-run within 2 minutes is de-duplicated).",
    "Invalid lines are reported with their line number and not published; the exit code is then 1.",
    "",
    "flags:",
    "  --hunt ID         hunt id (1-64 characters of A-Z a-z 0-9 _ -)",
    "  --file PATH       NDJSON file, or - for standard input (default -)",
    "  --in-flight N     publishes awaiting their ack at once (default 1000)",
    NATS_FLAGS_USAGE,
    "",
    "example: cairn publish --hunt spring-2025 --file events.ndjson",
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      ...NATS_FLAGS,
      hunt: { type: "string" },
      file: { type: "string", default: "-" },
      "in-flight": { type: "string" },
    });
    const huntId = huntFlag(NAME, values.hunt);
    const subject = eventsSubject(huntId);
    const inFlight = intFlag(NAME, "in-flight", values["in-flight"], 1000, 1, 100_000);
    const file = values.file ?? "-";
    let size = 0;
    if (file !== "-") {
      try {
        size = statSync(file).size;
      } catch (err) {
        throw new UsageError(
          `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          "check the --file path",
        );
      }
    }
    const nc = await connectCli(NAME, values);
    const servers = nc.getServer();
    try {
      const jsm = await jetstreamManager(nc);
      try {
        await jsm.streams.info(EVENTS_STREAM);
      } catch (err) {
        throw new RuntimeError(
          "no_events_stream",
          `stream ${EVENTS_STREAM} is not available on ${servers}: ${(err as Error).message}`,
          "start the engine once (`cairn serve --nats URL`) so it creates the streams, and check JetStream is enabled (nats-server -js)",
        );
      }
      const js = jetstream(nc);
      const summary = await publishLines({
        input: file === "-" ? process.stdin : createReadStream(file),
        size,
        publish: (bytes, id) => js.publish(subject, bytes, { msgID: id }),
        inFlight,
      });
      return summary.invalid > 0 ? 1 : 0;
    } finally {
      await nc.close().catch(() => {});
    }
  },
};

/** Reads NDJSON from `input`, validates each line and publishes the valid ones with up to `inFlight` acks pending. */
export async function publishLines(options: {
  input: NodeJS.ReadableStream;
  /** Input size in bytes when known (for the progress bar), else 0. */
  size: number;
  publish(bytes: Uint8Array, msgId: string): Promise<PubAck>;
  inFlight: number;
}): Promise<PublishSummary> {
  const encoder = new TextEncoder();
  const summary: PublishSummary = { lines: 0, published: 0, duplicate: 0, invalid: 0 };
  const started = performance.now();
  const tty = process.stdout.isTTY === true;
  const bar =
    tty && options.size > 1_000_000
      ? new cliProgress.SingleBar(
          {
            format:
              "publishing [{bar}] {percentage}% | {published} published, {invalid} invalid | {rate} events/s",
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let bytesRead = 0;
  bar?.start(options.size, 0, { published: 0, invalid: 0, rate: 0 });
  let lastReport = started;
  const rate = () =>
    Math.round((summary.published + summary.duplicate) / ((performance.now() - started) / 1000));
  const progress = () => {
    const now = performance.now();
    if (bar) bar.update(bytesRead, { published: summary.published, invalid: summary.invalid, rate: rate() });
    else if (now - lastReport > 2000) {
      console.log(
        `cairn publish: ${summary.lines} lines, ${summary.published} published, ${summary.duplicate} duplicate, ${summary.invalid} invalid, ${rate()} events/s`,
      );
    } else return;
    lastReport = now;
  };

  // Publishes are pipelined: up to inFlight acks pending, awaited in order (oldest first).
  const pending: Array<Promise<PubAck>> = [];
  let head = 0;
  const settleOldest = async () => {
    const ack = await pending[head]!;
    pending[head++] = undefined as never;
    if (ack.duplicate) summary.duplicate++;
    else summary.published++;
    if (head > 4096) {
      pending.splice(0, head);
      head = 0;
    }
  };

  const lines = createInterface({ input: options.input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    summary.lines++;
    bytesRead += line.length + 1;
    if (line.trim() === "") continue;
    const bytes = encoder.encode(line);
    const decoded = decodeEvent(bytes);
    if (!decoded.ok) {
      summary.invalid++;
      const id = decoded.eventId === null ? "" : ` (event ${JSON.stringify(decoded.eventId)})`;
      bar?.stop();
      console.error(`cairn publish: line ${summary.lines}${id}: ${decoded.message}`);
      bar?.start(options.size, bytesRead, {
        published: summary.published,
        invalid: summary.invalid,
        rate: rate(),
      });
      continue;
    }
    pending.push(options.publish(bytes, decoded.event.id));
    if (pending.length - head >= options.inFlight) await settleOldest();
    if ((summary.lines & 1023) === 0) progress();
  }
  while (head < pending.length) await settleOldest();
  bar?.update(options.size, { published: summary.published, invalid: summary.invalid, rate: rate() });
  bar?.stop();
  const secs = (performance.now() - started) / 1000;
  console.log(
    `cairn publish: ${summary.published} published, ${summary.duplicate} duplicate, ${summary.invalid} invalid ` +
      `(${summary.lines} lines) in ${secs.toFixed(2)} s, ${rate()} events/s`,
  );
  if (summary.invalid > 0) {
    console.error(
      `cairn publish: fix the ${summary.invalid} invalid line(s) listed above and publish them again`,
    );
  }
  return summary;
}
