// The hunt input log on HUNT_EVENTS: idempotent append with optimistic concurrency, and replay from any sequence.
import type {
  Consumer,
  DirectMsgRequest,
  JetStreamClient,
  JetStreamManager,
  JetStreamPublishOptions,
  JsMsg,
} from "@nats-io/jetstream";
import { DeliverPolicy, JetStreamApiError, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { AmbiguousEventsSubjectError, assertHuntId, ConcurrencyError } from "./errors.ts";
import { storedEventsSubject } from "./partitions.ts";
import { EVENTS_STREAM } from "./setup.ts";

/** One stored input message. */
export interface LogMessage {
  /** Stream sequence: the authoritative order. */
  seq: number;
  /** JetStream timestamp (ms since epoch) stored with the message: the authoritative time, never a local clock. */
  time: number;
  /** Hunt id taken from the subject. */
  huntId: string;
  /** The subject it was stored on (`hunt.<id>.events`, or `hunt.<id>.events.<p>` when partitioned). */
  subject: string;
  /** The raw message body (a CloudEvent in JSON). */
  data: Uint8Array;
  /** Its Nats-Msg-Id header, or null when it was published without one. */
  msgId: string | null;
}

/**
 * A delivered JetStream message as a LogMessage, from what its ack subject said (`deliveryOf`). The
 * fold needs the stored time and the Nats-Msg-Id besides the body on every input, so both are read
 * the cheap way: the time from the ack subject's nanosecond token as text (the count exceeds 2^53,
 * so a float division could round it to the next millisecond), and the Nats-Msg-Id from the raw
 * header bytes, without decoding the header block.
 */
export function logMessageOf(m: JsMsg, d: Delivery, huntId: string): LogMessage {
  return {
    seq: d.streamSequence,
    time: d.timeMs,
    huntId,
    subject: m.subject,
    data: m.data,
    msgId: msgIdOf(m),
  };
}

/** The parts of nats.js's message objects read here; absent in another version, and then not used. */
interface RawJsMsg {
  reply?: string;
  msg?: { _rdata?: Uint8Array; _msg?: { hdr?: number } };
}

/** What a delivered message's ack subject says. */
export interface Delivery {
  streamSequence: number;
  deliverySequence: number;
  /** Messages left for the consumer after this one. */
  pending: number;
  /** Whole milliseconds of the stored time, computed exactly. */
  timeMs: number;
}

/** A Delivery to fill again for each message of a read (each read its own: reads may interleave). */
export function newDelivery(): Delivery {
  return { streamSequence: 0, deliverySequence: 0, pending: 0, timeMs: 0 };
}

/**
 * Reads a delivered message's ack subject into `into`, in one scan of the subject. nats.js's `m.info`
 * splits the subject and builds an object for each message (about 0.7 µs, and the time took a second
 * scan), which the engine's durable consumer would pay for every input; an ordered consumer has nats.js
 * parse `m.info` for itself anyway. A subject of another form is left to nats.js.
 */
export function deliveryOf(m: JsMsg, into: Delivery = newDelivery()): Delivery {
  const reply = (m as unknown as RawJsMsg).reply;
  if (typeof reply === "string" && readAckSubject(reply, into)) return into;
  const info = m.info;
  into.streamSequence = info.streamSequence;
  into.deliverySequence = info.deliverySequence;
  into.pending = info.pending;
  into.timeMs = Number(m.timestampNanos / 1_000_000n);
  return into;
}

/** Where each of an ack subject's first tokens ends (the dot after it, or the subject's end). */
const ends = new Int32Array(12);

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ns>.<pending>`, or with a domain and an
 * account hash after ACK (11 tokens, and maybe more after them), as nats.js reads them.
 */
function readAckSubject(s: string, d: Delivery): boolean {
  if (!s.startsWith("$JS.ACK.")) return false;
  let n = 0;
  for (let i = 0; i < s.length && n < ends.length; i++) if (s.charCodeAt(i) === 46) ends[n++] = i;
  const tokens = n < ends.length ? n + 1 : n;
  if (n < ends.length) ends[n] = s.length;
  const sseq = tokens === 9 ? 5 : tokens >= 11 ? 7 : -1;
  if (sseq < 0) return false;
  const streamSequence = digits(s, ends[sseq - 1]! + 1, ends[sseq]!);
  const deliverySequence = digits(s, ends[sseq]! + 1, ends[sseq + 1]!);
  // Nanoseconds to whole milliseconds: the last 6 digits dropped.
  const timeMs = digits(s, ends[sseq + 1]! + 1, ends[sseq + 2]! - 6);
  const pending = digits(s, ends[sseq + 2]! + 1, ends[sseq + 3]!);
  if (streamSequence < 0 || deliverySequence < 0 || timeMs < 0 || pending < 0) return false;
  d.streamSequence = streamSequence;
  d.deliverySequence = deliverySequence;
  d.pending = pending;
  d.timeMs = timeMs;
  return true;
}

/** The decimal number s[from, to), or -1 when it is empty, not all digits, or not a safe integer. */
function digits(s: string, from: number, to: number): number {
  if (to <= from) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return Number.isSafeInteger(v) ? v : -1;
}

const MSG_ID = Buffer.from("Nats-Msg-Id:", "latin1");

/** The Nats-Msg-Id header, or null when the message has none (an empty value counts as none). */
export function msgIdOf(m: JsMsg): string | null {
  const raw = (m as unknown as RawJsMsg).msg;
  const hdr = raw?._msg?.hdr;
  const bytes = raw?._rdata;
  if (typeof hdr !== "number" || !(bytes instanceof Uint8Array)) return m.headers?.get("Nats-Msg-Id") || null;
  if (hdr < 0) return null;
  const block = Buffer.from(bytes.buffer, bytes.byteOffset, hdr);
  // Read it as nats-server does: the first `Nats-Msg-Id:` in the block, which must start a line.
  const at = block.indexOf(MSG_ID);
  if (at < 2 || block[at - 2] !== 0x0d || block[at - 1] !== 0x0a) return null;
  let from = at + MSG_ID.length;
  while (block[from] === 0x20 || block[from] === 0x09) from++;
  let end = block.indexOf(0x0d, from);
  if (end < 0) end = hdr;
  while (end > from && (block[end - 1] === 0x20 || block[end - 1] === 0x09)) end--;
  const id = block.toString("utf8", from, end);
  return id === "" ? null : id;
}

/** Result of an append. */
export interface AppendResult {
  /** Stream sequence of the stored event (of the original when it was a duplicate). */
  seq: number;
  /** True when JetStream dropped it as a duplicate of an event with the same id within the window. */
  duplicate: boolean;
}

/** Options of append. */
export interface AppendOptions {
  /** Fail with ConcurrencyError unless the hunt's last event is at this stream sequence (0 = no events yet). */
  expectLastSeq?: number;
  /** The Nats-Msg-Id; default the event's `id` (parsed from the bytes when the event is a Uint8Array). */
  msgId?: string;
}

/** Options of read. */
export interface ReadOptions {
  /** Stop after this stream sequence (inclusive). Default: the hunt's last event when reading started. */
  untilSeq?: number;
  /** Messages requested per pull (default 1000). */
  batch?: number;
}

/** The subject of a hunt's input events. */
export function eventsSubject(huntId: string): string {
  assertHuntId(huntId);
  return `hunt.${huntId}.events`;
}

/**
 * Where a hunt's events are stored in HUNT_EVENTS: each subject holding some (`hunt.<id>.events`, or
 * `hunt.<id>.events.<p>` behind a partition mapping), with its message count. Empty when it has none.
 */
export async function storedEventSubjects(
  jsm: JetStreamManager,
  huntId: string,
): Promise<Record<string, number>> {
  const base = eventsSubject(huntId);
  // One request: in HUNT_EVENTS, hunt.<id>.> matches the hunt's events subjects and nothing else.
  const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: `hunt.${huntId}.>` });
  const stored: Record<string, number> = {};
  for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
    if (subject === base || subject.startsWith(`${base}.`)) stored[subject] = count;
  }
  return stored;
}

/** Takes the hunt id out of `hunt.<id>.<anything>`. */
export function huntIdOf(subject: string): string {
  const end = subject.indexOf(".", 5);
  return subject.slice(5, end < 0 ? undefined : end);
}

/** A JetStreamClient from either a client or a plain connection. */
export function toJetStream(conn: JetStreamClient | NatsConnection): JetStreamClient {
  return "consumers" in conn && "publish" in conn && "jetstreamManager" in conn
    ? (conn as JetStreamClient)
    : jetstream(conn as NatsConnection);
}

const WRONG_LAST_SEQUENCE = 10071;
/** A read that goes one to two of these without a message checks that its range still has events to come. */
const READ_IDLE_CHECK_MS = 2_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Append to and read from hunts' input logs. */
export class EventLog {
  private readonly js: JetStreamClient;
  private jsmPromise: Promise<JetStreamManager> | undefined;

  /**
   * Takes a JetStream client (and its manager, else one is made) or a plain connection, and the
   * number of partitions the server maps hunts to (0: none). Without it, the log looks up where each
   * hunt's events are stored (one stream info request per read), which a tool that does not know the
   * deployment (a replay, an audit) wants; an engine knows its partitions and passes them.
   */
  constructor(
    conn: JetStreamClient | NatsConnection,
    jsm?: JetStreamManager,
    private readonly partitions?: number,
  ) {
    this.js = toJetStream(conn);
    if (jsm) this.jsmPromise = Promise.resolve(jsm);
  }

  private manager(): Promise<JetStreamManager> {
    this.jsmPromise ??= this.js.jetstreamManager();
    return this.jsmPromise;
  }

  /**
   * Appends one event to `hunt.<id>.events` with Nats-Msg-Id = its id, so a retry within the duplicate window
   * is dropped (duplicate: true). With expectLastSeq, a concurrent writer makes it throw ConcurrencyError.
   */
  async append(
    huntId: string,
    event: object | Uint8Array,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const subject = eventsSubject(huntId);
    let bytes: Uint8Array;
    let msgId = options.msgId;
    if (event instanceof Uint8Array) {
      bytes = event;
      if (msgId === undefined) msgId = idOf(JSON.parse(decoder.decode(event)));
    } else {
      bytes = encoder.encode(JSON.stringify(event));
      if (msgId === undefined) msgId = idOf(event);
    }
    const opts: Partial<JetStreamPublishOptions> = {};
    if (msgId) opts.msgID = msgId;
    if (options.expectLastSeq !== undefined) opts.expect = { lastSubjectSequence: options.expectLastSeq };
    try {
      const ack = await this.js.publish(subject, bytes, opts);
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) {
        const m = /wrong last sequence: (\d+)/.exec(err.message);
        throw new ConcurrencyError(huntId, options.expectLastSeq ?? 0, m ? Number(m[1]) : undefined);
      }
      throw err;
    }
  }

  /**
   * The subject the hunt's events are stored under: from the partition count when given, else looked up
   * (`hunt.<id>.events` for a hunt with none yet). Throws AmbiguousEventsSubjectError when the hunt has
   * events under several subjects.
   */
  async storedSubject(huntId: string): Promise<string> {
    if (this.partitions !== undefined) return storedEventsSubject(huntId, this.partitions);
    const stored = await storedEventSubjects(await this.manager(), huntId);
    const subjects = Object.keys(stored);
    if (subjects.length > 1) throw new AmbiguousEventsSubjectError(huntId, stored);
    return subjects[0] ?? eventsSubject(huntId);
  }

  /** The stream sequence of the hunt's last event, 0 when it has none. */
  async lastSeq(huntId: string): Promise<number> {
    return this.lastSeqOn(await this.storedSubject(huntId));
  }

  private lastSeqOn(subject: string): Promise<number> {
    return this.seqOf({ last_by_subj: subject });
  }

  /** The stream sequence of the event a direct get asks for, 0 when there is none. */
  private async seqOf(request: DirectMsgRequest): Promise<number> {
    const m = await (await this.manager()).direct.getMessage(EVENTS_STREAM, request);
    return m ? m.seq : 0;
  }

  /**
   * Reads the hunt's events from `fromSeq` (inclusive) in order, up to `untilSeq` or the last event as of when
   * reading started, through an ordered consumer filtered to the hunt's subject, one message at a time.
   */
  async *read(huntId: string, fromSeq: number, options: ReadOptions = {}): AsyncGenerator<LogMessage> {
    for await (const batch of this.readBatches(huntId, fromSeq, options)) yield* batch;
  }

  /**
   * Where a read of the hunt's log from `fromSeq` ends, and the ordered consumer that reads it;
   * undefined when there is nothing to read.
   */
  private async range(
    huntId: string,
    fromSeq: number,
    options: ReadOptions,
  ): Promise<{ subject: string; first: number; end: number; consumer: Consumer } | undefined> {
    const subject = await this.storedSubject(huntId);
    // The range's first event, through the stream's index of the subject: a range that holds none
    // (a new hunt's activation reads up to the event that made it) needs no consumer, which costs
    // the server several times as much to make and delete.
    const start = Math.max(1, Math.floor(fromSeq));
    if (start > Number.MAX_SAFE_INTEGER) return undefined; // past any stream's end (JSON has no Infinity)
    const first = await this.seqOf({ seq: start, next_by_subj: subject });
    if (first === 0 || (options.untilSeq !== undefined && first > options.untilSeq)) return undefined;
    const last = await this.lastSeqOn(subject);
    const end = options.untilSeq === undefined ? last : Math.min(options.untilSeq, last);
    const consumer = await this.js.consumers.get(EVENTS_STREAM, {
      filter_subjects: subject, // a string: 2.9 refuses filter_subjects arrays
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: first,
    });
    return { subject, first, end, consumer };
  }

  /**
   * The same as `readBatches`, paced by the reader: each pull asks for the next batch only once the
   * previous one is taken (one pull ahead), so a reader slower than the log holds at most two batches
   * instead of the rest of the log. For work that runs beside the engine's own (a ledger), which
   * must not fill the engine's memory while it folds.
   */
  async *readPaced(huntId: string, fromSeq: number, options: ReadOptions = {}): AsyncGenerator<LogMessage[]> {
    const range = await this.range(huntId, fromSeq, options);
    if (!range) return;
    const { end, consumer } = range;
    const max = options.batch ?? 1000;
    let last = { seq: 0, pending: 1 };
    const delivery = newDelivery();
    let pull: Promise<LogMessage[]> | undefined;
    // A pull asks for no more than the consumer says remain (after the first, which asks for one), so
    // that it ends on its last message rather than waiting for its expiry.
    const fetchBatch = async (ask: number): Promise<LogMessage[]> => {
      const messages = await consumer.fetch({ max_messages: ask, expires: 5_000 });
      const batch: LogMessage[] = [];
      for await (const m of messages) {
        const d = deliveryOf(m, delivery);
        last = { seq: d.streamSequence, pending: d.pending };
        if (d.streamSequence <= end) batch.push(logMessageOf(m, d, huntId));
      }
      return batch;
    };
    try {
      let next = fetchBatch(1);
      pull = next;
      for (;;) {
        const batch = await next;
        const done = last.seq >= end || last.pending === 0;
        if (batch.length === 0 && !done) {
          throw new Error(`reading hunt "${huntId}" stopped at seq ${last.seq}, before seq ${end}`);
        }
        if (!done) {
          next = fetchBatch(Math.min(max, last.pending));
          pull = next;
        }
        if (batch.length > 0) yield batch;
        if (done) return;
      }
    } finally {
      // A reader that stops early leaves no pull running and no consumer behind on the server.
      await pull?.catch(() => {});
      void consumer.delete().catch(() => {});
    }
  }

  /**
   * The same as `read`, in batches: the messages each socket read delivers (up to `options.batch`), with
   * no promise per message, so that a replay runs at the speed of the consumer.
   */
  async *readBatches(
    huntId: string,
    fromSeq: number,
    options: ReadOptions = {},
  ): AsyncGenerator<LogMessage[]> {
    const range = await this.range(huntId, fromSeq, options);
    if (!range) return;
    const { subject, end, consumer } = range;
    const max = options.batch ?? 1000;
    const ready: LogMessage[][] = [];
    /** Messages delivered, and the stream seq of the last one. */
    let received = 0;
    let lastSeq = range.first - 1;
    let batch: LogMessage[] = [];
    let done = false;
    let flushScheduled = false;
    let wake: (() => void) | undefined;
    const signal = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const flush = () => {
      flushScheduled = false;
      if (batch.length > 0) {
        ready.push(batch);
        batch = [];
      }
      signal();
    };
    const delivery = newDelivery();
    const messages = await consumer.consume({
      max_messages: max,
      callback: (m) => {
        if (done) return;
        const d = deliveryOf(m, delivery);
        const seq = d.streamSequence;
        received++;
        lastSeq = seq;
        if (seq <= end) {
          batch.push(logMessageOf(m, d, huntId));
        }
        if (seq >= end || d.pending === 0) {
          done = true;
          flush();
        } else if (batch.length >= max) {
          flush();
        } else if (!flushScheduled) {
          flushScheduled = true;
          queueMicrotask(flush);
        }
      },
    });
    // A consume that ends before the last message (connection closed, consumer lost) ends the read
    // with its reason, instead of leaving the reader waiting for messages that will not come.
    let failure: Error | undefined;
    const fail = (err: Error) => {
      if (done) return;
      failure = err;
      done = true;
      signal();
    };
    void messages.closed().then((err) => {
      fail(err instanceof Error ? err : new Error(`reading hunt "${huntId}" stopped before seq ${end}`));
    });
    // Nor does a read wait for ever for events that are gone: when every event of the range after the
    // last one delivered is purged (or aged out) after the range was sized, none is delivered and
    // nothing else would end the read. When no message has come for one to two ticks, it asks the
    // stream whether any event of its range is left after the last one delivered, and fails when none
    // is. (Events purged from the middle of a range are skipped by the consumer: no read can see that.)
    let checked = -1;
    const watchdog = setInterval(() => {
      if (done) {
        clearInterval(watchdog); // delivered in full, the reader still taking the last batches
        return;
      }
      if (received !== checked) {
        checked = received;
        return;
      }
      const after = lastSeq;
      void this.seqOf({ seq: after + 1, next_by_subj: subject }).then(
        (next) => {
          if (received !== checked || (next !== 0 && next <= end)) return;
          fail(
            new Error(
              `reading hunt "${huntId}": its events after seq ${after} up to seq ${end} are no longer in the stream (purged or aged out while it was read)`,
            ),
          );
        },
        () => {}, // the next check asks again
      );
    }, READ_IDLE_CHECK_MS);
    watchdog.unref();
    try {
      while (!done || ready.length > 0) {
        const next = ready.shift();
        if (next) yield next;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure) throw failure;
    } finally {
      done = true;
      clearInterval(watchdog);
      await messages.close().catch(() => {});
      // An ordered consumer outlives its reader by its inactivity threshold (minutes) unless it is
      // deleted: one per activation would pile up on the server with thousands of hunts. Not awaited:
      // while a server restarts the request may take seconds, and the read is over.
      void consumer.delete().catch(() => {});
    }
  }
}

function idOf(event: unknown): string | undefined {
  const id = (event as { id?: unknown } | null)?.id;
  return typeof id === "string" && id !== "" ? id : undefined;
}
