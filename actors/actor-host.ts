// The actor host: one actor per hunt, fed by durable consumers ("lanes": one for the whole log, or
// one per owned partition). Read top to bottom as: fetch a batch → route to hunts (activating them
// from snapshot + log tail) → fold each → publish outputs → ack → snapshot now and then; plus
// queries, coalesced top-N, passivation, and partition hand-over.

import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { createRankIndex, type RankEntry, type RankIndex, type RankIndexKind } from "../native/index.ts";
import type { RejectionCode } from "../schemas/index.ts";
import {
  type BatchConsumer,
  consumeBatches,
  EVENTS_STREAM,
  EventLog,
  isValidHuntId,
  type LogMessage,
  lastOutputSeq,
  OutputPublisher,
  partitionFilter,
  partitionOf,
  SnapshotStore,
} from "../streams/index.ts";
import type { EngineMetrics } from "./engine-metrics.ts";
import { CorruptSnapshotError, decodeHunt, encodeHunt } from "./hunt-codec.ts";
import { DEFAULT_TOP_N, foldBatch, HuntFold, type OutputSink } from "./hunt-fold.ts";
import { PartitionOwnership } from "./ownership.ts";
import { answer, QUERY_OPS, type QueryOp, queryError } from "./queries.ts";

/** How the host runs; every field has a default. */
export interface HostOptions {
  /** Rank index implementation. */
  indexKind?: RankIndexKind;
  /** Makes each new hunt's index instead of `indexKind` (the benchmarks' Redis peer). */
  indexFactory?: (huntId: string) => RankIndex;
  /** Entries in `hunt.<id>.top`. */
  topN?: number;
  /** Coalescing interval of `hunt.<id>.top`. */
  topIntervalMs?: number;
  /** Snapshot a hunt after this many events. */
  snapshotEvery?: number;
  /** Snapshot changed hunts at least this often. */
  snapshotIntervalMs?: number;
  /** Passivate hunts idle this long. */
  idleMs?: number;
  /** Messages per pull. */
  batchSize?: number;
  /** Durable consumer name (the prefix of the per-partition names). */
  durable?: string;
  /** One subject filter for the single lane; all of HUNT_EVENTS when unset. */
  filterSubject?: string;
  /**
   * Share hunts with other engines: the server maps hunts to this many partitions, and each engine
   * consumes only the partitions it holds a lease on. 0 (default): this engine consumes everything.
   */
  partitions?: number;
  /** This engine's id among the engines sharing partitions. */
  engineId?: string;
  /** Lease time of partition ownership. */
  leaseMs?: number;
  /** Replicas of the ownership bucket. */
  replicas?: number;
  logger: Logger;
  metrics?: EngineMetrics;
}

/** One live hunt. */
interface HuntActor {
  fold: HuntFold;
  /** Outputs of inputs up to this seq are already stored (found on activation); not published again. */
  publishAfter: number;
  /** Events folded since activation, and at the last snapshot. */
  events: number;
  eventsAtSnapshot: number;
  /** Engine clock of the last snapshot (not hunt state: the fold never sees it). */
  snapshotAt: number;
  lastActiveAt: number;
  topPublished: number;
  snapshotting: Promise<void> | undefined;
}

/** Options with no default. */
type OptionalOption = "filterSubject" | "metrics" | "indexFactory" | "engineId";

/** One durable consumer and how far it got. */
interface Lane {
  consumer: BatchConsumer;
  durable: string;
  /** The last stream seq handled on this lane. */
  position: number;
}

/** The lane key of an unpartitioned engine. */
const SINGLE_LANE = -1;

const encoder = new TextEncoder();
/** Every stored input subject: `hunt.<id>.events` and the partitioned `hunt.<id>.events.<p>`. */
const ALL_EVENTS = "hunt.>";

/** Publishes a hunt's outputs as the fold emits them, skipping those already stored. */
class PublishingSink implements OutputSink {
  actor!: HuntActor;
  constructor(
    private readonly publisher: OutputPublisher,
    private readonly metrics: EngineMetrics | undefined,
  ) {}

  rank(
    seq: number,
    playerId: string,
    score: number,
    rank: number,
    previousRank: number,
    players: number,
  ): void {
    if (seq <= this.actor.publishAfter) return;
    const json = `{"seq":${seq},"playerId":${JSON.stringify(playerId)},"score":${score},"rank":${rank},"previousRank":${previousRank},"players":${players}}`;
    this.publisher.rankRaw(this.actor.fold.huntId, seq, 0, json);
  }

