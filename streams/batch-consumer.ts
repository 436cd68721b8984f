// The engine's hot input path: a durable pull consumer whose deliveries are folded in batches and acked once per batch.
import type {
  ConsumerConfig,
  ConsumerInfo,
  ConsumerMessages,
  JetStreamClient,
  JsMsg,
} from "@nats-io/jetstream";
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import { noteJetStreamFailure } from "./connection.ts";
import type { LogMessage } from "./event-log.ts";
import { deliveryOf, huntIdOf, logMessageOf, newDelivery, toJetStream } from "./event-log.ts";
import { EVENTS_STREAM } from "./setup.ts";

/**
 * Missed heartbeats in a row (one a second while a pull waits) after which the consumer starts over
 * rather than wait on nats.js's own recovery.
 */
const RESET_AFTER_MISSED_HEARTBEATS = 6;

/** Stalled checks in a row (see `stallCheckMs`) after which the consumer starts over. */
const RESET_AFTER_STALLED_CHECKS = 2;

/** Options of consumeBatches. */
export interface BatchConsumerOptions {
  /** Stream to consume (default HUNT_EVENTS). */
  stream?: string;
  /** Durable consumer name (created if missing). */
  durable: string;
  /**
   * One subject filter, e.g. `hunt.*.events.3` or `hunt.h1.events` (a string: 2.9 refuses arrays), or
   * none for the whole stream. On 2.9 a wildcard filter over many subjects makes the server slow to
   * deliver, so a consumer of the whole stream should not filter at all.
   */
  filterSubject?: string | undefined;
  /** Messages per pull and the largest batch handed to onBatch (default 1000). */
  maxMessages?: number;
  /**
   * Folds one batch, in stream order. Called synchronously when the previous batch is done; if it returns a
   * promise, later batches wait for it. The batch is acked (one ack of its last message) after it completes.
   * If it throws or rejects, the batch is not acked and the consumer stops (see `closed`).
   */
  onBatch(batch: LogMessage[]): void | Promise<void>;
  /**
   * Position the durable so the next message is the first at or after this stream sequence (recovery from a
   * snapshot at seq S passes S + 1). Without it, an existing durable resumes after its ack floor.
   */
  startSeq?: number;
  /**
   * Asked during the start, before the durable is deleted or created and before the first pull: true
   * makes the start fail without either. A start given up by its caller (a deadline passed, the
   * partition went to another engine) must not pull: a pull lives on in the server after the caller
   * stops, and the messages it takes stay unacked, hidden from whoever consumes the durable next,
   * until ack_wait passes.
   */
  abandoned?: () => boolean;
  /** How long the server waits for an ack before redelivering, ms (default 30 s). */
  ackWaitMs?: number;
  /** Most delivered-but-unacked messages, the bound on buffered input (default 20,000). */
  maxAckPending?: number;
  /**
   * How often an idle consumer that has received nothing since the last look asks the server about
   * its durable (default 3000 ms). Twice in a row with messages pending that never come, with
   * deliveries it never saw, or with no answer about the durable while JetStream itself answers, and
   * it starts over after the last message handed over: a pull it does not own (an earlier engine's,
   * or its own from before a restart) can hold messages unacked until the ack wait, and a consumer
   * whose leader does not answer leaves nats.js asking in silence, with no pull to miss heartbeats on.
   * When JetStream does not answer at all (a disconnect, an election), that is no stall: nats.js and
   * the heartbeats deal with it.
   */
  stallCheckMs?: number;
  /** Told about consumer notifications and resets (for logs and /healthz). */
  onStatus?(status: BatchConsumerStatus): void;
  /** Structured logger (pino-compatible) for the same status reports. */
  logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** A status report from the consumer. */
export interface BatchConsumerStatus {
  /** running, resetting (re-creating after lost deliveries or a deleted consumer), stopped, failed. */
  state: BatchConsumerState;
  /** The nats.js notification or event behind it, e.g. "heartbeats_missed", "delivery_gap". */
  reason: string;
  /** Details for logs. */
  detail?: string;
}

/** Lifecycle state of a batch consumer. */
export type BatchConsumerState = "starting" | "running" | "resetting" | "stopped" | "failed";

/** Counters of a batch consumer. */
export interface BatchConsumerStats {
  /** Current state. */
  state: BatchConsumerState;
  /** Batches handed to onBatch. */
  batches: number;
  /** Messages handed to onBatch. */
  messages: number;
  /** Stream sequence of the last message handed to onBatch. */
  lastSeq: number;
  /** Stream sequence of the last ack sent. */
  ackedSeq: number;
  /** Redelivered messages dropped because they were already handed over. */
  redeliveriesSkipped: number;
  /** Times the consume loop was re-created (lost deliveries, deleted consumer, closed iterator). */
  resets: number;
  /** Batches waiting for an asynchronous onBatch to finish. */
  queuedBatches: number;
}

/** A running batch consumer. */
export interface BatchConsumer {
  /** Live counters. */
  readonly stats: Readonly<BatchConsumerStats>;
  /** The first stream sequence this consumer could deliver when it started (after the durable's ack floor). */
  readonly startSeq: number;
  /** The stream's last sequence now (for lag: streamLastSeq - stats.lastSeq). */
  streamLastSeq(): Promise<number>;
  /** Stops fetching, finishes the batches in hand, acks them. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves when stopped: with undefined, or with the error that stopped it (onBatch threw). */
  readonly closed: Promise<Error | undefined>;
}

interface Pending {
  batch: LogMessage[];
  last: JsMsg;
}

/** The durable consumer configuration used by consumeBatches. */
export function batchConsumerConfig(
  options: Pick<BatchConsumerOptions, "durable" | "filterSubject" | "ackWaitMs" | "maxAckPending">,
  startSeq?: number,
): Partial<ConsumerConfig> {
  const config: Partial<ConsumerConfig> = {
    durable_name: options.durable,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    ack_wait: nanos(options.ackWaitMs ?? 30_000),
    max_ack_pending: options.maxAckPending ?? 20_000,
    max_deliver: -1,
  };
  if (options.filterSubject) config.filter_subject = options.filterSubject;
  if (startSeq !== undefined && startSeq > 1) {
    config.deliver_policy = DeliverPolicy.StartSequence;
    config.opt_start_seq = startSeq;
  }
  return config;
}

/** Whether a durable filters and acks as `want` says, with nothing delivered but unacked or redelivered. */
function isCleanAs(info: ConsumerInfo, want: Partial<ConsumerConfig>): boolean {
  const c = info.config;
  return (
    (c.filter_subject ?? "") === (want.filter_subject ?? "") &&
    c.ack_policy === want.ack_policy &&
    info.num_ack_pending === 0 &&
    info.num_redelivered === 0
  );
}

/** Whether a durable is configured as `want` positions it and has never delivered anything. */
function isFreshAt(info: ConsumerInfo, want: Partial<ConsumerConfig>): boolean {
  const c = info.config;
  return (
    isCleanAs(info, want) &&
    c.deliver_policy === want.deliver_policy &&
    (c.opt_start_seq ?? 0) === (want.opt_start_seq ?? 0) &&
    info.delivered.consumer_seq === 0
  );
}

/**
 * Consumes `filterSubject` of `stream` through the durable pull consumer `durable` (AckPolicy.All), handing
 * messages to onBatch in batches: everything delivered in one tick is one batch (flushed from a microtask),
 * and each batch is acked once, by its last message, after onBatch completes.
 *
 * Order is kept across failures: a redelivery of something already handed over is dropped, and a gap in the
 * consumer's delivery sequence (deliveries lost in a disconnect) or a re-started durable with unacked messages
 * re-positions the durable just after the last message handed over, so nothing is skipped or reordered.
 */
export async function consumeBatches(
  conn: JetStreamClient | NatsConnection,
  opts: BatchConsumerOptions,
): Promise<BatchConsumer> {
  const js = toJetStream(conn);
  /** The connection, when given one: JetStream refusing through its server for long moves it. */
  const nc = "jetstreamManager" in conn ? undefined : conn;
  const options: BatchConsumerOptions & { stream: string } = {
    ...opts,
    stream: opts.stream ?? EVENTS_STREAM,
  };
  const jsm = await js.jetstreamManager();
  const maxMessages = options.maxMessages ?? 1000;
  const stats: BatchConsumerStats = {
    state: "starting",
    batches: 0,
    messages: 0,
    lastSeq: 0,
    ackedSeq: 0,
    redeliveriesSkipped: 0,
    resets: 0,
    queuedBatches: 0,
  };
  const report = (state: BatchConsumerState, reason: string, detail?: string) => {
    stats.state = state;
    const s: BatchConsumerStatus = { state, reason };
    if (detail !== undefined) s.detail = detail;
    options.onStatus?.(s);
    if (options.logger) {
      const fields = { consumer: options.durable, state, reason, detail };
      if (state === "running" || state === "stopped") options.logger.info(fields, "batch consumer");
      else options.logger.warn(fields, "batch consumer");
    }
  };

  let iter: ConsumerMessages | undefined;
  /** The start sequence of the last create of the durable that failed (it may have been made anyway). */
  let unansweredCreate: number | undefined;
  let expectedDseq = 0; // 0 = unknown
  let resumeAfter = 0; // stream sequence the durable was positioned after
  let pending: LogMessage[] = [];
  let pendingLast: JsMsg | undefined;
  let flushScheduled = false;
  const queue: Pending[] = [];
  let busy = false; // an asynchronous onBatch is running
  let idle: (() => void) | undefined; // resolved when the queue drains
  let stopping = false;
  let resetting = false;
  let failure: Error | undefined;
  let resolveClosed!: (e: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((res) => {
    resolveClosed = res;
  });

  /** Throws while the start is still under way and its caller has given it up. */
  function checkWanted(step: string) {
    if (stats.state === "starting" && options.abandoned?.())
      throw new Error(`the start of consumer ${options.durable} was abandoned before ${step}`);
  }

  /** Creates the durable, or re-positions it; returns the delivery sequence expected next. */
  async function ensureConsumer(startSeq?: number): Promise<number> {
    resumeAfter = Math.max(0, (startSeq ?? 1) - 1);
    let info: ConsumerInfo | undefined;
    try {
      info = await jsm.consumers.info(options.stream, options.durable);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    let from = startSeq;
    // Unacked deliveries would come back only after ack_wait, behind newer messages: start over after the floor.
    if (info && from === undefined && !isCleanAs(info, batchConsumerConfig(options)))
      from = info.ack_floor.stream_seq + 1;
    if (info && from === undefined) {
      resumeAfter = info.ack_floor.stream_seq;
      return info.delivered.consumer_seq + 1;
    }
    if (from !== undefined) resumeAfter = from - 1;
    const config = batchConsumerConfig(options, from);
    // Our last create got no reply, and the durable it asked for is there, having delivered nothing:
    // on a cluster a node short, the server answers a create once the new consumer has elected its
    // leader, which under load can take longer than the request's time-out. Deleting it would throw
    // that election away and start another, which can time out the same way, and so on: use it
    // (once; if it still does not deliver, the next start re-creates it).
    if (info && unansweredCreate === (from ?? 1) && isFreshAt(info, config)) {
      unansweredCreate = undefined;
      options.logger?.info(
        { consumer: options.durable, from },
        "batch consumer: using the durable a create that timed out made",
      );
      return 1;
    }
    checkWanted(info ? "re-creating the durable" : "creating the durable");
    if (info) await jsm.consumers.delete(options.stream, options.durable);
    unansweredCreate = from ?? 1;
    await jsm.consumers.add(options.stream, config);
    unansweredCreate = undefined;
    return 1;
  }

  function ack(last: JsMsg, seq: number) {
    last.ack();
    stats.ackedSeq = seq;
  }

  function fail(err: unknown) {
    clearInterval(stallTimer);
    failure = err instanceof Error ? err : new Error(String(err));
    report("failed", "on_batch_error", failure.message);
    stopping = true;
    pending = [];
    queue.length = 0;
    stats.queuedBatches = 0;
    void iter?.close();
    idle?.();
    resolveClosed(failure);
  }

  /** Runs queued batches in order; synchronous onBatch results are acked at once. */
  function drain() {
    while (!busy && queue.length > 0 && !failure) {
      const p = queue.shift()!;
      stats.queuedBatches = queue.length;
      stats.batches++;
      stats.messages += p.batch.length;
      const seq = p.batch[p.batch.length - 1]!.seq;
      stats.lastSeq = seq;
      let r: void | Promise<void>;
      try {
        r = options.onBatch(p.batch);
      } catch (err) {
        fail(err);
        return;
      }
      if (r && typeof (r as Promise<void>).then === "function") {
        busy = true;
        (r as Promise<void>).then(
          () => {
            busy = false;
            ack(p.last, seq);
            drain();
          },
          (err: unknown) => {
            busy = false;
            fail(err);
          },
        );
        return;
      }
      ack(p.last, seq);
    }
    if (!busy && queue.length === 0) idle?.();
  }

  function flush() {
    flushScheduled = false;
    if (pending.length === 0 || failure) return;
    queue.push({ batch: pending, last: pendingLast! });
    stats.queuedBatches = queue.length;
    pending = [];
    pendingLast = undefined;
    drain();
  }

  const delivery = newDelivery();
  function onMessage(m: JsMsg) {
    if (resetting || failure) return; // the re-created durable delivers these again
    const d = deliveryOf(m, delivery);
    if (expectedDseq !== 0 && d.deliverySequence !== expectedDseq) {
      void reset("delivery_gap", `expected delivery ${expectedDseq}, got ${d.deliverySequence}`);
      return;
    }
    expectedDseq = d.deliverySequence + 1;
    const seq = d.streamSequence;
    const lastHandled = pending.length > 0 ? pending[pending.length - 1]!.seq : lastQueuedSeq();
    if (seq <= lastHandled) {
      stats.redeliveriesSkipped++; // acked later with the batch that covers it (AckPolicy.All)
      return;
    }
    pending.push(logMessageOf(m, d, huntIdOf(m.subject)));
    pendingLast = m;
    if (pending.length >= maxMessages) flush();
    else if (!flushScheduled) {
      flushScheduled = true;
      queueMicrotask(flush);
    }
  }

  function lastQueuedSeq(): number {
    const q = queue[queue.length - 1];
    return q ? q.batch[q.batch.length - 1]!.seq : Math.max(stats.lastSeq, resumeAfter);
  }

  function waitIdle(): Promise<void> {
    if (!busy && queue.length === 0) return Promise.resolve();
    return new Promise((res) => {
      idle = () => {
        idle = undefined;
        res();
      };
    });
  }

  /**
   * Messages handed over at the last look, the looks in a row that found the consumer stalled, and
   * the consume loops started (a look that began before a restart says nothing about the new one).
   */
  let seenMessages = -1;
  let stalledChecks = 0;
  let checking = false;
  let generation = 0;
  const looking = () =>
    !checking &&
    !stopping &&
    !resetting &&
    !failure &&
    !busy &&
    queue.length === 0 &&
    pending.length === 0 &&
    stats.state === "running";
  async function checkStalled() {
    if (!looking()) return;
    if (stats.messages !== seenMessages) {
      seenMessages = stats.messages;
      stalledChecks = 0;
      return;
    }
    const lookedAt = generation;
    checking = true;
    let stalled: string | undefined;
    try {
      stalled = await stallOf();
    } finally {
      checking = false;
    }
    if (!stalled || stats.messages !== seenMessages || generation !== lookedAt || !looking()) {
      stalledChecks = 0;
      return;
    }
    if (++stalledChecks >= RESET_AFTER_STALLED_CHECKS) {
      stalledChecks = 0;
      void reset("stalled", `${stalled}; re-creating the durable`);
    }
  }
  /** Why the durable looks stalled, or undefined. */
  async function stallOf(): Promise<string | undefined> {
    try {
      const info = await jsm.consumers.info(options.stream, options.durable);
      if (info.num_pending > 0)
        return `${info.num_pending} messages pending and none delivered (${info.num_ack_pending} delivered but unacked)`;
      // Nothing pending, but the durable made deliveries this lane never saw: a pull it does not own
      // took every message left (they come back only after the ack wait). The delivery sequence
      // counts deliveries alone; the delivered stream seq of a filtered durable is where it has read
      // to, matching or not, so it says nothing here.
      if (expectedDseq !== 0 && info.delivered.consumer_seq >= expectedDseq)
        return `delivery ${info.delivered.consumer_seq} went to a pull it does not own (delivery ${expectedDseq} was next here; ${info.num_ack_pending} unacked)`;
      return undefined;
    } catch (err) {
      // JetStream not answering at all is an outage, not this consumer's stall.
      const jetStreamAnswers = await jsm.getAccountInfo().then(
        () => true,
        () => false,
      );
      return jetStreamAnswers ? `its state could not be read: ${(err as Error).message}` : undefined;
    }
  }
  let stallTimer: NodeJS.Timeout | undefined;

  async function startConsume(startSeq?: number) {
    generation++;
    stalledChecks = 0;
    expectedDseq = await ensureConsumer(startSeq);
    const consumer = await js.consumers.get(options.stream, options.durable);
    checkWanted("the first pull");
    // Short pulls: a pull lost with a failed consumer leader is noticed after two missed heartbeats
    // (half of `expires` each), about 2 s, instead of the default 30 s; after a reconnect, nats.js
    // checks the consumer again every `expires` until it answers (a node just restarted takes a few
    // seconds), and then pulls. An idle lane sends a pull every 2 s.
    const messages = await consumer.consume({
      max_messages: maxMessages,
      expires: 2000,
      callback: onMessage,
    });
    iter = messages;
    report("running", "consuming");
    void watch(messages);
  }

  async function watch(messages: ConsumerMessages) {
    (async () => {
      for await (const s of messages.status()) {
        if (stopping) return;
        if (s.type === "consumer_deleted" || s.type === "consumer_not_found") {
          void reset(s.type, "re-creating the durable");
          return;
        }
        if (s.type === "heartbeats_missed" || s.type === "no_responders" || s.type === "exceeded_limits") {
          report(stats.state, s.type, JSON.stringify(s));
        }
        // nats.js checks the consumer and pulls again by itself after missed heartbeats; after a node
        // restart that was seen never to come back (missed heartbeats counted on for a minute, no
        // pull waiting on the server). Past a few, start over as after a delivery gap.
        if (s.type === "heartbeats_missed" && s.count >= RESET_AFTER_MISSED_HEARTBEATS) {
          void reset(s.type, `${s.count} heartbeats missed in a row; re-creating the durable`);
          return;
        }
      }
    })().catch(() => {});
    const err = await messages.closed();
    if (!stopping && !resetting && iter === messages) {
      void reset("iterator_closed", err instanceof Error ? err.message : "consume loop ended");
    }
  }

  async function reset(reason: string, detail: string) {
    if (resetting || stopping) return;
    resetting = true;
    stats.resets++;
    report("resetting", reason, detail);
    const old = iter;
    iter = undefined;
    await old?.close().catch(() => {});
    // Messages received before the gap are still good: hand them over, ack them, then restart after them.
    flush();
    await waitIdle();
    for (let attempt = 0; !stopping && !failure; attempt++) {
      try {
        resetting = false;
        await startConsume(Math.max(stats.lastSeq, resumeAfter) + 1);
        return;
      } catch (err) {
        resetting = true;
        report("resetting", "recreate_failed", (err as Error).message);
        if (nc && noteJetStreamFailure(nc, err))
          report("resetting", "moving", "JetStream keeps refusing through this server");
        await new Promise((res) => setTimeout(res, Math.min(250 * 2 ** attempt, 5000)));
      }
    }
  }

  await startConsume(options.startSeq);
  if (!stopping) {
    stallTimer = setInterval(() => void checkStalled(), options.stallCheckMs ?? 3000);
    stallTimer.unref();
  }
  const startSeq = resumeAfter + 1;

  let stopped: Promise<void> | undefined;
  return {
    stats,
    closed,
    startSeq,
    async streamLastSeq() {
      return (await jsm.streams.info(options.stream)).state.last_seq;
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(stallTimer);
        await iter?.close().catch(() => {});
        flush(); // messages already received are the batch in hand
        await waitIdle();
        if (!failure) report("stopped", "stop");
        resolveClosed(failure);
      })();
      return stopped;
    },
  };
}
