// `cairn publish --hunt ID [--file events.ndjson | -]`: validates a file of NDJSON CloudEvents as a whole,
// appends them to a hunt's log, waits for the engine to handle them and reports what it rejected.
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { JetStreamClient, JetStreamManager, PubAck } from "@nats-io/jetstream";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import cliProgress from "cli-progress";
import { decodeEvent, type Rejection, type StateReply } from "../../schemas/index.ts";
import {
  EVENTS_STREAM,
  eventsSubject,
  QueryFailedError,
  queryHunt,
  REJECTED_STREAM,
} from "../../streams/index.ts";
import {
  type Command,
  huntFlag,
  intFlag,
  NATS_FLAGS,
  NATS_FLAGS_USAGE,
  parseFlags,
  requireStream,
  UsageError,
  withConnection,
} from "../cli.ts";

const NAME = "publish";
/** Invalid lines and rejections listed one by one before the rest are only counted. */
const LIST_AT_MOST = 10;

/** One line of the input that passed validation. */
interface ValidLine {
  /** 1-based line number in the input. */
  line: number;
  /** The event id (its Nats-Msg-Id). */
  id: string;
  bytes: Uint8Array;
}

/** One line of the input that failed validation, with why. */
interface InvalidLine {
  line: number;
  message: string;
}

/** What validation found in the whole input. */
interface Validation {
  /** Lines read (blank lines included). */
  lines: number;
  valid: ValidLine[];
  invalid: InvalidLine[];
}

/** What publishing stored. */
interface PublishResult {
  /** Events stored. */
  published: number;
  /** Events JetStream dropped as duplicates of an id already in its window. */
  duplicate: number;
  /** Stream sequence of each stored event → its line number. */
  lineOfSeq: Map<number, number>;
  /** First and last stream sequence stored (0 when none). */
  firstSeq: number;
  lastSeq: number;
}

/** How far the engine got with the published events. */
type EngineProgress =
  | { kind: "handled"; seq: number }
  | { kind: "behind"; seq: number | undefined }
  | { kind: "absent"; message: string };