  rejected(
    seq: number,
    eventId: string | null,
    type: string | null,
    code: RejectionCode,
    message: string,
  ): void {
    this.metrics?.rejected.inc({ code });
    if (seq <= this.actor.publishAfter) return;
    this.publisher.rejected(this.actor.fold.huntId, seq, 0, { seq, eventId, type, code, message });
  }
}

/** The engine's core: consumes HUNT_EVENTS and keeps one actor per hunt. */
export class ActorHost {
  private readonly hunts = new Map<string, HuntActor>();
  private readonly activating = new Map<string, Promise<HuntActor | undefined>>();
  private readonly log: EventLog;
  private readonly publisher: OutputPublisher;
  private readonly snapshots: SnapshotStore;
  private readonly sink: PublishingSink;
  /** Consumers by partition (-1: the single lane of an unpartitioned engine). */
  private readonly lanes = new Map<number, Lane>();
  private ownership: PartitionOwnership | undefined;
  private querySub: Subscription | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly opts: Required<Omit<HostOptions, OptionalOption>> & Pick<HostOptions, OptionalOption>;
  /** Messages matching this engine's lanes not yet delivered, refreshed periodically. */
  private pending = 0;
  private warnedUnmapped = false;
  private jsm: Promise<JetStreamManager> | undefined;
  private stopping = false;

  constructor(
    private readonly nc: NatsConnection,
    options: HostOptions,
  ) {
    this.opts = {
      indexKind: "auto",
      topN: DEFAULT_TOP_N,
      topIntervalMs: 100,
      snapshotEvery: 500_000,
      snapshotIntervalMs: 60_000,
      idleMs: 10 * 60_000,
      batchSize: 1000,
      durable: "cairn-engine",
      partitions: 0,
      leaseMs: 3000,
      replicas: 1,
      // An option given as undefined keeps its default.
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      logger: options.logger,
    };
    this.log = new EventLog(nc, undefined, this.opts.partitions);
    this.publisher = new OutputPublisher(nc);
    this.snapshots = new SnapshotStore(nc);
    this.sink = new PublishingSink(this.publisher, options.metrics);
  }

  /** Hunts with a live actor. */
  get huntsActive(): number {
    return this.hunts.size;
  }

  /** Messages of this engine's partitions not yet handled (refreshed every few seconds). */
  get lag(): number {
    return this.pending;
  }

  /** Partitions held now (empty for an unpartitioned engine). */
  get partitionsHeld(): number[] {
    return this.ownership?.partitions ?? [];
  }

  /** Allocations the live rank indexes have made (constant in steady state). */
  indexAllocations(): number {
    let n = 0;
    for (const actor of this.hunts.values()) n += actor.fold.index.stats().allocations;
    return n;
  }

  /** Bytes held by the live rank indexes. */
  indexBytes(): number {
    let bytes = 0;
    for (const actor of this.hunts.values()) bytes += actor.fold.index.stats().bytes;
    return bytes;
  }

  /** The lane key of a hunt: its partition, or the single lane. */
  private laneKeyOf(huntId: string): number {
    const partitions = this.opts.partitions;
    return partitions > 0 ? partitionOf(huntId, partitions) : SINGLE_LANE;
  }

  /** The lane a hunt's events arrive on, if this engine consumes them. */
  private laneOf(huntId: string): Lane | undefined {
    return this.lanes.get(this.laneKeyOf(huntId));
  }

  /** Starts consuming (everything, or the partitions it wins), answering queries, and the timers. */
  async start(): Promise<void> {
    const { logger, partitions } = this.opts;
    this.querySub = this.nc.subscribe("hunt.*.query.*", {
      callback: (err, msg) => {
        if (!err) void this.onQuery(msg);
      },
    });
    if (partitions > 0) {
      const engineId = this.opts.engineId ?? `engine-${process.pid}`;
      this.ownership = new PartitionOwnership(this.nc, {
        partitions,
        engineId,
        leaseMs: this.opts.leaseMs,
        replicas: this.opts.replicas,
        logger,
        onAcquire: (p) => this.openLane(p, `${this.opts.durable}-p${p}`, partitionFilter(p)),
        onRelease: (p) => this.closeLane(p),
      });
      await this.ownership.start();
      logger.info({ engineId, partitions, held: this.ownership.partitions }, "engine sharing partitions");
    } else {
      await this.openLane(SINGLE_LANE, this.opts.durable, this.opts.filterSubject ?? ALL_EVENTS);
    }
    this.timers.push(
      setInterval(() => this.publishTops(), this.opts.topIntervalMs),
      setInterval(() => this.periodic(), Math.min(2_000, this.opts.snapshotIntervalMs)),
    );
    this.watchConnection();
  }

