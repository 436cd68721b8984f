// Answers `hunt.<id>.query.ledger` off the hot path: the hunt's log is folded again in a fresh fold
// (actors/hunt/ledger.ts), read at the reader's own pace and a slice at a time, so the engine's own
// work goes on between slices, and a page replies within its page time. The replay of the last
// ledger request of each competitor is kept, paused, for the next page; replays running at once and
// replays kept are bounded engine-wide.
import { createRankIndex, type RankIndexKind } from "../../native/index.ts";
import type { LedgerEntry, QueryRequestMap } from "../../schemas/index.ts";
import type { EventLog } from "../../streams/index.ts";
import {
  type Competitor,
  decodeLedgerCursor,
  encodeLedgerCursor,
  type HuntFold,
  LedgerFold,
  type LedgerStep,
  ledgerShortcut,
  type QueryReply,
  queryError,
} from "../hunt/index.ts";
import type { EngineMetrics } from "./metrics.ts";

/** How ledger replays run; every field has a default. */
export interface LedgerReplayOptions {
  indexKind?: RankIndexKind;
  /** Ledger replays that may run at once, engine-wide; a request beyond them is refused `busy`. */
  maxRunning?: number;
  /** Paused replays kept for a next page, engine-wide (one per competitor of a hunt); the oldest goes first. */
  maxPaused?: number;
  /** How long a paused replay waits for its next page before it is dropped. */
  idleMs?: number;
  /** Inputs folded between two turns of the event loop. */
  sliceSize?: number;
  /**
   * The longest a page folds before it replies. A page whose time runs out holds the entries found
   * so far (maybe none) and a `next` cursor that goes on from where the replay stopped.
   */
  pageBudgetMs?: number;
  metrics?: EngineMetrics | undefined;
}

/** One hunt's log folded for one competitor, up to `ledger.fold.seq`. */
interface Replay {
  huntId: string;
  /** The competitor, as a key ("p:<id>" or "t:<id>"). */
  key: string;
  ledger: LedgerFold;
  /** Every entry with a seq in (`from`, ledger.fold.seq], in order. */
  buffered: LedgerEntry[];
  from: number;
  idleTimer?: NodeJS.Timeout;
}

/** Where a paused replay is kept: by hunt and competitor. */
function pausedKey(huntId: string, key: string): string {
  return `${huntId}\n${key}`;
}

function keyOf(competitor: Competitor): string {
  return competitor.playerId !== undefined ? `p:${competitor.playerId}` : `t:${competitor.teamId}`;
}

/** The engine's ledger replays. */
export class LedgerReplays {
  /** Paused replays by hunt and competitor, oldest first. */
  private readonly paused = new Map<string, Replay>();
  private running = 0;
  private stopped = false;
  private readonly opts: Required<Omit<LedgerReplayOptions, "metrics">> &
    Pick<LedgerReplayOptions, "metrics">;

  constructor(
    /** The engine's log (it knows the partitions). */
    private readonly log: EventLog,
    options: LedgerReplayOptions = {},
  ) {
    this.opts = {
      indexKind: "auto",
      maxRunning: 2,
      maxPaused: 4,
      idleMs: 30_000,
      sliceSize: 250,
      pageBudgetMs: 1500,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    };
  }

