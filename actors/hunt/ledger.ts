// A competitor's ledger: why each of their rank messages was sent. The log is folded again in a fresh
// fold, one input at a time, and the competitor's outputs become entries with their input beside
// them, so the hot path stores nothing for it. Pure: the caller reads the log and keeps the time.
import type { RankIndex } from "../../native/index.ts";
import { decodeEvent, type LedgerEntry, type RejectionCode } from "../../schemas/index.ts";
import { type FoldInput, HuntFold, type OutputSink } from "./fold.ts";
import { type QueryReply, queryError } from "./queries.ts";

/** Whose ledger: a player's, or (in a team hunt) a team's. */
export type Competitor = { playerId: string; teamId?: undefined } | { teamId: string; playerId?: undefined };

/** The input types whose rank message opens a competitor's place on the board, not an entry. */
const OPENING_TYPES: ReadonlySet<string> = new Set(["PlayerJoined", "TeamCreated"]);

/** The optional entry fields, and the field of each input type's data each one is read from. */
const ENTRY_FIELDS: Record<
  string,
  ReadonlyArray<readonly ["reason" | "by" | "treasureId" | "submissionId", string]>
> = {
  TreasureFound: [["treasureId", "treasureId"]],
  HintTaken: [["treasureId", "treasureId"]],
  ScoreAdjusted: [
    ["reason", "reason"],
    ["by", "by"],
  ],
  PlayerDisqualified: [
    ["reason", "reason"],
    ["by", "by"],
  ],
  SubmissionReviewed: [
    ["submissionId", "submissionId"],
    ["reason", "reason"],
    ["by", "reviewer"],
  ],
};

/** Why the last input was not applied, as the fold said. */
export interface Rejection {
  code: RejectionCode;
  message: string;
}

/**
 * A fresh fold of a hunt that turns one competitor's outputs into ledger entries. Feed it the log from
 * seq 1 in order, one input at a time (`next`): the running time of an entry is read from the fold
 * right after its input, which no input with a rank message changes.
 */
export class LedgerFold {
  readonly fold: HuntFold;
  /** The input being folded. */
  private input: FoldInput | undefined;
  /** The entry the input produced, and why it was rejected if it was. */
  private entry: LedgerEntry | undefined;
  private rejection: Rejection | undefined;
  /** The competitor's score before the input (0 before joining). */
  private score = 0;
  private readonly sink: OutputSink;

  constructor(
    huntId: string,
    index: RankIndex,
    /** Whose entries to build; null for none (the fold's verdicts alone, for a hunt's report). */
    readonly competitor: Competitor | null,
  ) {
    this.fold = new HuntFold(huntId, index);
    const playerId = competitor?.playerId;
    const teamId = competitor?.teamId;
    this.sink = {
      rank: (seq, id, score, rank) => {
        if (id === playerId) this.record(seq, score, rank);
      },
      teamRank: (seq, id, score, rank) => {
        if (id === teamId) this.record(seq, score, rank);
      },
      rejected: (_seq, _eventId, _type, code, message) => {
        this.rejection = { code, message };
      },
    };
  }

  /** Folds the next input of the log; returns the competitor's entry it produced, if any. */
  next(input: FoldInput): LedgerEntry | undefined {
    this.input = input;
    this.entry = undefined;
    this.rejection = undefined;
    this.fold.applyBatch([input], this.sink);
    this.input = undefined;
    return this.entry;
  }

  /** Why the input `next` last folded was rejected; undefined when it was applied. */
  get lastRejection(): Rejection | undefined {
    return this.rejection;
  }

  /** The competitor's output for the input in hand: an entry, unless it opened their place. */
  private record(seq: number, score: number, rank: number): void {
    const input = this.input!;
    const decoded = decodeEvent(input.data);
    // Only an applied input has outputs, so it decoded once already and decodes the same again.
    if (!decoded.ok) throw new Error(`input ${seq} has an output but does not decode: ${decoded.message}`);
    const { type, id, data } = decoded.event;
    const delta = score - this.score;
    this.score = score;
    if (OPENING_TYPES.has(type)) return;
    const entry: LedgerEntry = {
      seq,
      time: input.time,
      runningMs: this.fold.runningAt(input.time),
      type,
      eventId: id,
      delta,
      score,
      rank,
    };
    const fields = data as unknown as Record<string, unknown>;
    for (const [name, from] of ENTRY_FIELDS[type] ?? []) {
      const value = fields[from];
      if (typeof value === "string") entry[name] = value;
    }
    this.entry = entry;
  }
}

/**
 * A `ledger` cursor names the seq of the last entry of its page: the next page is the entries after
 * it. A ledger entry never changes once its input is in the log, so a cursor stays good forever.
 */
export function encodeLedgerCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ ledgerAfter: seq }), "utf8").toString("base64url");
}

/** The seq a `ledger` cursor names, or undefined when it is not one. */
export function decodeLedgerCursor(cursor: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    const seq = (parsed as { ledgerAfter?: unknown } | null)?.ledgerAfter;
    return Number.isSafeInteger(seq) && (seq as number) >= 0 ? (seq as number) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the live hunt already says about a ledger request, without folding anything: the error for a
 * team the hunt does not have, or the empty ledger of a player
 * who has never joined. Undefined when the ledger must be read from the log.
 */
export function ledgerShortcut(fold: HuntFold, competitor: Competitor): QueryReply | undefined {
  if (competitor.teamId !== undefined) {
    // A solo hunt has no team, as a ScoreAdjusted with a teamId is told (unknown_team).
    if (fold.rules.teams === null) {
      return queryError(
        "unknown_team",
        `hunt "${fold.huntId}" has no team "${competitor.teamId}" (it is a solo hunt); ask for a playerId`,
      );
    }
    if (!fold.teamNumbers.has(competitor.teamId)) return { seq: fold.seq, entries: [] };
    return undefined;
  }
  if (!fold.pids.has(competitor.playerId)) return { seq: fold.seq, entries: [] };
  return undefined;
}
