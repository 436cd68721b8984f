// The actor host: one live actor per hunt, fed by the lanes. Read top to bottom as: fetch a batch →
// route it to its hunts (activating them from snapshot + log tail) → fold each → publish outputs →
// ack → snapshot now and then; plus queries, coalesced top-N, passivation and partition hand-over.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { RankIndexKind } from "../../native/index.ts";
import {
  isValidHuntId,
  type LogMessage,
  lastOutput,
  OutputPublisher,
  partitionOf,
  SnapshotStore,
} from "../../streams/index.ts";
import type { HuntSummary } from "../../viewer/pages.ts";
import { type CheckpointSigner, DEFAULT_TOP_N, type HuntFold } from "../hunt/index.ts";
import { Deadlines } from "./deadlines.ts";
import { backoffMs, type Lane, Lanes } from "./lanes.ts";
import type { EngineMetrics } from "./metrics.ts";
import { PartitionOwnership } from "./ownership.ts";
import { QueryServer } from "./query-server.ts";
import { HuntBrokenError, HuntRegistry } from "./registry.ts";

/** How the host runs; every field has a default. */
export interface HostOptions {
  /** Rank index implementation. */
  indexKind?: RankIndexKind;
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
  /** Longest an activation (snapshot + log tail) may take before it is abandoned and retried. */
  activationTimeoutMs?: number;
  /**
   * How long a lane may go unconsumed, an activation run, or an output stay unconfirmed before
   * /healthz reports it (and how long a failed batch is reported). Default 30 s.
   */
  stuckAfterMs?: number;
  /** Messages per pull. */
  batchSize?: number;
  /** The longest a `ledger` page replays the log before it replies (it then carries a `next` to go on). */
  ledgerPageMs?: number;
  /** Durable consumer name (the prefix of the per-partition names). */
  durable?: string;
  /** One subject filter for the single lane; the whole of HUNT_EVENTS when unset. */
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
  /** The connection's inbox prefix, when its permissions restrict it to one. */
  inboxPrefix?: string;
  /** Signs every checkpoint (its `sig` and `key`); unsigned without one. */
  signer?: CheckpointSigner;
  logger: Logger;
  metrics?: EngineMetrics;
}

/** Options with no default. */
type OptionalOption = "filterSubject" | "metrics" | "engineId" | "inboxPrefix" | "signer";

/** What /healthz reports. */
export interface HostHealth {
  ok: boolean;
  /** Why it is not ok (empty when ok). */
  problems: string[];
}

/** An activation on the input path retries after a failure, waiting this long at most between tries. */
const MAX_ACTIVATION_BACKOFF_MS = 5_000;
/** What a lane's closing resolves to in a race with an activation. */
const LANE_CLOSED = Symbol("lane closed");
/** A lane not consuming, or an activation running, for longer than this makes /healthz fail (default). */
const STUCK_MS = 30_000;

