// What `cairn audit` reads from a hunt's log: a competitor's statement (their ledger), or the hunt's
// report (the organisers' actions, applied or rejected, the rejections by code, the standings and the
// stateHash). Pure, over the ledger's fold: the caller reads the log.
import type { RankEntry, RankIndex } from "../../native/index.ts";
import { decodeEvent, type LedgerEntry } from "../../schemas/index.ts";
import { stateHash } from "./codec.ts";
import type { FoldInput } from "./fold.ts";
import { type Competitor, LedgerFold, type LedgerStep } from "./ledger.ts";

/** The organisers' actions the report lists, in the contract's words: adjustments, reviews, disqualifications, the freeze, the end and finalisation. */
export const ORGANISER_ACTIONS: ReadonlySet<string> = new Set([
  "ScoreAdjusted",
  "SubmissionReviewed",
  "PlayerDisqualified",
  "StandingsFrozen",
  "StandingsRevealed",
  "HuntEnded",
  "HuntFinalized",
]);

/** One organiser's action and its verdict. */
export interface OrganiserAction {
  seq: number;
  /** JetStream time, ms since the epoch, and the hunt's running time at the action. */
  time: number;
  runningMs: number;
  type: string;
  eventId: string | null;
  /** Applied, or rejected with the code and message. */
  applied: boolean;
  code?: string;
  message?: string;
  /** Whom it names, and what it said, as far as the input could be read. */
  playerId?: string;
  teamId?: string;
  submissionId?: string;
  delta?: number;
  approved?: boolean;
  points?: number;
  by?: string;
  reason?: string;
}

/** The hunt's report at the last input read. */
export interface HuntReport {
  huntId: string;
  seq: number;
  /** Inputs read. */
  events: number;
  status: string;
  /** Whether the result is certified: the hunt is finalised, and nothing can change it any more. */
  final: boolean;
  players: number;
  stateHash: string;
  actions: OrganiserAction[];
  /** Rejected inputs by code, and in all. */
  rejections: Record<string, number>;
  rejected: number;
  /** The top of the player board. */
  standings: RankEntry[];
}

const STRING_FIELDS = ["playerId", "teamId", "submissionId", "by"] as const;

/** Folds a hunt's log for its audit: the verdict of every input, and the competitor's entries if any. */
export class HuntAudit {
  readonly ledger: LedgerFold;
  /** The competitor's entries, when there is a competitor. */
  readonly entries: LedgerEntry[] = [];
  readonly actions: OrganiserAction[] = [];
  private readonly rejections = new Map<string, number>();
  private rejected = 0;
  /** Inputs read. */
  events = 0;

  constructor(huntId: string, index: RankIndex, competitor: Competitor | null) {
    this.ledger = new LedgerFold(huntId, index, competitor);
  }

  /** Folds the next inputs of the log, in order. */
  feed(inputs: readonly FoldInput[]): void {
    this.ledger.feed(inputs, this.step);
  }

  private readonly step: LedgerStep = (input, entry, rejection) => {
    this.events++;
    if (entry) this.entries.push(entry);
    if (rejection) {
      this.rejected++;
      this.rejections.set(rejection.code, (this.rejections.get(rejection.code) ?? 0) + 1);
    }
    // A statement needs the competitor's entries only; the report reads every input's type.
    if (this.ledger.competitor !== null) return;
    const decoded = decodeEvent(input.data);
    const type = decoded.ok ? decoded.event.type : decoded.type;
    if (type === null || !ORGANISER_ACTIONS.has(type)) return;
    const action: OrganiserAction = {
      seq: input.seq,
      time: input.time,
      runningMs: this.ledger.fold.runningAt(input.time),
      type,
      eventId: decoded.ok ? decoded.event.id : decoded.eventId,
      applied: rejection === undefined,
    };
    if (rejection) {
      action.code = rejection.code;
      action.message = rejection.message;
    }
    if (decoded.ok) {
      const data = decoded.event.data as unknown as Record<string, unknown>;
      for (const name of STRING_FIELDS) if (typeof data[name] === "string") action[name] = data[name];
      if (typeof data.reviewer === "string" && action.by === undefined) action.by = data.reviewer;
      if (typeof data.delta === "number") action.delta = data.delta;
      if (typeof data.points === "number") action.points = data.points;
      if (typeof data.approved === "boolean") action.approved = data.approved;
      // HuntEnded's reason may be any JSON value.
      if (data.reason !== undefined) {
        action.reason = typeof data.reason === "string" ? data.reason : JSON.stringify(data.reason);
      }
    }
    this.actions.push(action);
  };

  /** The hunt's report at the last input read, with the top `topN` of the board. */
  report(topN: number): HuntReport {
    const fold = this.ledger.fold;
    const codes = [...this.rejections.keys()].sort();
    return {
      huntId: fold.huntId,
      seq: fold.seq,
      events: this.events,
      status: fold.status,
      final: fold.status === "finalized",
      players: fold.joined,
      stateHash: stateHash(fold),
      actions: this.actions,
      rejections: Object.fromEntries(codes.map((code) => [code, this.rejections.get(code)!])),
      rejected: this.rejected,
      standings: fold.index.top(topN),
    };
  }
}
