// The live hunts of one engine: exactly one copy of each, activated from its newest snapshot plus the
// log tail (within a deadline), folded batch by batch, snapshotted once its outputs are stored,
// passivated when idle, and set aside with its reason if its fold ever fails, so that no hunt waits
// on a broken one.
import type { Logger } from "pino";
import { createRankIndex, nativeAvailable, nativeTotals, type RankIndexKind } from "../../native/index.ts";
import type {
  EventLog,
  LogMessage,
  OutputPosition,
  OutputPublisher,
  SnapshotStore,
} from "../../streams/index.ts";
import {
  type CheckpointSigner,
  CorruptSnapshotError,
  decodeHunt,
  encodeHunt,
  HuntFold,
} from "../hunt/index.ts";
import type { EngineMetrics } from "./metrics.ts";
import { HuntOutputs, type OutputTarget } from "./outputs.ts";

/** One live hunt. */
export interface LiveHunt extends OutputTarget {
  /** Events folded since activation, and at the last snapshot. */
  events: number;
  eventsAtSnapshot: number;
  /** Engine clock of the last snapshot and of the last event or query (not hunt state). */
  snapshotAt: number;
  lastActiveAt: number;
  snapshotting: Promise<void> | undefined;
}

/** What an activation reads after its snapshot: the log up to `untilSeq`, unless abandoned. */
interface TailRead {
  log: EventLog;
  untilSeq: number;
  abandon: { abandoned: boolean };
  /** The seq the snapshot was at (0 without one), and when the activation began (for its log line). */
  snapshotSeq: number;
  started: number;
}

/** A hunt whose fold failed: kept out of the engine until it restarts, its events kept in the log. */
export interface BrokenHunt {
  /** The first input seq it could not fold. */
  seq: number;
  reason: string;
}

/** How the registry runs. */
export interface RegistryOptions {
  indexKind: RankIndexKind;
  topN: number;
  snapshotEvery: number;
  snapshotIntervalMs: number;
  idleMs: number;
  /** Longest an activation may take before it is abandoned (and retried by whoever needs the hunt). */
  activationTimeoutMs: number;
  logger: Logger;
  metrics: EngineMetrics | undefined;
  /** Signs the checkpoints, when the engine has a signing key. */
  signer?: CheckpointSigner | undefined;
  /** Told after a live hunt's fold changed (activated, or a batch folded). */
  onChange?: (huntId: string, hunt: LiveHunt) => void;
  /** Told when a live hunt is dropped (passivated, set aside, or its lane lost). */
  onDrop?: (huntId: string) => void;
}

/** An activation that failed because the hunt's own fold failed: retrying cannot help. */
export class HuntBrokenError extends Error {
  readonly code = "hunt_broken";
  constructor(
    readonly huntId: string,
    readonly broken: BrokenHunt,
  ) {
    super(`hunt "${huntId}" stopped at input ${broken.seq}: ${broken.reason}`);
    this.name = "HuntBrokenError";
  }
}

/** An activation that did not finish within its deadline. */
export class ActivationTimeoutError extends Error {
  readonly code = "activation_timeout";
  constructor(huntId: string, ms: number) {
    super(`activating hunt "${huntId}" took longer than ${ms} ms`);
    this.name = "ActivationTimeoutError";
  }
}

/** Tops a round publishes per event-loop turn: about a millisecond of work. */
const TOPS_PER_TURN = 64;

export class HuntRegistry {
  private readonly live = new Map<string, LiveHunt>();
  /** The hunts of the round of tops being published, if one is under way. */
  private topsRound: LiveHunt[] | undefined;
  private readonly activating = new Map<
    string,
    { promise: Promise<LiveHunt>; startedAt: number; cancel: () => void }
  >();
  /** Hunts whose fold failed, with the reason. */
  readonly broken = new Map<string, BrokenHunt>();
  private readonly outputs: HuntOutputs;

  constructor(
    private readonly publisher: OutputPublisher,
    private readonly snapshots: SnapshotStore,
    private readonly lastStoredOutput: (huntId: string) => Promise<OutputPosition | undefined>,
    private readonly opts: RegistryOptions,
  ) {
    this.outputs = new HuntOutputs(publisher, opts.metrics, opts.signer);
  }

  /** The live hunt, if any. */
  get(huntId: string): LiveHunt | undefined {
    return this.live.get(huntId);
  }

  /** Live hunts. */
  get size(): number {
    return this.live.size;
  }

  /** The activation under way for a hunt, if any. */
  activation(huntId: string): Promise<LiveHunt> | undefined {
    return this.activating.get(huntId)?.promise;
  }