  /** One page of a competitor's ledger, read up to the live fold's seq. */
  async page(fold: HuntFold, request: QueryRequestMap["ledger"]): Promise<QueryReply> {
    const competitor: Competitor =
      request.playerId !== undefined ? { playerId: request.playerId } : { teamId: request.teamId! };
    const shortcut = ledgerShortcut(fold, competitor);
    if (shortcut) return shortcut;
    let after = 0;
    if (request.after !== undefined) {
      const decoded = decodeLedgerCursor(request.after);
      if (decoded === undefined)
        return queryError("invalid_request", "after: is not a cursor from a ledger reply");
      after = decoded;
    }
    const bound = fold.seq;
    if (after >= bound) return { seq: bound, entries: [] };
    if (this.stopped)
      return queryError("unavailable", "the engine is stopping; ask another engine or try again");
    const huntId = fold.huntId;
    const key = keyOf(competitor);
    let replay = this.take(huntId, key, after);
    if (this.running >= this.opts.maxRunning) {
      if (replay) this.pause(replay);
      this.opts.metrics?.ledgerRefused.inc();
      return queryError(
        "busy",
        `${this.running} ledger replays are running on this engine, the most it runs at once; try again in a few seconds`,
      );
    }
    this.opts.metrics?.ledgerReplays.inc({ from: replay ? "resumed" : "start" });
    replay ??= {
      huntId,
      key,
      ledger: new LedgerFold(huntId, createRankIndex(this.opts.indexKind), competitor),
      buffered: [],
      from: 0,
    };
    this.running++;
    let outOfTime: boolean;
    try {
      outOfTime = await this.advance(replay, after, request.limit, bound);
    } catch (err) {
      replay.ledger.fold.dispose();
      return queryError(
        "unavailable",
        `the ledger of hunt "${huntId}" could not be read from its log (${(err as Error).message}); try again`,
      );
    } finally {
      this.running--;
    }
    const entries = replay.buffered.slice(0, request.limit);
    const reply: QueryReply = { seq: bound, entries };
    if (replay.buffered.length > request.limit) reply.next = encodeLedgerCursor(entries.at(-1)!.seq);
    // A replay that started over may not be back at the cursor yet: the next one never goes back.
    else if (outOfTime) reply.next = encodeLedgerCursor(Math.max(after, replay.ledger.fold.seq));
    this.pause(replay);
    return reply;
  }

  /** Drops every paused replay; a running one stops at its next slice. */
  stop(): void {
    this.stopped = true;
    for (const replay of this.paused.values()) this.drop(replay);
  }

  /** Ledger replays running now. */
  get runningCount(): number {
    return this.running;
  }

  /**
   * The competitor's paused replay of the hunt if it can serve entries after `after` (it has kept
   * every entry after it); one that cannot (an earlier page is asked for) is dropped.
   */
  private take(huntId: string, key: string, after: number): Replay | undefined {
    const replay = this.paused.get(pausedKey(huntId, key));
    if (!replay) return undefined;
    if (after >= replay.from) {
      this.paused.delete(pausedKey(huntId, key));
      clearTimeout(replay.idleTimer);
      return replay;
    }
    this.drop(replay);
    return undefined;
  }

  private pause(replay: Replay): void {
    if (this.stopped) {
      replay.ledger.fold.dispose();
      return;
    }
    const id = pausedKey(replay.huntId, replay.key);
    const other = this.paused.get(id);
    if (other) this.drop(other);
    this.paused.set(id, replay);
    replay.idleTimer = setTimeout(() => this.drop(replay), this.opts.idleMs);
    replay.idleTimer.unref();
    for (const oldest of this.paused.values()) {
      if (this.paused.size <= this.opts.maxPaused) break;
      this.drop(oldest);
    }
  }

  private drop(replay: Replay): void {
    clearTimeout(replay.idleTimer);
    const id = pausedKey(replay.huntId, replay.key);
    if (this.paused.get(id) === replay) this.paused.delete(id);
    replay.ledger.fold.dispose();
  }

  /**
   * Folds on until more than `limit` entries after `after` are buffered (so the page knows whether
   * another follows), the log is folded up to `bound`, or the page's time is up; true in the last case.
   */
  private async advance(replay: Replay, after: number, limit: number, bound: number): Promise<boolean> {
    let first = 0;
    while (first < replay.buffered.length && replay.buffered[first]!.seq <= after) first++;
    replay.buffered.splice(0, first);
    replay.from = after;
    const { ledger, buffered } = replay;
    if (buffered.length > limit || ledger.fold.seq >= bound) return false;
    const deadline = performance.now() + this.opts.pageBudgetMs;
    const slice = this.opts.sliceSize;
    // A page folds at least a slice, so that paging always gets on.
    let folded = 0;
    const step: LedgerStep = (_input, entry) => {
      if (entry && entry.seq > after) buffered.push(entry);
    };
    for await (const batch of this.log.readPaced(replay.huntId, ledger.fold.seq + 1, { untilSeq: bound })) {
      for (let i = 0; i < batch.length; i += slice) {
        const part = batch.slice(i, i + slice);
        ledger.feed(part, step);
        this.opts.metrics?.ledgerInputs.inc(part.length);
        folded += part.length;
        // The engine's own work (batches, queries, timers) runs here, between two slices.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.stopped) throw new Error("the engine is stopping");
        if (buffered.length > limit) return false;
        if (folded >= slice && performance.now() >= deadline && ledger.fold.seq < bound) return true;
      }
    }
    return false;
  }
}
