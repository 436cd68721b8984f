// The engine's input lanes: one durable consumer for the whole log, or one per partition it holds.
// A lane knows how far it got; the lanes together know the partition count, and so hand out the one
// correctly built EventLog that activations read a hunt's history from.
import { setMaxListeners } from "node:events";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  type BatchConsumer,
  consumeBatches,
  EVENTS_STREAM,
  EventLog,
  type LogMessage,
  noteJetStreamFailure,
  partitionFilter,
  partitionOf,
} from "../../streams/index.ts";
import type { EngineMetrics } from "./metrics.ts";

/** One durable consumer and how far it got. */
export interface Lane {
  /** Its partition, or SINGLE_LANE. */
  key: number;
  consumer: BatchConsumer;
  durable: string;
  /** The last stream seq handled on this lane. */
  position: number;
  /** Since when the batch in hand has been waiting (monotonic ms); undefined between batches. */
  batchSince: number | undefined;
}

/** The lane key of an unpartitioned engine. */
export const SINGLE_LANE = -1;

/**
 * The wait before retry number `attempt` (from 0): `firstMs`, doubling, at most `maxMs`, of which a
 * random half or less is taken off, so that the engines (and the lanes of one engine) that failed
 * together, when a server restarted, do not all come back to it at the same moment.
 */
export function backoffMs(attempt: number, firstMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(firstMs * 2 ** attempt, maxMs);
  return Math.round(ceiling * (1 - random() / 2));
}

/**
 * How long a lane that could not start waits before its next attempt: up to 250 ms, doubling, at
 * most 2 s (`backoffMs`). The usual refusal is a cluster node that restarted and leads the partition's
 * consumer; it answers again after 5-20 s on a loaded 2.9 cluster, and a longer wait would only add to
 * the time the partition's hunts go unanswered once it does.
 */
export function laneRetryDelayMs(attempt: number, random = Math.random): number {
  return backoffMs(attempt, 250, 2_000, random);
}

/** How the lanes run. */
export interface LanesOptions {
  /** Partitions of the hunt space; 0 for one lane over the whole log. */
  partitions: number;
  /** Durable consumer name (the prefix of the per-partition names). */
  durable: string;
  /** Messages per pull. */
  batchSize: number;
  /** Subject filter of the single lane; none (the whole stream) when unset. */
  filterSubject?: string | undefined;
  /** Longest wait for a lane's consumer to start before trying again. */
  openTimeoutMs: number;
  /**
   * The wait before a lane whose batch failed starts again: `firstMs` after its first failure in a
   * row, doubling with each further one, at most `maxMs` (`backoffMs`). Defaults: 1 s, 30 s.
   */
  restartBackoff?: { firstMs: number; maxMs: number };
  logger: Logger;
  metrics: EngineMetrics | undefined;
}

/** What the lanes call back. */
export interface LaneHandlers {
  /** Folds a batch of a lane; the batch is acked once it returns (or its promise resolves). */
  onBatch(lane: Lane, batch: LogMessage[]): void | Promise<void>;
  /** A lane's batch failed and the lane restarts: the hunts it fed may hold half a batch. */
  onLaneLost(key: number): void;
  /** A lane started consuming (at start-up, after a failure, or on taking a partition over). */
  onLaneOpened?(lane: Lane): void;
}