  /** How long the oldest activation under way has been running, ms (0 when none). */
  oldestActivationMs(now = performance.now()): number {
    let oldest = 0;
    for (const a of this.activating.values()) oldest = Math.max(oldest, now - a.startedAt);
    return oldest;
  }

  /**
   * The hunt's one live copy: the live one, the one being activated, or a new activation up to
   * `untilSeq`. Every path that brings a hunt to life comes here, so there is never a second copy.
   */
  activate(
    huntId: string,
    log: EventLog,
    untilSeq: number,
    /** Checked when the activation ends: false (the hunt moved elsewhere meanwhile) discards it. */
    stillHere: () => boolean = () => true,
  ): Promise<LiveHunt> {
    const live = this.live.get(huntId);
    if (live) return Promise.resolve(live);
    const broken = this.broken.get(huntId);
    if (broken) return Promise.reject(new HuntBrokenError(huntId, broken));
    const pending = this.activating.get(huntId);
    if (pending) return pending.promise;
    const startedAt = performance.now();
    // An activation ends early at its deadline, or when it is cancelled (its partition moved away):
    // the rebuild is abandoned, and the activation fails with the reason.
    const abandon = { abandoned: false };
    let end!: (reason: Error) => void;
    const ended = new Promise<never>((_, reject) => {
      end = (reason) => {
        abandon.abandoned = true;
        reject(reason);
      };
    });
    const moved = () => new Error(`hunt "${huntId}" moved to another engine while it was activating`);
    const timer = setTimeout(
      () => end(new ActivationTimeoutError(huntId, this.opts.activationTimeoutMs)),
      this.opts.activationTimeoutMs,
    );
    const rebuilding = this.rebuild(huntId, log, untilSeq, abandon);
    // A rebuild that ends after its activation ended belongs to no one: its memory goes now.
    rebuilding.then(
      (hunt) => {
        if (abandon.abandoned) hunt.fold.dispose();
      },
      () => {},
    );
    const promise = Promise.race([rebuilding, ended])
      .then((hunt) => {
        if (!stillHere()) {
          hunt.fold.dispose();
          throw moved();
        }
        this.live.set(huntId, hunt);
        this.opts.metrics?.activationSeconds.observe((performance.now() - startedAt) / 1000);
        this.opts.onChange?.(huntId, hunt);
        return hunt;
      })
      .catch((err: Error) => {
        if (err instanceof HuntBrokenError) this.setBroken(huntId, err.broken, err);
        else this.opts.logger.error({ huntId, err: err.message }, "activation failed");
        throw err;
      })
      .finally(() => {
        clearTimeout(timer);
        this.activating.delete(huntId);
      });
    this.activating.set(huntId, { promise, startedAt, cancel: () => end(moved()) });
    return promise;
  }

  /** Ends the activations under way of the hunts `which` picks (their partition has moved away). */
  cancelActivations(which: (huntId: string) => boolean): void {
    for (const [huntId, a] of this.activating) if (which(huntId)) a.cancel();
  }

  private async rebuild(
    huntId: string,
    log: EventLog,
    untilSeq: number,
    abandon: { abandoned: boolean },
  ): Promise<LiveHunt> {
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
    if (fold && !fold.inputsKnown) {
      // Written before checkpoints: it does not say how many inputs it covers, so the checkpoints
      // after it could not be numbered. Once rebuilt, the next snapshot carries the count.
      logger.info({ huntId }, "the snapshot predates checkpoints; rebuilding from the log");
      fold.dispose();
      fold = undefined;
    }
    const snapshotSeq = fold?.seq ?? 0;
    fold ??= new HuntFold(huntId, createRankIndex(indexKind), topN);
    try {
      return await this.replayTail(fold, { log, untilSeq, abandon, snapshotSeq, started });
    } catch (err) {
      fold.dispose();
      throw err;
    }
  }

  /** The rest of an activation: the fold from its snapshot (or from nothing) on to `untilSeq`. */
  private async replayTail(fold: HuntFold, tail: TailRead): Promise<LiveHunt> {
    const { log, untilSeq, abandon, snapshotSeq, started } = tail;
    const huntId = fold.huntId;
    const { logger } = this.opts;
    const stored = await this.lastStoredOutput(huntId);
    const now = Date.now();
    const hunt: LiveHunt = {
      fold,
      publishAfter: stored?.seq ?? 0,
      publishAfterN: stored?.n ?? -1,
      topPublished: -1,
      teamTopPublished: -1,
      events: 0,
      eventsAtSnapshot: 0,
      snapshotAt: now,
      lastActiveAt: now,
      snapshotting: undefined,
    };
    let replayed = 0;
    if (untilSeq > fold.seq) {
      for await (const batch of log.readBatches(huntId, fold.seq + 1, { untilSeq })) {
        if (abandon.abandoned) throw new Error("abandoned");
        this.foldInto(hunt, batch);
        replayed += batch.length;
      }
    }
    hunt.events = replayed;
    logger.info(
      {
        huntId,
        snapshotSeq,
        replayed,
        seq: fold.seq,
        outputsStoredUpTo: stored?.seq ?? 0,
        ms: Math.round(performance.now() - started),
      },
      "hunt activated",
    );
    return hunt;
  }

