// A competitor's ledger: why each of their rank messages was sent. The log is folded again in a fresh
// fold, in batches as the live hunt folds it, and the competitor's outputs become entries with their
// input beside them, so the hot path stores nothing for it. Pure: the caller reads the log and keeps
// the time.
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

/** What folding one input gave: the competitor's entry, and why it was rejected if it was. */
export type LedgerStep = (
  input: FoldInput,
  entry: LedgerEntry | undefined,
  rejection: Rejection | undefined,
) => void;

/** The input types that move the running clock (start, pause, resume, end). */
const CLOCK_TYPES = ["HuntStarted", "HuntResumed", "HuntPaused", "HuntEnded"].map((t) =>
  Buffer.from(t, "latin1"),
);
const BACKSLASH = 0x5c;

/**
 * Whether an input may move the running clock: it names a clock type, or it has an escape, behind
 * which any type may hide. It may say yes to an input that does not (that costs a smaller batch);
 * it never says no to one that does.
 */
function mayMoveClock(data: Uint8Array): boolean {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.indexOf(BACKSLASH) >= 0) return true;
  for (const type of CLOCK_TYPES) if (bytes.indexOf(type) >= 0) return true;
  return false;
}

/**
 * A fresh fold of a hunt that turns one competitor's outputs into ledger entries. Feed it the log from
 * seq 1 in order (`feed`). Inputs are folded in batches, as the live hunt folds them; an input that
 * may move the running clock is folded alone, so the running time read after a batch is the running
 * time right after each of its inputs.
 */
export class LedgerFold {
  readonly fold: HuntFold;
  /** The inputs being folded, and what each of them gave (by position). */
  private part: readonly FoldInput[] = [];
  private readonly entries: (LedgerEntry | undefined)[] = [];
  private readonly rejections: (Rejection | undefined)[] = [];
  /** The position in `part` of the input the last output was for. */
  private at = 0;
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
      rejected: (seq, _eventId, _type, code, message) => {
        this.rejections[this.locate(seq)] = { code, message };
      },
    };
  }

  /**
   * Folds the next inputs of the log, in order, and calls `step` for each of them once it is folded
   * (the fold's running time is then the running time right after it).
   */
  feed(inputs: readonly FoldInput[], step: LedgerStep): void {
    let from = 0;
    while (from < inputs.length) {
      let to = from + 1;
      if (!mayMoveClock(inputs[from]!.data)) {
        while (to < inputs.length && !mayMoveClock(inputs[to]!.data)) to++;
      }
      this.foldPart(from === 0 && to === inputs.length ? inputs : inputs.slice(from, to), step);
      from = to;
    }
  }

  private foldPart(part: readonly FoldInput[], step: LedgerStep): void {
    this.part = part;
    this.at = 0;
    this.entries.length = 0;
    this.rejections.length = 0;
    this.fold.applyBatch(part, this.sink);
    for (let i = 0; i < part.length; i++) step(part[i]!, this.entries[i], this.rejections[i]);
    this.part = [];
  }

  /** The position in the part being folded of the input with this seq (outputs come in input order). */
  private locate(seq: number): number {
    while (this.part[this.at]!.seq !== seq) this.at++;
    return this.at;
  }

  /** The competitor's output for the input in hand: an entry, unless it opened their place. */
  private record(seq: number, score: number, rank: number): void {
    const at = this.locate(seq);
    const input = this.part[at]!;
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
    this.entries[at] = entry;
  }
}

/**
 * A `ledger` cursor names a seq of the log (the last entry of its page, or where a page out of time
 * stopped): the next page is the entries after it. A ledger entry never changes once its input is in
 * the log, so a cursor stays good forever.
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
  if (fold.pidOf(competitor.playerId) === undefined) return { seq: fold.seq, entries: [] };
  return undefined;
}