/** The engine's core: consumes HUNT_EVENTS and keeps one actor per hunt. */
export class ActorHost {
  private readonly publisher: OutputPublisher;
  private readonly registry: HuntRegistry;
  private readonly lanes: Lanes;
  private readonly queries: QueryServer;
  private readonly deadlines: Deadlines;
  private ownership: PartitionOwnership | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly opts: Required<Omit<HostOptions, OptionalOption>> & Pick<HostOptions, OptionalOption>;
  private stopping = false;
  /** Whether the connection is up now (the client reconnects by itself), and since when it is down. */
  private connected = true;
  private disconnectedAt = 0;
  /** Why the last activation on the input path failed (it is retried), for /healthz. */
  private lastActivationFailure: string | undefined;
  /** Hunts that had input since the start; `publicHunts` forgets those no longer live. */
  private readonly fedHunts = new Set<string>();

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
      activationTimeoutMs: 120_000,
      stuckAfterMs: STUCK_MS,
      batchSize: 1000,
      ledgerPageMs: 1500,
      durable: "cairn-engine",
      partitions: 0,
      leaseMs: 3000,
      replicas: 1,
      // An option given as undefined keeps its default.
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      logger: options.logger,
    };
    const { logger, metrics } = this.opts;
    this.publisher = new OutputPublisher(nc, {
      onFailure: (reason) => metrics?.outputFailures.inc({ reason }),
      inboxPrefix: this.opts.inboxPrefix,
      logger,
    });
    this.deadlines = new Deadlines(nc, { replicas: this.opts.replicas, logger });
    this.registry = new HuntRegistry(
      this.publisher,
      new SnapshotStore(nc),
      (huntId) => lastOutput(nc, huntId),
      {
        ...this.opts,
        metrics,
        onChange: (huntId, hunt) => this.deadlines.update(huntId, hunt.fold),
        onDrop: (huntId) => this.deadlines.forget(huntId),
      },
    );
    this.lanes = new Lanes(
      nc,
      { ...this.opts, openTimeoutMs: 10_000, metrics },
      {
        onBatch: (lane, batch) => this.onBatch(lane, batch),
        onLaneLost: (key) => this.registry.dropWhere((huntId) => this.lanes.keyOf(huntId) === key),
        onLaneOpened: (lane) => void this.watchDeadlines(lane),
      },
    );
    this.queries = new QueryServer(nc, {
      registry: this.registry,
      lanes: this.lanes,
      answers: this.opts.partitions > 0 ? (huntId) => this.whoAnswers(huntId) : undefined,
      ownInboxes: [this.publisher.inbox],
      indexKind: this.opts.indexKind,
      ledgerPageMs: this.opts.ledgerPageMs,
      logger,
      metrics,
      signer: this.opts.signer,
    });
  }

  /** Hunts with a live actor. */
  get huntsActive(): number {
    return this.registry.size;
  }

  /** Messages of this engine's partitions not yet handled (refreshed every few seconds). */
  get lag(): number {
    return this.lanes.lag;
  }

  /** Partitions held now (empty for an unpartitioned engine). */
  get partitionsHeld(): number[] {
    return this.ownership?.partitions ?? [];
  }

  /** Outputs sent and not yet confirmed stored, and the age of the oldest (ms). */
  get unconfirmedOutputs(): { count: number; oldestMs: number } {
    return { count: this.publisher.unconfirmed, oldestMs: this.publisher.oldestUnconfirmedAgeMs() };
  }

  /**
   * Bytes and allocations of the rank indexes: every native one in the process, and the live hunts'
   * JS ones (allocations only grow, and not at all in steady state).
   */
  indexStats(): { bytes: number; allocations: number } {
    return this.registry.indexStats();
  }

  /** What anyone may see of each live hunt that had input since the start (the viewer's index page). */
  publicHunts(): HuntSummary[] {
    const hunts: HuntSummary[] = [];
    for (const huntId of this.fedHunts) {
      const fold = this.registry.get(huntId)?.fold;
      // The public count: while the standings are frozen, the players ranked at the freeze.
      if (fold)
        hunts.push({
          huntId,
          status: fold.status,
          players: fold.publicBoard.size,
          seq: fold.seq,
          durationMs: fold.rules.durationMs,
        });
      else this.fedHunts.delete(huntId);
    }
    return hunts.sort((a, b) => (a.huntId < b.huntId ? -1 : a.huntId > b.huntId ? 1 : 0));
  }

  /** Whether the engine is making progress, and if not, why. */
  health(): HostHealth {
    const problems: string[] = [];
    const stuck = this.opts.stuckAfterMs;
    const now = performance.now();
    if (!this.connected) {
      problems.push(
        `disconnected from NATS for ${Math.round((now - this.disconnectedAt) / 1000)} s; reconnecting`,
      );
    }
    for (const { key, waitingMs } of this.lanes.waitingBatches(now)) {
      if (waitingMs > stuck) {
        problems.push(
          `${key < 0 ? "the log's" : `partition ${key}'s`} batch has waited ${Math.round(waitingMs / 1000)} s${this.lastActivationFailure ? ` (activation failing: ${this.lastActivationFailure})` : ""}`,
        );
      }
    }
    for (const { key, waitingMs } of this.lanes.notConsuming()) {
      if (waitingMs > stuck)
        problems.push(
          `${key < 0 ? "the log" : `partition ${key}`} held but not consumed for ${Math.round(waitingMs / 1000)} s`,
        );
    }
    const tick = this.ownership?.tickRunningMs(now) ?? 0;
    if (tick > stuck)
      problems.push(
        `the partition lease loop has waited ${Math.round(tick / 1000)} s on one tick: its heartbeat stopped`,
      );
    const activation = this.registry.oldestActivationMs();
    if (activation > stuck)
      problems.push(`a hunt has been activating for ${Math.round(activation / 1000)} s`);
    for (const [huntId, b] of this.registry.broken) {
      problems.push(`hunt "${huntId}" stopped at input ${b.seq}: ${b.reason}`);
    }
    const failure = this.lanes.lastFailure;
    if (failure && performance.now() - failure.at < stuck) {
      problems.push(
        `a batch failed ${Math.round((performance.now() - failure.at) / 1000)} s ago (${failure.inARow} in a row on its lane, which restarts ${failure.restartInMs} ms after it): ${failure.message}`,
      );
    }
    const unconfirmed = this.unconfirmedOutputs;
    if (unconfirmed.oldestMs > stuck) {
      problems.push(
        `${unconfirmed.count} outputs not confirmed stored by JetStream, the oldest for ${Math.round(unconfirmed.oldestMs / 1000)} s (${this.publisher.lastFailure ?? "no reply"})`,
      );
    }
    return { ok: problems.length === 0, problems };
  }

  /** For a partitioned engine: whether it answers queries for the hunt now. */
  private whoAnswers(huntId: string): "owner" | "taking-over" | "other" {
    const ownership = this.ownership;
    if (!ownership) return "other";
    const p = partitionOf(huntId, this.opts.partitions);
    if (ownership.owns(p)) return "owner";
    return ownership.isMovingHere(p) ? "taking-over" : "other";
  }

  /** Starts consuming (everything, or the partitions it wins), answering queries, and the timers. */
  async start(): Promise<void> {
    const { logger, partitions } = this.opts;
    await this.deadlines.start();
    this.queries.start();
    if (partitions > 0) {
      const engineId = this.opts.engineId ?? `engine-${process.pid}`;
      this.ownership = new PartitionOwnership(this.nc, {
        partitions,
        engineId,
        leaseMs: this.opts.leaseMs,
        replicas: this.opts.replicas,
        logger,
        // Opening a lane retries on its own: the lease loop never waits on it.
        onAcquire: async (p) => void this.lanes.open(p),
        onRelease: (p) => this.releasePartition(p),
      });
      await this.ownership.start();
      logger.info({ engineId, partitions, held: this.ownership.partitions }, "engine sharing partitions");
    } else {
      await this.lanes.openSingle();
    }
    this.timers.push(
      setInterval(() => this.registry.publishTops(), this.opts.topIntervalMs),
      setInterval(() => this.periodic(), Math.min(2_000, this.opts.snapshotIntervalMs)),
    );
    this.watchConnection();
  }

  /**
   * Brings to life the hunts of a lane that has just opened whose deadline is recorded, so that their
   * timers run on this engine even if no event arrives for them.
   */
  private async watchDeadlines(lane: Lane): Promise<void> {
    try {
      for (const huntId of await this.deadlines.recorded()) {
        if (this.lanes.keyOf(huntId) !== lane.key || this.registry.get(huntId) || !isValidHuntId(huntId))
          continue;
        await this.registry
          .activate(huntId, this.lanes.log, lane.position, () => this.lanes.laneOf(huntId) === lane)
          .catch(() => {}); // logged by the registry; the hunt's next event activates it again
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, "could not read the recorded deadlines");
    }
  }

  /** Stops a partition's lane (finishing and acking its batch), then snapshots and drops its hunts. */
  private async releasePartition(p: number): Promise<void> {
    const lane = await this.lanes.close(p);
    const ofPartition = (huntId: string) => this.lanes.keyOf(huntId) === p;
    // Activations still running for the partition's hunts end now: their hunts are the next owner's.
    this.registry.cancelActivations(ofPartition);
    const hunts = await this.registry.passivateWhere(ofPartition);
    // A hunt set aside here is the next owner's now: it rebuilds it from the log.
    for (const huntId of [...this.registry.broken.keys()])
      if (ofPartition(huntId)) this.registry.broken.delete(huntId);
    if (lane) this.opts.logger.info({ partition: p, hunts }, "partition handed over");
  }

  /**
   * Routes a batch to its hunts; stays synchronous unless a hunt needs activating. A hunt live when
   * the batch arrived may be passivated while another one activates, so the check is made again
   * after every wait, until every hunt of the batch is live (or set aside), and the routing that
   * follows it runs in the same tick.
   */
  private onBatch(lane: Lane, batch: LogMessage[]): void | Promise<void> {
    let missing: Map<string, number> | undefined;
    for (const msg of batch) {
      const huntId = msg.huntId;
      if (this.registry.get(huntId) || this.registry.broken.has(huntId) || !isValidHuntId(huntId)) continue;
      missing ??= new Map();
      if (!missing.has(huntId)) missing.set(huntId, msg.seq - 1);
    }
    if (!missing) {
      this.routeBatch(lane, batch);
      return;
    }
    const activations = [...missing].map(([huntId, untilSeq]) =>
      this.activateForBatch(lane, huntId, untilSeq),
    );
    // Every activation ends before the batch does, one way or the other: a batch that failed while
    // an activation still ran could let its partition be handed over before that hunt came to life.
    return Promise.allSettled(activations).then((results) => {
      for (const r of results) if (r.status === "rejected") throw r.reason;
      return this.onBatch(lane, batch);
    });
  }

  /**
   * Activation on the input path retries until it succeeds, since skipping the batch would leave a
   * hole in the hunt's fold; meanwhile the batch stays unacked. A hunt whose own fold fails is set
   * aside instead, and the batch goes on without it. A lane closed meanwhile (its partition handed
   * over) gives up at once, unacked, without waiting for the attempt under way, whose hunt is then
   * dropped when it ends: its next owner folds the batch, and the hand-over does not wait on it.
   */
  private async activateForBatch(lane: Lane, huntId: string, untilSeq: number): Promise<void> {
    // The signal of this holding of the lane: a partition taken back later gets a new one, so an
    // activation begun now can never bring the hunt to life for that later holding.
    const signal = this.lanes.signal(lane.key);
    const stillHere = () => !signal.aborted;
    let onAbort!: () => void;
    const closed = new Promise<typeof LANE_CLOSED>((resolve) => {
      onAbort = () => resolve(LANE_CLOSED);
    });
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (let attempt = 1; ; attempt++) {
        if (signal.aborted)
          throw new Error(`hunt ${huntId}'s lane was closed while the hunt could not be activated`);
        try {
          const activation = this.registry.activate(huntId, this.lanes.log, untilSeq, stillHere);
          activation.catch(() => {}); // the registry logs its failure; the race below may not wait for it
          if ((await Promise.race([activation, closed])) !== LANE_CLOSED) return;
          continue; // closed: the check above ends it
        } catch (err) {
          if (err instanceof HuntBrokenError) return;
          this.lastActivationFailure = `hunt "${huntId}": ${(err as Error).message}`;
          if (this.stopping) throw new Error(`stopping while hunt ${huntId} could not be activated`);
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise((resolve) => {
            timer = setTimeout(resolve, backoffMs(attempt, 100, MAX_ACTIVATION_BACKOFF_MS));
          }),
          closed,
        ]);
        clearTimeout(timer);
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Folds each hunt's share of the batch, in order. */
  private routeBatch(lane: Lane, batch: LogMessage[]): void {
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
    for (const [huntId, msgs] of groups) {
      const hunt = this.registry.get(huntId);
      this.fedHunts.add(huntId);
      // A hunt set aside keeps its events in the log; it is rebuilt from them at the next start.
      if (hunt) this.registry.fold(huntId, hunt, msgs, now);
    }
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

  /** Time-based snapshots, passivation of idle hunts with nothing queued, and the lag reading. */
  private periodic(): void {
    // With input still queued or a batch in hand, an idle-looking hunt may have events on the way: keep it.
    this.registry.periodic(
      Date.now(),
      (huntId) =>
        this.lanes.lag === 0 && !this.lanes.busy(this.lanes.keyOf(huntId)) && !this.deadlines.has(huntId),
    );
    void this.lanes.refreshLag();
  }

  /** Logs connection changes; outputs lost in one are re-sent by the publisher until confirmed. */
  private watchConnection(): void {
    (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === "disconnect") {
          this.connected = false;
          this.disconnectedAt = performance.now();
          this.opts.logger.warn("disconnected from NATS; reconnecting");
        }
        if (s.type === "reconnect") {
          this.connected = true;
          this.opts.logger.warn({ unconfirmed: this.publisher.unconfirmed }, "reconnected to NATS");
        }
      }
    })().catch(() => {});
  }

  /**
   * Graceful stop: stop fetching, finish and ack the batch in hand, snapshot changed hunts. With NATS
   * gone, the parts that need it give up after `deadlineMs` overall, so the stop always ends.
   */
  async stop(deadlineMs = 8_000): Promise<void> {
    this.stopping = true;
    const { logger } = this.opts;
    const deadline = performance.now() + deadlineMs;
    const left = () => Math.max(0, deadline - performance.now());
    const within = async (what: string, work: Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        work.then(
          () => false,
          (err: Error) => {
            logger.warn({ err: err.message }, `${what} failed during shutdown`);
            return false;
          },
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), left());
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) logger.warn(`${what} did not finish before the shutdown deadline; skipped`);
    };
    for (const t of this.timers) clearInterval(t);
    this.queries.stop();
    this.deadlines.stop();
    if (this.ownership) await within("handing partitions back", this.ownership.stop());
    await within("stopping the consumers", this.lanes.stop());
    await within("finishing activations", this.registry.settleActivations());
    const connected = this.connected && !this.nc.isClosed();
    const unconfirmed = await this.publisher.settle(Math.min(left(), 5_000));
    if (unconfirmed > 0) logger.error({ unconfirmed }, "outputs still unconfirmed at shutdown");
    this.registry.publishAllTops();
    if (connected && unconfirmed === 0) await within("final snapshots", this.registry.snapshotAll());
    else logger.warn("final snapshots skipped: NATS is not reachable; the next start replays the log tail");
    await within("flushing", this.nc.flush());
    this.publisher.close();
  }

  /** The live fold of a hunt, if active (for tests and the demo). */
  fold(huntId: string): HuntFold | undefined {
    return this.registry.get(huntId)?.fold;
  }
}