  /** Folds messages into a hunt, publishing what was not stored yet; a failure breaks the hunt. */
  private foldInto(hunt: LiveHunt, msgs: readonly LogMessage[]): void {
    const fold = hunt.fold;
    const appliedBefore = fold.appliedCount;
    this.outputs.target = hunt;
    try {
      fold.applyBatch(msgs, this.outputs);
    } catch (err) {
      // The fold rejects any input it fails on, so this is the index or the engine itself failing:
      // the hunt's state may be half-changed and must not be used or snapshotted again.
      throw new HuntBrokenError(fold.huntId, {
        seq: msgs[0]?.seq ?? fold.seq,
        reason: err instanceof Error ? err.message : String(err),
      });
    }
    this.opts.metrics?.applied.inc(fold.appliedCount - appliedBefore);
  }

  /**
   * Folds a live hunt's share of a batch. If the fold fails, the hunt is set aside (and reported) and
   * the batch goes on for every other hunt; its events stay in the log for the next start.
   */
  fold(huntId: string, hunt: LiveHunt, msgs: readonly LogMessage[], now: number): void {
    try {
      this.foldInto(hunt, msgs);
    } catch (err) {
      if (!(err instanceof HuntBrokenError)) throw err;
      this.setBroken(huntId, err.broken, err);
      return;
    }
    hunt.events += msgs.length;
    hunt.lastActiveAt = now;
    this.opts.onChange?.(huntId, hunt);
    if (hunt.events - hunt.eventsAtSnapshot >= this.opts.snapshotEvery) void this.snapshot(huntId, hunt);
  }

  private setBroken(huntId: string, broken: BrokenHunt, err: Error): void {
    if (this.broken.has(huntId)) return;
    this.broken.set(huntId, broken);
    this.opts.metrics?.huntFailures.inc();
    this.opts.logger.error(
      { huntId, seq: broken.seq, err: broken.reason, stack: err.stack },
      "a hunt's fold failed: the hunt is set aside until the engine restarts, every other hunt goes on",
    );
    this.drop(huntId);
  }

  /** Drops a hunt's live copy without a snapshot (its state is not to be trusted, or is held elsewhere). */
  drop(huntId: string): void {
    const hunt = this.live.get(huntId);
    if (!hunt) return;
    this.live.delete(huntId);
    hunt.fold.dispose();
    this.opts.onDrop?.(huntId);
  }

  /** Drops every live hunt that matches (a lane lost mid-batch: they are rebuilt from snapshot and log). */
  dropWhere(matches: (huntId: string) => boolean): void {
    for (const huntId of [...this.live.keys()]) if (matches(huntId)) this.drop(huntId);
  }

  /** Snapshots the hunts that match if they changed, then drops them. */
  async passivateWhere(matches: (huntId: string) => boolean): Promise<number> {
    const leaving = [...this.live].filter(([huntId]) => matches(huntId));
    await Promise.all(leaving.map(([huntId, hunt]) => this.passivate(huntId, hunt)));
    return leaving.length;
  }

  private async passivate(huntId: string, hunt: LiveHunt): Promise<void> {
    if (hunt.events !== hunt.eventsAtSnapshot) await this.snapshot(huntId, hunt);
    else await hunt.snapshotting;
    if (this.live.get(huntId) !== hunt) return;
    this.drop(huntId);
    this.opts.metrics?.passivated.inc();
  }