  /** Starts a durable consumer for one partition (or the whole log). */
  private async openLane(key: number, durable: string, filterSubject: string): Promise<void> {
    if (this.lanes.has(key) || this.stopping) return;
    const lane: Lane = { consumer: undefined as unknown as BatchConsumer, durable, position: 0 };
    lane.consumer = await consumeBatches(this.nc, {
      durable,
      filterSubject,
      maxMessages: this.opts.batchSize,
      onBatch: (batch) => this.onBatch(lane, batch),
      logger: this.opts.logger,
    });
    lane.position = lane.consumer.startSeq - 1;
    this.lanes.set(key, lane);
    this.opts.logger.info({ durable, filterSubject, from: lane.consumer.startSeq }, "consuming");
    // A batch that threw is not acked and stops the consumer: log it loudly and start over from the
    // ack floor, so the engine never stalls in silence.
    void lane.consumer.closed.then((err) => {
      if (!err || this.stopping || this.lanes.get(key) !== lane) return;
      this.opts.logger.error(
        { durable, err: err.message, stack: err.stack },
        "a batch failed; restarting the consumer",
      );
      this.lanes.delete(key);
      // Its hunts may hold half a batch: drop them, to be rebuilt from snapshot and log.
      for (const [huntId, actor] of this.hunts) {
        if (this.laneKeyOf(huntId) !== key) continue;
        this.hunts.delete(huntId);
        actor.fold.lifecycle.stop();
      }
      setTimeout(() => void this.openLane(key, durable, filterSubject).catch(() => {}), 1000);
    });
  }

  /** Stops a partition's consumer (finishing and acking its batch), then snapshots and drops its hunts. */
  private async closeLane(key: number): Promise<void> {
    const lane = this.lanes.get(key);
    if (!lane) return;
    this.lanes.delete(key);
    await lane.consumer.stop();
    const partitions = this.opts.partitions;
    const leaving = [...this.hunts].filter(
      ([huntId]) => partitions > 0 && partitionOf(huntId, partitions) === key,
    );
    await Promise.all(leaving.map(([huntId, actor]) => this.passivate(huntId, actor)));
    this.opts.logger.info({ durable: lane.durable, hunts: leaving.length }, "stopped consuming");
  }

  /** Snapshots a hunt if it changed, then drops its actor. */
  private async passivate(huntId: string, actor: HuntActor): Promise<void> {
    if (actor.events !== actor.eventsAtSnapshot) await this.snapshot(huntId, actor);
    else await actor.snapshotting;
    if (this.hunts.get(huntId) === actor) {
      this.hunts.delete(huntId);
      actor.fold.lifecycle.stop();
    }
  }

  /** Routes a batch to its hunts; stays synchronous unless a hunt needs activating. */
  private onBatch(lane: Lane, batch: LogMessage[]): void | Promise<void> {
    let pending: Promise<unknown>[] | undefined;
    for (const msg of batch) {
      const huntId = msg.huntId;
      if (!this.hunts.has(huntId) && isValidHuntId(huntId)) {
        pending ??= [];
        pending.push(this.activateForBatch(huntId, msg.seq - 1));
      }
    }
    if (pending) return Promise.all(pending).then(() => this.routeBatch(lane, batch));
    return this.routeBatch(lane, batch);
  }