export class Lanes {
  /** The hunts' input log, read with this deployment's partition count. */
  readonly log: EventLog;
  private readonly lanes = new Map<number, Lane>();
  /** Lanes wanted (held partitions, or the single lane) with when they were wanted, open or not. */
  private readonly wanted = new Map<number, number>();
  /** The signal of each lane's current holding (see `signal`). */
  private readonly controllers = new Map<number, AbortController>();
  /** The one attempt under way to open each lane: a second `open` joins it. */
  private readonly opening = new Map<number, Promise<void>>();
  private pending = 0;
  private warnedUnmapped = false;
  private jsm: Promise<JetStreamManager> | undefined;
  private stopping = false;
  /** Batches that failed (each restarted its lane). */
  batchFailures = 0;
  /** Each lane's batch failures since its last batch that went through (none: no entry). */
  private readonly failuresInARow = new Map<number, number>();
  /** The last batch failure, for /healthz: when, why, its lane's failures in a row, the wait before it restarts. */
  lastFailure: { at: number; message: string; inARow: number; restartInMs: number } | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: LanesOptions,
    private readonly handlers: LaneHandlers,
  ) {
    this.log = new EventLog(nc, undefined, opts.partitions);
  }

  /** The lane key of a hunt: its partition, or the single lane. */
  keyOf(huntId: string): number {
    const partitions = this.opts.partitions;
    return partitions > 0 ? partitionOf(huntId, partitions) : SINGLE_LANE;
  }

  /** The open lane a hunt's events arrive on, if this engine consumes them now. */
  laneOf(huntId: string): Lane | undefined {
    return this.lanes.get(this.keyOf(huntId));
  }

  /**
   * A signal aborted when lane `key` stops being wanted (closed, or the engine stopping); aborted
   * already if it is not wanted. Each time a lane is wanted again it gets a fresh signal, so work
   * begun for an earlier holding of a partition can tell it is stale.
   */
  signal(key: number): AbortSignal {
    if (!this.wanted.has(key) || this.stopping) return AbortSignal.abort();
    let controller = this.controllers.get(key);
    if (!controller) {
      controller = new AbortController();
      // Every hunt activating for a batch listens on its lane's signal until it is live, and one
      // batch can bring thousands to life at once: that is not a leak for Node to warn about.
      setMaxListeners(0, controller.signal);
      this.controllers.set(key, controller);
    }
    return controller.signal;
  }

  /** Aborts what was begun for the current holding of lane `key`. */
  private endHolding(key: number): void {
    this.controllers.get(key)?.abort();
    this.controllers.delete(key);
  }

  /** Messages of this engine's lanes not yet handled (refreshed every few seconds). */
  get lag(): number {
    return this.pending;
  }

  /** Lanes wanted but not consuming, with how long each has waited (ms). */
  notConsuming(now = performance.now()): { key: number; waitingMs: number }[] {
    const out: { key: number; waitingMs: number }[] = [];
    for (const [key, since] of this.wanted) {
      if (!this.lanes.has(key)) out.push({ key, waitingMs: Math.round(now - since) });
    }
    return out;
  }

  /** Starts the single lane over the whole log. */
  openSingle(): Promise<void> {
    return this.open(SINGLE_LANE);
  }

  /**
   * Starts consuming a partition (or the single lane), retrying with a deadline on each attempt until
   * it consumes, the partition is closed, or the engine stops. Resolves once it consumes.
   */
  open(key: number): Promise<void> {
    if (this.lanes.has(key) || this.stopping) return Promise.resolve();
    if (!this.wanted.has(key)) this.wanted.set(key, performance.now());
    let opening = this.opening.get(key);
    if (!opening) {
      opening = this.keepOpening(key).finally(() => this.opening.delete(key));
      this.opening.set(key, opening);
    }
    return opening;
  }

  private async keepOpening(key: number): Promise<void> {
    const { logger } = this.opts;
    for (let attempt = 0; this.wanted.has(key) && !this.lanes.has(key) && !this.stopping; attempt++) {
      try {
        await this.openOnce(key);
        return;
      } catch (err) {
        if (!this.wanted.has(key) || this.stopping) return; // closed meanwhile: nothing to retry
        logger.warn(
          { lane: key, attempt, err: (err as Error).message },
          "could not start consuming; retrying",
        );
        noteJetStreamFailure(this.nc, err, logger);
        await new Promise((resolve) => setTimeout(resolve, laneRetryDelayMs(attempt)));
      }
    }
  }

  private async openOnce(key: number): Promise<void> {
    const { partitions, durable: prefix, batchSize, logger, openTimeoutMs } = this.opts;
    const durable = partitions > 0 ? `${prefix}-p${key}` : prefix;
    const filterSubject = partitions > 0 ? partitionFilter(key) : this.opts.filterSubject;
    const lane: Lane = {
      key,
      consumer: undefined as unknown as BatchConsumer,
      durable,
      position: 0,
      batchSince: undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    // An attempt past its deadline, or for a lane closed meanwhile (its partition may be another
    // engine's already), must not touch the durable nor pull from it.
    let timedOut = false;
    const starting = consumeBatches(this.nc, {
      durable,
      filterSubject,
      maxMessages: batchSize,
      onBatch: (batch) => this.handle(lane, batch),
      abandoned: () => timedOut || !this.wanted.has(key) || this.stopping,
      logger,
    });
    let consumer: BatchConsumer;
    try {
      consumer = await Promise.race([
        starting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the consumer ${durable} did not start within ${openTimeoutMs} ms`)),
            openTimeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      timedOut = true;
      // A start that finishes after its deadline would consume beside the next attempt: stop it.
      starting.then(
        (late) => void late.stop(),
        () => {},
      );
      throw err;
    }
    // A lane released or an engine stopped while it was starting must not consume.
    if (!this.wanted.has(key) || this.stopping || this.lanes.has(key)) {
      await consumer.stop();
      return;
    }
    lane.consumer = consumer;
    lane.position = consumer.startSeq - 1;
    this.lanes.set(key, lane);
    logger.info(
      { durable, filterSubject: filterSubject ?? "(whole stream)", from: consumer.startSeq },
      "consuming",
    );
    void consumer.closed.then((err) => this.onClosed(lane, err));
    this.handlers.onLaneOpened?.(lane);
  }

  /** Hands a batch to the host, noting how long it stays in hand. */
  private handle(lane: Lane, batch: LogMessage[]): void | Promise<void> {
    lane.batchSince = performance.now();
    const handled = this.handlers.onBatch(lane, batch);
    if (!handled) {
      this.wentThrough(lane);
      return;
    }
    return handled.then(
      () => this.wentThrough(lane),
      (err: unknown) => {
        lane.batchSince = undefined;
        throw err;
      },
    );
  }

  /** A batch of the lane went through: its next failure, if any, waits the shortest time again. */
  private wentThrough(lane: Lane): void {
    lane.batchSince = undefined;
    if (this.failuresInARow.size > 0) this.failuresInARow.delete(lane.key);
  }

  /** Open lanes whose batch in hand has waited, with how long (ms). */
  waitingBatches(now = performance.now()): { key: number; waitingMs: number }[] {
    const out: { key: number; waitingMs: number }[] = [];
    for (const lane of this.lanes.values()) {
      if (lane.batchSince !== undefined)
        out.push({ key: lane.key, waitingMs: Math.round(now - lane.batchSince) });
    }
    return out;
  }

  /** Whether a lane holds a batch now (its hunts may be about to change). */
  busy(key: number): boolean {
    return this.lanes.get(key)?.batchSince !== undefined;
  }

  /**
   * A batch that threw is not acked and stops its consumer: count it, say why, drop the lane's hunts
   * (they may hold half a batch) and start the lane again from the ack floor, so nothing is lost and
   * the engine never stalls in silence.
   */
  private onClosed(lane: Lane, err: Error | undefined): void {
    if (!err || this.stopping || this.lanes.get(lane.key) !== lane) return;
    this.batchFailures++;
    const inARow = (this.failuresInARow.get(lane.key) ?? 0) + 1;
    this.failuresInARow.set(lane.key, inARow);
    const { firstMs, maxMs } = this.opts.restartBackoff ?? { firstMs: 1_000, maxMs: 30_000 };
    const restartInMs = backoffMs(inARow - 1, firstMs, maxMs);
    this.lastFailure = { at: performance.now(), message: err.message, inARow, restartInMs };
    this.opts.metrics?.batchFailures.inc();
    this.opts.logger.error(
      { durable: lane.durable, err: err.message, stack: err.stack, inARow, restartInMs },
      "a batch failed; restarting the consumer",
    );
    this.lanes.delete(lane.key);
    if (this.wanted.has(lane.key)) this.wanted.set(lane.key, performance.now());
    this.handlers.onLaneLost(lane.key);
    setTimeout(() => void this.open(lane.key), restartInMs).unref();
  }

  /** Stops a lane's consumer, finishing and acking its batch in hand. */
  async close(key: number): Promise<Lane | undefined> {
    this.wanted.delete(key);
    this.failuresInARow.delete(key);
    this.endHolding(key);
    const lane = this.lanes.get(key);
    if (!lane) return undefined;
    this.lanes.delete(key);
    await lane.consumer.stop();
    this.opts.logger.info({ durable: lane.durable }, "stopped consuming");
    return lane;
  }

  /** Stops every lane (graceful stop). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const key of [...this.controllers.keys()]) this.endHolding(key);
    await Promise.all([...this.lanes.keys()].map((key) => this.close(key)));
  }

  /** Sums what the lanes' durable consumers still have to deliver. */
  async refreshLag(): Promise<void> {
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
}