export const command: Command = {
  summary: "validate NDJSON CloudEvents, append them to a hunt's log and report what the engine rejected",
  usage: [
    "usage: cairn publish --hunt ID [--file events.ndjson | -] [--dry-run] [--skip-invalid]",
    "                     [--wait-ms N | --no-wait] [--in-flight N] [flags]",
    "",
    "Reads one CloudEvent per line and validates the whole input against schemas/ first, including that",
    "no event id repeats (JetStream would drop the repeat as a duplicate). If any line is invalid it lists",
    "them and publishes nothing. Otherwise it publishes every event to hunt.<ID>.events with",
    "Nats-Msg-Id = the event id, waits until the engine has handled the last one, and reports the events",
    "the engine rejected (hunt.<ID>.rejected), by code and line.",
    "",
    "Exit code 0 when every event was stored and none was rejected (or the engine could not be asked:",
    "it says so); 1 when a line was invalid, a rejection came back or a publish failed; 2 for bad flags.",
    "",
    "flags:",
    "  --hunt ID         hunt id (1-64 characters of A-Z a-z 0-9 _ -)",
    "  --file PATH       NDJSON file, or - for standard input (default -)",
    "  --dry-run         validate and report only: publish nothing (no NATS needed)",
    "  --skip-invalid    publish the valid lines even when others are invalid (still exits 1)",
    "  --wait-ms N       how long to wait for the engine to handle the events (default 10000)",
    "  --no-wait         do not wait for the engine nor read its rejections",
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
      "dry-run": { type: "boolean" },
      "skip-invalid": { type: "boolean" },
      "wait-ms": { type: "string" },
      "no-wait": { type: "boolean" },
    });
    const huntId = huntFlag(NAME, values.hunt);
    const inFlight = intFlag(NAME, "in-flight", values["in-flight"], 1000, 1, 100_000);
    const waitMs = intFlag(NAME, "wait-ms", values["wait-ms"], 10_000, 0, 3_600_000);
    if (values["no-wait"] && values["wait-ms"] !== undefined) {
      throw new UsageError("--no-wait and --wait-ms contradict each other", "drop one of them");
    }
    if (values["dry-run"] && values["skip-invalid"]) {
      throw new UsageError(
        "--dry-run publishes nothing, so --skip-invalid means nothing with it",
        "drop one of them",
      );
    }
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

    const checked = await validateLines(file === "-" ? process.stdin : createReadStream(file), size);
    reportInvalid(checked.invalid);
    const events = checked.valid.length;
    const invalid = checked.invalid.length;
    if (values["dry-run"]) {
      say(`dry run: ${events} valid, ${invalid} invalid (${checked.lines} lines); nothing published`);
      return invalid > 0 ? 1 : 0;
    }
    if (invalid > 0 && !values["skip-invalid"]) {
      console.error(
        `cairn publish: ${invalid} of ${checked.lines} lines are invalid (listed above): nothing was published`,
      );
      console.error(
        "cairn publish: fix them and publish the file again, or pass --skip-invalid to publish the valid lines only",
      );
      return 1;
    }
    if (events === 0) {
      say(`nothing to publish (${checked.lines} lines, ${invalid} invalid)`);
      return invalid > 0 ? 1 : 0;
    }

    return withConnection(NAME, values, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await requireStream(nc, jsm, EVENTS_STREAM);
      const js = jetstream(nc);
      const subject = eventsSubject(huntId);
      const started = performance.now();
      const result = await publishEvents(
        checked.valid,
        (bytes, id) => js.publish(subject, bytes, { msgID: id }),
        inFlight,
      );
      const secs = (performance.now() - started) / 1000;
      say(
        `${result.published} published, ${result.duplicate} duplicate${invalid > 0 ? `, ${invalid} invalid skipped` : ""} ` +
          `(${checked.lines} lines) in ${secs.toFixed(2)} s, ${fmt((result.published + result.duplicate) / secs)} events/s` +
          (result.published > 0 ? `; seq ${result.firstSeq}..${result.lastSeq}` : ""),
      );
      if (result.duplicate > 0) {
        say(
          `${result.duplicate} event id(s) were already in the log within the duplicate window: JetStream dropped them`,
        );
      }
      if (values["no-wait"] || result.published === 0) return invalid > 0 ? 1 : 0;

      const progress = await awaitEngine(nc, huntId, result.lastSeq, waitMs);
      if (progress.kind === "absent") {
        console.error(
          `cairn publish: the events are stored, but no engine answered for hunt ${huntId} (${progress.message})`,
        );
        console.error(
          `cairn publish: start \`cairn serve\`, then \`cairn watch --hunt ${huntId} --rejected --from-start\` shows any rejections`,
        );
        return invalid > 0 ? 1 : 0;
      }
      const handledUpTo = progress.seq ?? 0;
      const rejections = await readRejections(js, jsm, huntId, result, handledUpTo);
      const rejected = reportRejections(rejections, result.lineOfSeq);
      if (progress.kind === "behind") {
        say(
          `the engine had handled ${progress.seq === undefined ? "none" : `up to seq ${progress.seq}`} of seq ${result.firstSeq}..${result.lastSeq} after ${waitMs} ms; the rest is not checked`,
        );
      } else {
        say(`the engine handled all ${result.published}: ${rejected === 0 ? "none" : rejected} rejected`);
      }
      if (rejected > 0) {
        console.error(
          `cairn publish: the engine rejected ${rejected} of the ${result.published} published events (listed above)`,
        );
        console.error(
          "cairn publish: fix those lines and publish them with new event ids: a re-sent id within the duplicate window is dropped",
        );
        return 1;
      }
      if (progress.kind === "behind") {
        console.error(`cairn publish: the engine had not handled every published event within ${waitMs} ms`);
        console.error(
          `cairn publish: follow it with \`cairn watch --hunt ${huntId} --rejected --from-start\`, or raise --wait-ms`,
        );
      }
      return invalid > 0 ? 1 : 0;
    });
  },
};