  /**
   * Activation on the input path retries until it succeeds: skipping the batch would leave a hole in
   * the hunt's fold. Meanwhile the batch stays unacked and later batches wait.
   */
  private async activateForBatch(huntId: string, untilSeq: number): Promise<void> {
    for (let attempt = 1; !this.hunts.has(huntId); attempt++) {
      if (await this.activate(huntId, untilSeq)) return;
      if (this.stopping) throw new Error(`stopping while hunt ${huntId} could not be activated`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
    }
  }

  /** Folds each hunt's share of the batch; synchronous unless a hunt's index is asynchronous. */
  private routeBatch(lane: Lane, batch: LogMessage[]): void | Promise<void> {
    const now = Date.now();
    const groups = new Map<string, LogMessage[]>();
    for (const msg of batch) {
      const huntId = msg.huntId;
      if (!isValidHuntId(huntId)) {
        this.rejectSubject(msg);
        continue;
      }
      const group = groups.get(huntId);
      if (group) group.push(msg);
      else groups.set(huntId, [msg]);
    }
    const entries = [...groups];
    const step = (i: number): void | Promise<void> => {
      for (; i < entries.length; i++) {
        const [huntId, msgs] = entries[i]!;
        const actor = this.hunts.get(huntId)!;
        this.sink.actor = actor;
        const appliedBefore = actor.fold.appliedCount;
        const folded = foldBatch(actor.fold, msgs, this.sink);
        this.opts.metrics?.applied.inc(actor.fold.appliedCount - appliedBefore);
        this.afterFold(huntId, actor, msgs.length, now);
        if (folded) return folded.then(() => step(i + 1));
      }
      this.finishRoute(lane, batch, now);
    };
    return step(0);
  }

  private afterFold(huntId: string, actor: HuntActor, events: number, now: number): void {
    actor.events += events;
    actor.lastActiveAt = now;
    if (actor.events - actor.eventsAtSnapshot >= this.opts.snapshotEvery) this.snapshot(huntId, actor);
  }

  private finishRoute(lane: Lane, batch: LogMessage[], now: number): void {
    const last = batch[batch.length - 1];
    if (last) lane.position = Math.max(lane.position, last.seq);
    const metrics = this.opts.metrics;
    if (metrics) {
      for (const msg of batch) metrics.applyLatency.observe((now - msg.time) / 1000);
    }
  }

  /** A message on a subject whose hunt id breaks the contract is rejected where its hunt's would be. */
  private rejectSubject(msg: LogMessage): void {
    const token = msg.huntId;
    this.opts.metrics?.rejected.inc({ code: "invalid_event" });
    if (token === "") return;
    this.publisher.rejected(token, msg.seq, 0, {
      seq: msg.seq,
      eventId: null,
      type: null,
      code: "invalid_event",
      message: `hunt id "${token}" is not 1-64 characters of [A-Za-z0-9_-]`,
    });
  }

  /**
   * Brings a hunt to life: the newest snapshot (if usable), then its log up to `untilSeq`. Outputs
   * already stored (per the last stored output's Nats-Msg-Id) are not published again; outputs the
   * log implies but that were never stored are published now.
   */
  private activate(huntId: string, untilSeq: number): Promise<HuntActor | undefined> {
    const existing = this.activating.get(huntId);
    if (existing) return existing;
    const promise = this.rebuild(huntId, untilSeq)
      .then((actor) => {
        this.hunts.set(huntId, actor);
        return actor;
      })
      .catch((err: Error) => {
        this.opts.logger.error({ huntId, err: err.message }, "activation failed");
        return undefined;
      })
      .finally(() => this.activating.delete(huntId));
    this.activating.set(huntId, promise);
    return promise;
  }

  private async rebuild(huntId: string, untilSeq: number): Promise<HuntActor> {
    const { logger, indexKind, topN } = this.opts;
    const started = performance.now();
    let fold: HuntFold | undefined;
    const bytes = await this.snapshots.get(huntId).catch((err: Error) => {
      logger.warn({ huntId, err: err.message }, "snapshot unreadable; rebuilding from the log");
      return undefined;
    });
    if (bytes) {
      try {
        // A snapshot may be ahead of the consumer's ack floor (taken before the ack): the fold
        // then skips the redelivered messages it already holds.
        fold = decodeHunt(huntId, bytes, { indexKind, topN });
      } catch (err) {
        const reason =
          err instanceof CorruptSnapshotError
            ? err.message
            : `unreadable snapshot: ${(err as Error).message}`;
        logger.warn({ huntId, reason }, "ignoring the snapshot; rebuilding from the log");
      }
    }
    const snapshotSeq = fold?.seq ?? 0;
    fold ??= new HuntFold(huntId, this.opts.indexFactory?.(huntId) ?? createRankIndex(indexKind), topN);
    const stored = await lastOutputSeq(this.nc, huntId);
    const actor: HuntActor = {
      fold,
      publishAfter: stored,
      events: 0,
      eventsAtSnapshot: 0,
      snapshotAt: Date.now(),
      lastActiveAt: Date.now(),
      topPublished: -1,
      snapshotting: undefined,
    };
    let replayed = 0;
    if (untilSeq > fold.seq) {
      const sink = new PublishingSink(this.publisher, undefined);
      sink.actor = actor;
      for await (const batch of this.log.readBatches(huntId, fold.seq + 1, { untilSeq })) {
        await foldBatch(fold, batch, sink);
        replayed += batch.length;
      }
    }
    actor.events = replayed;
    actor.eventsAtSnapshot = 0;
    logger.info(
      {
        huntId,
        snapshotSeq,
        replayed,
        seq: fold.seq,
        outputsStoredUpTo: stored,
        ms: Math.round(performance.now() - started),
      },
      "hunt activated",
    );
    return actor;
  }

  /**
   * Writes a snapshot once the outputs it covers are stored: a snapshot must never get ahead of the
   * outputs, or a crash between the two would lose them for good.
   */
  private snapshot(huntId: string, actor: HuntActor): Promise<void> {
    if (actor.snapshotting) return actor.snapshotting;
    let bytes: Uint8Array;
    try {
      bytes = encodeHunt(actor.fold);
    } catch (err) {
      // An index that cannot serialise (the benchmarks' Redis peer): no snapshots, the log suffices.
      actor.eventsAtSnapshot = actor.events;
      actor.snapshotAt = Date.now();
      this.opts.logger.debug({ huntId, err: (err as Error).message }, "no snapshot");
      return Promise.resolve();
    }
    const seq = actor.fold.seq;
    const events = actor.events;
    const task = (async () => {
      // Every output of the inputs it covers must be confirmed stored first.
      const deadline = performance.now() + 10_000;
      for (;;) {
        const oldest = this.publisher.oldestUnconfirmed(huntId);
        if (oldest === undefined || oldest > seq) break;
        if (performance.now() > deadline) {
          this.opts.logger.warn(
            { huntId, seq, oldest },
            "outputs not confirmed stored yet; snapshot postponed",
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await this.snapshots.put(huntId, bytes);
      actor.snapshotAt = Date.now();
      actor.eventsAtSnapshot = events;
      this.opts.logger.debug({ huntId, seq, bytes: bytes.length }, "snapshot stored");
    })()
      .catch((err: Error) => this.opts.logger.warn({ huntId, err: err.message }, "snapshot failed"))
      .finally(() => {
        actor.snapshotting = undefined;
      });
    actor.snapshotting = task;
    return task;
  }

  /** Publishes `hunt.<id>.top` for hunts whose top changed since the last publish. */
  private publishTops(): void {
    for (const actor of this.hunts.values()) {
      const fold = actor.fold;
      if (fold.topVersion === actor.topPublished) continue;
      actor.topPublished = fold.topVersion;
      let entries: RankEntry[];
      try {
        entries = fold.index.top(this.opts.topN);
      } catch {
        continue; // an index that cannot read its top (the benchmarks' Redis peer) publishes none
      }
      this.publisher.topRaw(fold.huntId, JSON.stringify({ seq: fold.seq, entries }));
    }
  }

  /** Time-based snapshots, passivation of idle hunts, and the lag reading. */
  private periodic(): void {
    const now = Date.now();
    for (const [huntId, actor] of this.hunts) {
      if (actor.snapshotting) continue;
      if (now - actor.lastActiveAt >= this.opts.idleMs) {
        void this.passivate(huntId, actor).then(() =>
          this.opts.logger.info({ huntId, seq: actor.fold.seq }, "hunt passivated"),
        );
      } else if (
        actor.events !== actor.eventsAtSnapshot &&
        now - actor.snapshotAt >= this.opts.snapshotIntervalMs
      ) {
        void this.snapshot(huntId, actor);
      }
    }
    void this.refreshLag();
  }

  /** Sums what the lanes' durable consumers still have to deliver. */
  private async refreshLag(): Promise<void> {
    try {
      // One manager for the engine's life: making one checks the JetStream API with a request.
      this.jsm ??= jetstreamManager(this.nc);
      const jsm = await this.jsm;
      let pending = 0;
      for (const lane of this.lanes.values()) {
        const info = await jsm.consumers.info(EVENTS_STREAM, lane.durable);
        pending += info.num_pending + info.num_ack_pending;
      }
      this.pending = pending;
      if (this.opts.partitions > 0 && !this.warnedUnmapped) {
        const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: "hunt.*.events" });
        const unmapped = Object.keys(info.state.subjects ?? {}).length;
        if (unmapped > 0) {
          this.warnedUnmapped = true;
          this.opts.logger.error(
            { unmapped },
            "events are stored on hunt.<id>.events without a partition: no engine consumes them. Add the server mapping from deploy/nats (see cairn serve --help, --partitions)",
          );
        }
      }
    } catch {
      // Unknown for now; keep the last reading, and make a fresh manager next time.
      this.jsm = undefined;
    }
  }

  /** Logs connection changes; outputs lost in one are re-sent by the publisher until confirmed. */
  private watchConnection(): void {
    (async () => {
      for await (const s of this.nc.status()) {
        if (this.stopping) return;
        if (s.type === "disconnect") this.opts.logger.warn("disconnected from NATS; reconnecting");
        if (s.type === "reconnect") {
          this.opts.logger.warn({ unconfirmed: this.publisher.unconfirmed }, "reconnected to NATS");
        }
      }
    })().catch(() => {});
  }

  private async onQuery(msg: {
    subject: string;
    data: Uint8Array;
    reply?: string;
    respond(data: Uint8Array): boolean;
  }) {
    const [, huntId = "", , op = ""] = msg.subject.split(".");
    if (!msg.reply) return;
    // With shared partitions only the owner answers (the others stay silent for this hunt).
    const partitions = this.opts.partitions;
    if (partitions > 0 && isValidHuntId(huntId) && !this.ownership?.owns(partitionOf(huntId, partitions)))
      return;
    const reply = (body: unknown) => msg.respond(encoder.encode(JSON.stringify(body)));
    if (!QUERY_OPS.includes(op as QueryOp)) {
      return reply(
        queryError("invalid_request", `unknown query "${op}": use one of ${QUERY_OPS.join(", ")}`),
      );
    }
    if (!isValidHuntId(huntId))
      return reply(queryError("invalid_request", `hunt id "${huntId}" is not valid`));
    let request: Record<string, unknown> = {};
    if (msg.data.length > 0) {
      try {
        const parsed: unknown = JSON.parse(Buffer.from(msg.data).toString("utf8"));
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
          throw new Error("not an object");
        request = parsed as Record<string, unknown>;
      } catch (err) {
        return reply(
          queryError("invalid_request", `the request is not a JSON object: ${(err as Error).message}`),
        );
      }
    }
    let actor = this.hunts.get(huntId);
    if (!actor) {
      if ((await this.log.lastSeq(huntId)) === 0) {
        return reply(queryError("unknown_hunt", `no events have been published for hunt "${huntId}"`));
      }
      const lane = this.laneOf(huntId);
      if (!lane)
        return reply(queryError("unavailable", `hunt "${huntId}" is moving between engines; try again`));
      actor = (await this.activate(huntId, lane.position)) ?? undefined;
      if (!actor) return reply(queryError("unavailable", `hunt "${huntId}" could not be loaded; try again`));
    }
    actor.lastActiveAt = Date.now();
    let body: ReturnType<typeof answer>;
    try {
      body = answer(actor.fold, op as QueryOp, request);
    } catch (err) {
      // Requests are checked before they reach the index, so this is an index that cannot answer.
      body = queryError("unavailable", (err as Error).message);
    }
    reply(body);
  }

  /** Graceful stop: stop fetching, finish and ack the batch in hand, snapshot changed hunts. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.querySub?.unsubscribe();
    if (this.ownership) await this.ownership.stop();
    await Promise.all([...this.lanes.values()].map((lane) => lane.consumer.stop()));
    await Promise.all([...this.activating.values()]);
    const left = await this.publisher.settle(10_000);
    if (left > 0) this.opts.logger.error({ unconfirmed: left }, "outputs still unconfirmed at shutdown");
    this.publishTops();
    await Promise.all(
      [...this.hunts].map(([huntId, actor]) =>
        actor.events !== actor.eventsAtSnapshot ? this.snapshot(huntId, actor) : actor.snapshotting,
      ),
    );
    await this.nc.flush();
    this.publisher.close();
  }

  /** The live fold of a hunt, if active (for tests and the demo). */
  fold(huntId: string): HuntFold | undefined {
    return this.hunts.get(huntId)?.fold;
  }
}