  /**
   * Writes a snapshot once the outputs it covers are stored: a snapshot must never get ahead of the
   * outputs, or a crash between the two would lose them for good.
   */
  snapshot(huntId: string, hunt: LiveHunt): Promise<void> {
    if (hunt.snapshotting) return hunt.snapshotting;
    const { logger } = this.opts;
    const bytes = encodeHunt(hunt.fold);
    const seq = hunt.fold.seq;
    const events = hunt.events;
    const task = (async () => {
      const deadline = performance.now() + 10_000;
      for (;;) {
        const oldest = this.publisher.oldestUnconfirmed(huntId);
        if (oldest === undefined || oldest > seq) break;
        if (performance.now() > deadline) {
          logger.warn({ huntId, seq, oldest }, "outputs not confirmed stored yet; snapshot postponed");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await this.snapshots.put(huntId, bytes);
      hunt.snapshotAt = Date.now();
      hunt.eventsAtSnapshot = events;
      logger.debug({ huntId, seq, bytes: bytes.length }, "snapshot stored");
    })()
      .catch((err: Error) => logger.warn({ huntId, err: err.message }, "snapshot failed"))
      .finally(() => {
        hunt.snapshotting = undefined;
      });
    hunt.snapshotting = task;
    return task;
  }

  /** Time-based snapshots, and passivation of idle hunts when `mayPassivate` says nothing is queued for them. */
  periodic(now: number, mayPassivate: (huntId: string) => boolean): void {
    for (const [huntId, hunt] of this.live) {
      if (hunt.snapshotting) continue;
      if (now - hunt.lastActiveAt >= this.opts.idleMs && mayPassivate(huntId)) {
        void this.passivate(huntId, hunt).then(() =>
          this.opts.logger.info({ huntId, seq: hunt.fold.seq }, "hunt passivated"),
        );
      } else if (
        hunt.events !== hunt.eventsAtSnapshot &&
        now - hunt.snapshotAt >= this.opts.snapshotIntervalMs
      ) {
        void this.snapshot(huntId, hunt);
      }
    }
  }

  /**
   * Starts a round that publishes the top-N of every live hunt whose top changed, TOPS_PER_TURN
   * hunts per event-loop turn. With thousands of small hunts, most change between two rounds, and
   * publishing them all at once held the loop for 20–45 ms every round, which every event arriving
   * meanwhile waited for. A round still going when the next is due lets that one pass, so rounds
   * start at least an interval apart and each publishes a hunt's tops at most once. A hunt late in
   * one round and early in the next can see less than an interval between the two; holding it back
   * a round instead (tried) delayed a quarter of busy hunts' tops by a whole interval.
   */
  publishTops(): void {
    if (this.topsRound !== undefined) return;
    const round: LiveHunt[] = [];
    for (const hunt of this.live.values()) if (this.outputs.topChanged(hunt)) round.push(hunt);
    if (round.length === 0) return;
    this.topsRound = round;
    let at = 0;
    const turn = () => {
      if (this.topsRound !== round) return; // publishAllTops took over
      try {
        const end = Math.min(round.length, at + TOPS_PER_TURN);
        for (; at < end; at++) {
          const hunt = round[at]!;
          // A hunt passivated or dropped since the round began has nothing to show.
          if (this.live.get(hunt.fold.huntId) === hunt) this.outputs.top(hunt, this.opts.topN);
        }
      } catch (err) {
        // The next round starts afresh: the hunts whose tops did not go out, the one that threw
        // included, are still changed.
        this.topsRound = undefined;
        this.opts.logger.warn(
          { err: (err as Error).message },
          "publishing tops failed; the next round tries again",
        );
        return;
      }
      if (at < round.length) setImmediate(turn);
      else this.topsRound = undefined;
    };
    turn();
  }

  /** Publishes every changed top now, ending any round under way (on stop). */
  publishAllTops(): void {
    this.topsRound = undefined;
    for (const hunt of this.live.values()) this.outputs.top(hunt, this.opts.topN);
  }

  /** Final snapshots of the hunts that changed (graceful stop). */
  async snapshotAll(): Promise<void> {
    await Promise.all(
      [...this.live].map(([huntId, hunt]) =>
        hunt.events !== hunt.eventsAtSnapshot ? this.snapshot(huntId, hunt) : hunt.snapshotting,
      ),
    );
  }

  /** Waits for the activations under way to end, one way or the other. */
  async settleActivations(): Promise<void> {
    await Promise.allSettled([...this.activating.values()].map((a) => a.promise));
  }

  /**
   * Bytes and allocations of the rank indexes: the native ones' totals for the whole process (boards
   * of hunts being activated and of ledger replays, and dropped ones not yet collected, included), read
   * in one call, and the JS boards of the live hunts, asked one by one.
   */
  indexStats(): { bytes: number; allocations: number } {
    let { bytes, allocations } = nativeTotals();
    // With every board native there is nothing to add, and no need to walk thousands of hunts (the
    // demo and the benchmarks ask four times a second).
    const { indexKind } = this.opts;
    if (indexKind === "native" || (indexKind === "auto" && nativeAvailable())) return { bytes, allocations };
    for (const hunt of this.live.values()) {
      for (const index of hunt.fold.boards) {
        const s = index.stats();
        bytes += s.bytes;
        allocations += s.allocations;
      }
    }
    return { bytes, allocations };
  }
}