function say(line: string): void {
  console.log(`cairn publish: ${line}`);
}

function fmt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—";
}

/**
 * Shows progress of a long phase: a bar on a terminal for inputs over 1 MB, else a plain line at most
 * every 2 s. `update(done, extra)` is cheap to call often.
 */
function progressOf(what: string, total: number, unit: string) {
  const started = performance.now();
  const rate = (done: number) => fmt(done / ((performance.now() - started) / 1000));
  const bar =
    process.stdout.isTTY === true && total > 0 && (unit === "events" ? total > 10_000 : total > 1_000_000)
      ? new cliProgress.SingleBar(
          { format: `${what} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s` },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(total, 0, { rate: 0 });
  let lastLine = started;
  return {
    update(done: number) {
      if (bar) bar.update(done, { rate: rate(done) });
      else if (performance.now() - lastLine > 2000) {
        lastLine = performance.now();
        say(`${what}: ${fmt(done)}${total > 0 ? ` of ${fmt(total)}` : ""} ${unit}, ${rate(done)} ${unit}/s`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Reads NDJSON from `input` and validates every line: each a valid event, no event id twice. */
async function validateLines(input: NodeJS.ReadableStream, size: number): Promise<Validation> {
  const encoder = new TextEncoder();
  const result: Validation = { lines: 0, valid: [], invalid: [] };
  const firstLineOf = new Map<string, number>();
  const progress = progressOf("validating", size, "bytes");
  let bytesRead = 0;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const text of lines) {
    const line = ++result.lines;
    bytesRead += text.length + 1;
    if ((line & 1023) === 0) progress.update(bytesRead);
    if (text.trim() === "") continue;
    const bytes = encoder.encode(text);
    const decoded = decodeEvent(bytes);
    if (!decoded.ok) {
      const id = decoded.eventId === null ? "" : ` (event ${JSON.stringify(decoded.eventId)})`;
      result.invalid.push({ line, message: `line ${line}${id}: ${decoded.message}` });
      continue;
    }
    const id = decoded.event.id;
    const first = firstLineOf.get(id);
    if (first !== undefined) {
      result.invalid.push({
        line,
        message: `line ${line} (event ${JSON.stringify(id)}): the id repeats line ${first}'s, so JetStream would drop this event as a duplicate`,
      });
      continue;
    }
    firstLineOf.set(id, line);
    result.valid.push({ line, id, bytes });
  }
  progress.update(size);
  progress.stop();
  return result;
}

/** Lists the first invalid lines on stderr and counts the rest. */
function reportInvalid(invalid: InvalidLine[]): void {
  for (const i of invalid.slice(0, LIST_AT_MOST)) console.error(`cairn publish: ${i.message}`);
  if (invalid.length > LIST_AT_MOST) {
    console.error(`cairn publish: … and ${invalid.length - LIST_AT_MOST} more invalid lines`);
  }
}

/** Publishes the events in order with up to `inFlight` acks pending (awaited oldest first). */
async function publishEvents(
  events: ValidLine[],
  publish: (bytes: Uint8Array, msgId: string) => Promise<PubAck>,
  inFlight: number,
): Promise<PublishResult> {
  const result: PublishResult = { published: 0, duplicate: 0, lineOfSeq: new Map(), firstSeq: 0, lastSeq: 0 };
  const progress = progressOf("publishing", events.length, "events");
  const pending: Array<Promise<PubAck>> = [];
  let settled = 0;
  const settleOldest = async () => {
    const ack = await pending[settled]!;
    pending[settled] = undefined as never; // let the ack be collected
    const line = events[settled++]!.line;
    if (ack.duplicate) {
      result.duplicate++;
      return;
    }
    result.published++;
    result.lineOfSeq.set(ack.seq, line);
    if (result.firstSeq === 0 || ack.seq < result.firstSeq) result.firstSeq = ack.seq;
    if (ack.seq > result.lastSeq) result.lastSeq = ack.seq;
  };
  try {
    for (const e of events) {
      pending.push(publish(e.bytes, e.id));
      if (pending.length - settled >= inFlight) await settleOldest();
      if ((pending.length & 1023) === 0) progress.update(settled);
    }
    while (settled < pending.length) await settleOldest();
  } finally {
    progress.stop();
  }
  return result;
}

/**
 * Waits up to `waitMs` until the engine answering `hunt.<id>.query.state` has handled `seq`. An engine
 * that does not answer at all (no responders) is absent: waiting for it would not help.
 */
async function awaitEngine(
  nc: NatsConnection,
  huntId: string,
  seq: number,
  waitMs: number,
): Promise<EngineProgress> {
  const deadline = Date.now() + waitMs;
  let handled: number | undefined;
  let pollMs = 50;
  for (;;) {
    const left = deadline - Date.now();
    try {
      const state = await queryHunt<StateReply>(nc, huntId, "state", {}, Math.max(100, Math.min(2000, left)));
      handled = state.seq;
      if (handled >= seq) return { kind: "handled", seq: handled };
    } catch (err) {
      // unknown_hunt / unavailable: the engine has not taken the hunt up yet, or it is moving; ask again.
      if (err instanceof QueryFailedError && err.code === "no_responders") {
        return { kind: "absent", message: err.message };
      }
    }
    if (Date.now() + pollMs > deadline) return { kind: "behind", seq: handled };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    pollMs = Math.min(500, pollMs * 2);
  }
}

/**
 * The engine's rejections of the published events up to `handledUpTo`, read from HUNT_REJECTED by an
 * ordered consumer on `hunt.<id>.rejected` that starts at the time the first published event was stored
 * (a rejection is stored after its input), keeping only those of the published sequences.
 */
async function readRejections(
  js: JetStreamClient,
  jsm: JetStreamManager,
  huntId: string,
  published: PublishResult,
  handledUpTo: number,
): Promise<Rejection[]> {
  const subject = `hunt.${huntId}.rejected`;
  const end = Math.min(handledUpTo, published.lastSeq);
  if (end < published.firstSeq) return [];
  // Most publishes have no rejection at all: the hunt's last one tells, without waiting on a consumer.
  const last = await jsm.direct.getMessage(REJECTED_STREAM, { last_by_subj: subject });
  if (!last || last.json<Rejection>().seq < published.firstSeq) return [];
  const first = await jsm.direct.getMessage(EVENTS_STREAM, { seq: published.firstSeq });
  if (!first) return [];
  const consumer = await js.consumers.get(REJECTED_STREAM, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: first.time.toISOString(),
  });
  const out: Rejection[] = [];
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
    let got = 0;
    // Leaving the loop as soon as nothing is pending ends the fetch, rather than waiting out `expires`.
    for await (const m of batch) {
      got++;
      const r = m.json<Rejection>();
      if (r.seq > end) return out;
      if (published.lineOfSeq.has(r.seq)) out.push(r);
      if (r.seq === end || m.info.pending === 0) return out;
    }
    if (got === 0) return out;
  }
}

/** Prints the rejections: counts by code, then the first few with their line; returns how many. */
function reportRejections(rejections: Rejection[], lineOfSeq: Map<number, number>): number {
  if (rejections.length === 0) return 0;
  const byCode = new Map<string, number>();
  for (const r of rejections) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
  say(
    `rejected by code: ${[...byCode]
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${n}`)
      .join(", ")}`,
  );
  for (const r of rejections.slice(0, LIST_AT_MOST)) {
    const id = r.eventId === null ? "" : ` (event ${JSON.stringify(r.eventId)})`;
    say(`line ${lineOfSeq.get(r.seq)}${id}, seq ${r.seq}: ${r.code}: ${r.message}`);
  }
  if (rejections.length > LIST_AT_MOST) say(`… and ${rejections.length - LIST_AT_MOST} more rejections`);
  return rejections.length;
}
