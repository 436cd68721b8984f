// The pure, deterministic fold of one hunt: (state, log message) -> (state', outputs). It reads no
// clock, no randomness and no unordered iteration; time comes from the JetStream message. A batch of
// messages is checked and scored in JS, then crosses into the rank index once.
import { createHash } from "node:crypto";
import type { RankIndex } from "../../native/index.ts";
import { createRankIndexLike, isPlayerId, OP_REMOVE, OP_UPSERT } from "../../native/index.ts";
import { type DecodedEvent, decodeEvent, type HuntEvent, type RejectionCode } from "../../schemas/index.ts";
import { CHECKPOINT_EVERY, type Checkpoint, chainOf, GENESIS_CHAIN } from "./checkpoint.ts";
import { stateHash } from "./codec.ts";
import { FrozenStandings } from "./frozen-standings.ts";
import { KeySet, NO_KEY_SET } from "./key-set.ts";
import { ACCEPTS, type EventType, type HuntStatus, NEXT } from "./machine.ts";
import { NO_ENTRIES } from "./no-entries.ts";
import {
  NO_SUBMISSIONS,
  SUBMISSION_APPROVED,
  SUBMISSION_PENDING,
  SUBMISSION_REJECTED,
  Submissions,
} from "./submissions.ts";

/** One input message of the hunt's log. */
export interface FoldInput {
  /** JetStream stream sequence: the authoritative order. */
  seq: number;
  /** JetStream timestamp, ms since the epoch: the authoritative time. */
  time: number;
  /** The raw message body as published. */
  data: Uint8Array;
  /** The Nats-Msg-Id header it was published with; null when it had none (the input is then rejected). */
  msgId: string | null;
}

/** Where the fold writes its outputs, in input order. Plain arguments, so the hot path builds no objects. */
export interface OutputSink {
  /** A rank change (schemas/CONTRACT.md, "Ranking"). */
  rank(
    seq: number,
    playerId: string,
    score: number,
    rank: number,
    previousRank: number,
    players: number,
  ): void;
  /** A team's rank change (team hunts; schemas/CONTRACT.md, "Ranking"): after the same input's player message. */
  teamRank(
    seq: number,
    teamId: string,
    score: number,
    rank: number,
    previousRank: number,
    teams: number,
  ): void;
  /** An input that was not applied, with its reason. */
  rejected(
    seq: number,
    eventId: string | null,
    type: string | null,
    code: RejectionCode,
    message: string,
  ): void;
  /**
   * A checkpoint (schemas/CONTRACT.md, "Audit"), after the other outputs of its input: `n` is its
   * index among that input's outputs. A sink without it spares the fold the stateHash each checkpoint
   * costs (a replay that only reads rank messages, as a ledger does); that fold's chain is then not
   * kept, so it is never one to snapshot or to answer `state` from.
   */
  checkpoint?(seq: number, events: number, stateHash: string, prev: string, chain: string, n: number): void;
}

/** A treasure's rules beyond its id, points and answer. */
interface TreasureRules {
  requires: number[];
  opensAfterMs: number | null;
  closesAfterMs: number | null;
  decay: { everyMs: number; step: number; min: number } | null;
  location: { lat: number; lon: number; radiusM: number } | null;
  review: boolean;
}

/** The `requires` of every treasure that requires nothing: shared, and frozen so that none can add to it. */
const REQUIRES_NOTHING: number[] = Object.freeze([]) as unknown as number[];

/** The rules of every treasure that has none (most of them): shared, and frozen. */
const NO_RULES: TreasureRules = Object.freeze({
  requires: REQUIRES_NOTHING,
  opensAfterMs: null,
  closesAfterMs: null,
  decay: null,
  location: null,
  review: false,
});

/**
 * The definition of one treasure. Its optional rules live in one object of their own, made when the
 * first of them is set: most treasures have none (a platform of thousands of small hunts holds
 * thousands of them), and an object of four fields is half the size of one of nine.
 */
export class Treasure {
  private rules: TreasureRules = NO_RULES;

  constructor(
    readonly id: string,
    readonly points: number,
    /** Lowercase hex sha256 of the expected answer, or null when any answer (or none) is accepted. */
    readonly answerSha256: string | null,
  ) {}

  /** Indexes of the treasures that must be found first (clues in order); empty when none. */
  get requires(): number[] {
    return this.rules.requires;
  }
  set requires(requires: number[]) {
    this.ownRules().requires = requires;
  }

  /** Running time from which it can be found, and until which (exclusive); null when unbounded. */
  get opensAfterMs(): number | null {
    return this.rules.opensAfterMs;
  }
  set opensAfterMs(ms: number | null) {
    this.ownRules().opensAfterMs = ms;
  }
  get closesAfterMs(): number | null {
    return this.rules.closesAfterMs;
  }
  set closesAfterMs(ms: number | null) {
    this.ownRules().closesAfterMs = ms;
  }

  /** Points fall by `step` every `everyMs` of running time, never below `min`; null when they do not. */
  get decay(): TreasureRules["decay"] {
    return this.rules.decay;
  }
  set decay(decay: TreasureRules["decay"]) {
    this.ownRules().decay = decay;
  }

  /** Where it is: a find must be reported within `radiusM` metres; null when anywhere. */
  get location(): TreasureRules["location"] {
    return this.rules.location;
  }
  set location(location: TreasureRules["location"]) {
    this.ownRules().location = location;
  }

  /** Scored only through a reviewed submission (`TreasureFound` for it is `needs_review`). */
  get review(): boolean {
    return this.rules.review;
  }
  set review(review: boolean) {
    this.ownRules().review = review;
  }

  private ownRules(): TreasureRules {
    if (this.rules === NO_RULES) this.rules = { ...NO_RULES };
    return this.rules;
  }
}

/** The hunt's rules with their defaults applied. Read-only: hunts with the same rules share them. */
export interface HuntRules {
  readonly firstFinderBonus: readonly number[];
  readonly hintPenalty: number;
  /** null: no limit. */
  readonly maxPlayers: number | null;
  /** Running time after which finds and hints are refused (`time_up`); null: no limit. */
  readonly durationMs: number | null;
  /** Present in a team hunt: how many players may ever join one team (null: no limit). */
  readonly teams: { readonly maxSize: number | null } | null;
}

/** The rules of a hunt not created yet. */
const NO_HUNT_RULES: HuntRules = Object.freeze({
  firstFinderBonus: Object.freeze([]),
  hintPenalty: 0,
  maxPlayers: null,
  durationMs: null,
  teams: null,
});

/** Whether two lists hold the same numbers, -0 apart from 0 (and a hole apart from anything). */
function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) || i in a !== i in b) return false;
  return true;
}

/** The rules `huntRules` gave last. */
let lastRules = NO_HUNT_RULES;

/**
 * A hunt's rules, as one frozen object shared with the hunt created before it when that one's rules
 * were the same: a platform's many small hunts mostly come from one template, and rules of their own
 * cost each about 120 bytes of heap. Which object a fold holds changes nothing it computes.
 */
export function huntRules(rules: HuntRules): HuntRules {
  const last = lastRules;
  const bonus = rules.firstFinderBonus;
  // Object.is: -0 is not 0 here, since the snapshot and the hash keep the rules' numbers as given.
  if (
    Object.is(rules.hintPenalty, last.hintPenalty) &&
    Object.is(rules.maxPlayers, last.maxPlayers) &&
    Object.is(rules.durationMs, last.durationMs) &&
    (rules.teams === null
      ? last.teams === null
      : last.teams !== null && Object.is(rules.teams.maxSize, last.teams.maxSize)) &&
    sameNumbers(bonus, last.firstFinderBonus)
  ) {
    return last;
  }
  lastRules = Object.freeze({
    firstFinderBonus: Object.freeze([...bonus]),
    hintPenalty: rules.hintPenalty,
    maxPlayers: rules.maxPlayers,
    durationMs: rules.durationMs,
    teams: rules.teams === null ? null : Object.freeze({ maxSize: rules.teams.maxSize }),
  });
  return lastRules;
}

/** Why an event was not applied. */
type Rejection = { code: RejectionCode; message: string };

/** Player states in `playerState`: on the board, left, or disqualified (while on the board, or after leaving). */
export const PLAYER_JOINED = 1;
export const PLAYER_LEFT = 2;
export const PLAYER_DISQUALIFIED = 3;
export const PLAYER_LEFT_DISQUALIFIED = 4;

/** The mean Earth radius the contract's distance uses, in metres. */
const EARTH_RADIUS_M = 6_371_008.8;

/**
 * Scratch typed arrays for one batch, shared by every hunt of the process: `applyBatch` fills, uses
 * and finishes with them in one synchronous call, so no two batches can ever hold them at once.
 */
class BatchScratch {
  capacity = 0;
  ops = new Uint8Array(0);
  slots = new Uint32Array(0);
  scores = new Float64Array(0);
  tiebreaks = new Float64Array(0);
  out = new Int32Array(0);
  /** Per op: the player's id, and the number of ranked players after it. */
  ids: string[] = [];
  players = new Uint32Array(0);
  /** The team board's ops (upserts only: teams never leave it), with the team number and the team count. */
  teamSlots = new Uint32Array(0);
  teamOps = new Uint8Array(0);
  teamScores = new Float64Array(0);
  teamTiebreaks = new Float64Array(0);
  teamOut = new Int32Array(0);
  tids = new Uint32Array(0);
  teams = new Uint32Array(0);

  ensure(n: number): void {
    if (n <= this.capacity) return;
    const cap = Math.max(n, this.capacity * 2, 1024);
    this.capacity = cap;
    this.ops = new Uint8Array(cap);
    this.slots = new Uint32Array(cap);
    this.scores = new Float64Array(cap);
    this.tiebreaks = new Float64Array(cap);
    this.out = new Int32Array(cap * 2);
    this.ids = [];
    this.players = new Uint32Array(cap);
    this.teamSlots = new Uint32Array(cap);
    this.teamOps = new Uint8Array(cap); // all OP_UPSERT (0)
    this.teamScores = new Float64Array(cap);
    this.teamTiebreaks = new Float64Array(cap);
    this.teamOut = new Int32Array(cap * 2);
    this.tids = new Uint32Array(cap);
    this.teams = new Uint32Array(cap);
  }
}

const scratch = new BatchScratch();

/**
 * The (player, treasure) pair `unfoundTreasure` checked, for the decision that called it to read
 * at once: shared by every fold (a decision is one synchronous call), so the hot path allocates
 * nothing and a hunt carries no object for it.
 */
const TARGET = { pid: 0, t: 0, key: 0 };

/** What the checking half of a batch leaves for the emitting half. */
interface PreparedBatch {
  /** Index ops queued in the scratch arrays, for the player board and for the team board. */
  ops: number;
  teamOps: number;
  rejections: PendingRejection[] | undefined;
  /** Where the next part of the batch starts: after a StandingsFrozen or an input that needs a checkpoint, or at its end. */
  next: number;
  /** The seq of the StandingsFrozen the part ends with, or 0: the boards are copied once its ops are applied. */
  freezeAt: number;
  /** The checkpoint's index among its input's outputs, or -1 when the part ends without one. */
  checkpointN: number;
}

/** A rejection waiting for its batch's index call, so that outputs leave in input order. */
interface PendingRejection {
  seq: number;
  eventId: string | null;
  type: string | null;
  code: RejectionCode;
  message: string;
}

/** How many top ranks `topVersion` watches by default. */
export const DEFAULT_TOP_N = 10;

/**
 * A solo hunt's team arrays and a fold's player columns before its first player: of length 0, so
 * nothing can be stored in them, and shared.
 */
const NO_F64 = new Float64Array(0);
const NO_U32 = new Uint32Array(0);
const NO_U8 = new Uint8Array(0);
/** A solo hunt's team ids: shared, and frozen so that none can add to it. */
const NO_TEAM_IDS: string[] = Object.freeze([]) as unknown as string[];

/** Most treasures a hunt looks up by searching their ids in order, rather than through a map. */
const SEARCHED_TREASURES = 8;

/** Bytes a player takes in the fold's columns: score and tie-break, slot and slot → pid, state. */
const PLAYER_COLUMN_BYTES = 8 + 8 + 4 + 4 + 1;

/**
 * A fold's per-player columns, for a room of `state.length` pids and slots: three views of one
 * buffer, the two 8-byte columns halves of one view and the two 4-byte columns halves of another. A
 * typed array view costs about 100 bytes of heap, as much as 12 players' scores: a small hunt paid for
 * five.
 */
export interface PlayerColumns {
  /** pid → PLAYER_JOINED, PLAYER_LEFT or a disqualified state. */
  state: Uint8Array;
  /** pid → score in the first half; pid → tie-break (input seq of the last score change) in the second. */
  numbers: Float64Array;
  /** pid → slot in the rank index in the first half; slot → pid in the second. */
  slots: Uint32Array;
}

/** Columns of room for `room` pids and slots, zeroed (the shared empty ones for none). */
export function playerColumns(room: number): PlayerColumns {
  if (room === 0) return { state: NO_U8, numbers: NO_F64, slots: NO_U32 };
  const buffer = new ArrayBuffer(room * PLAYER_COLUMN_BYTES);
  // The 8-byte columns first, then the 4-byte ones, then the bytes: each view stays aligned.
  return {
    numbers: new Float64Array(buffer, 0, 2 * room),
    slots: new Uint32Array(buffer, 16 * room, 2 * room),
    state: new Uint8Array(buffer, 24 * room, room),
  };
}

function growF64(a: Float64Array, n: number): Float64Array {
  if (n <= a.length) return a;
  const b = new Float64Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

function growU32(a: Uint32Array, n: number): Uint32Array {
  if (n <= a.length) return a;
  const b = new Uint32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/**
 * The state of one hunt and the fold over its log. Players are numbered by join order (`pid`), which
 * the log defines; per-player state lives in typed arrays indexed by pid.
 */
export class HuntFold {
  /** Last input sequence processed (applied or rejected); 0 before any. */
  seq = 0;
  /**
   * The hunt's place in the lifecycle machine: a lifecycle event (rare) moves it by the machine's
   * transitions (`NEXT`), and every event's check reads what it accepts (`ACCEPTS`). No running actor,
   * nor an object of its own: a platform's thousands of small hunts would each hold one for the
   * handful of transitions a hunt makes.
   */
  private lifecycleStatus: HuntStatus;
  title = "";
  /** JetStream times of the lifecycle events, ms since the epoch; 0 when not reached. */
  createdAt = 0;
  startedAt = 0;
  endedAt = 0;
  /** The hunt's treasures, given once (`setTreasures`). */
  treasures: Treasure[] = [];
  /**
   * Treasure id → index into `treasures`, for a hunt of more than SEARCHED_TREASURES of them; null
   * for a smaller one, whose few ids are searched in order (a map costs a small hunt 300 bytes).
   */
  private treasureIndex: Map<string, number> | null = null;
  /**
   * Per treasure: how many competitors found it (a disqualified member's find still counts). An
   * array of small integers: for a few treasures, a fraction of a typed array's buffer and views.
   */
  findCounts: number[] = [];
  rules: HuntRules = NO_HUNT_RULES;
  /**
   * Running time: the ms of running spans already closed by a pause or the end, and the JetStream
   * time that opened the current span (while running).
   */
  runClosedMs = 0;
  runSpanStart = 0;

  /**
   * Players who ever joined; their pids are 0 up to it, in join order. Their ids are held once, as
   * bytes, by the rank index (`playerId`): a string per player here doubled what the fold held.
   */
  playerCount = 0;
  // The per-player columns (`playerColumns`): their room, for pids and slots alike, is
  // `playerState.length`; a fold with no players shares empty ones.
  /** pid → PLAYER_JOINED or PLAYER_LEFT (or a disqualified state). */
  playerState: Uint8Array = NO_U8;
  /** pid → score, then pid → input seq of the last score change (the tie-break): see `PlayerColumns`. */
  private numbers: Float64Array = NO_F64;
  /**
   * pid → slot in the rank index, then slot → pid: with the index's own id table, the second half finds
   * a player's pid, so the fold keeps no map of ids of its own (a million players' map took half a
   * restart).
   */
  private slots: Uint32Array = NO_U32;
  /** Players currently joined (= ranked). */
  joined = 0;
  /** Players joined and not left, disqualified ones included: what `maxPlayers` counts. */
  seated = 0;
  /**
   * (competitor, treasure) pairs found (by a find or an approved review) and hinted, keyed
   * `competitor(pid) * treasureCount + treasure`, in log order, each with the pid of the player who
   * found it or took the hint: in a team hunt, a disqualified member's finds and hints stop being the
   * team's.
   */
  found: KeySet = NO_KEY_SET;
  hinted: KeySet = NO_KEY_SET;
  /**
   * Every submission for a treasure that needs a review, and which are pending (shared empty ones
   * until the first: `ownSubmissions`).
   */
  submissions: Submissions = NO_SUBMISSIONS;
  /** The public standings while they are frozen; null when the public sees the live ones. */
  frozen: FrozenStandings | null = null;

  /**
   * Inputs of the hunt folded so far, applied or rejected (what checkpoints count), and the last
   * checkpoint. Hunt state that snapshots keep, but outside the bytes `stateHash` hashes, so that a
   * version-1 hunt keeps its hash (codec.ts).
   */
  inputs = 0;
  checkpoint: Checkpoint | null = null;
  /**
   * The JetStream time of the last input handled (0 before any), for the running time `state` reports.
   * Kept with the input count: outside the hashed bytes.
   */
  lastTime = 0;
  /** False for a fold restored from a snapshot written before checkpoints: its input count is unknown. */
  inputsKnown = true;

  /**
   * The team board of a team hunt (an index of the same kind as `index`); null in a solo hunt, whose
   * team maps and arrays below stay empty and shared (`makeTeamHunt` gives a team hunt its own).
   */
  teamIndex: RankIndex | null = null;
  /** Team id → team number (creation order), and back. */
  teamNumbers: Map<string, number> = NO_ENTRIES;
  teamIds: string[] = NO_TEAM_IDS;
  /** Team number → score, tie-break (seq of the last change), slot in `teamIndex`, members who ever joined. */
  teamScore: Float64Array = NO_F64;
  teamTiebreak: Float64Array = NO_F64;
  teamSlot: Uint32Array = NO_U32;
  teamMembers: Uint32Array = NO_U32;
  /** pid → team number (team hunts). */
  playerTeam: Uint32Array = NO_U32;
  /** Team-board ops queued by the batch being prepared. */
  private teamOpCount = 0;

  /** Events applied by this fold instance (a counter for metrics; not hunt state). */
  appliedCount = 0;

  /** Increases whenever a rank within the first `topN` changes: the host publishes top-N on change. */
  topVersion = 0;
  /** The same for the team board. */
  teamTopVersion = 0;

  constructor(
    /** The hunt's id. */
    readonly huntId: string,
    /** The rank index (native or pure TS). */
    readonly index: RankIndex,
    /** How many top ranks `topVersion` watches. */
    readonly topN = DEFAULT_TOP_N,
    status: HuntStatus = "none",
  ) {
    this.lifecycleStatus = status;
  }

  /** The hunt's status. */
  get status(): HuntStatus {
    return this.lifecycleStatus;
  }

  /** Every board of the hunt, in the order a freeze keeps them: the player board, then the team board. */
  get boards(): RankIndex[] {
    return this.teamIndex === null ? [this.index] : [this.index, this.teamIndex];
  }

  /**
   * Ends this copy of the hunt: every board gives back its memory at once (a passivated hunt returns
   * what it held). The fold is not to be used afterwards.
   */
  dispose(): void {
    for (const board of this.boards) board.clear();
    for (const board of this.frozen?.boards ?? []) board.clear();
  }

  /** The board the public sees: the frozen copy while the standings are frozen, else the live one. */
  get publicBoard(): RankIndex {
    return this.frozen === null ? this.index : this.frozen.players;
  }

  /** The team board the public sees (null in a solo hunt): frozen like the player board. */
  get publicTeamBoard(): RankIndex | null {
    if (this.teamIndex === null) return null;
    return this.frozen === null ? this.teamIndex : (this.frozen.boards[1] ?? this.teamIndex);
  }

  /**
   * Folds a batch in order. Messages at or below `seq` were folded before and are skipped (a
   * redelivery). Outputs go to `sink` in input order, after one `applyBatch` call on the index: one
   * per batch, or one per part of it when a StandingsFrozen needs the boards as they are at its seq,
   * or an input needs a checkpoint of the state right after it.
   */
  applyBatch(msgs: readonly FoldInput[], sink: OutputSink): void {
    let from = 0;
    while (from < msgs.length) {
      const prepared = this.prepareBatch(msgs, from);
      if (prepared.ops > 0)
        this.index.applyBatch(
          scratch.ops,
          scratch.slots,
          scratch.scores,
          scratch.tiebreaks,
          prepared.ops,
          scratch.out,
        );
      if (prepared.teamOps > 0)
        this.teamIndex!.applyBatch(
          scratch.teamOps,
          scratch.teamSlots,
          scratch.teamScores,
          scratch.teamTiebreaks,
          prepared.teamOps,
          scratch.teamOut,
        );
      this.finishBatch(prepared, sink);
      if (prepared.freezeAt !== 0) {
        this.frozen = FrozenStandings.of(prepared.freezeAt, this.boards, this.playerCount);
      }
      if (prepared.checkpointN >= 0) this.emitCheckpoint(prepared.checkpointN, sink);
      from = prepared.next;
    }
  }

  /**
   * First half of `applyBatch`: checks and scores the messages from `from`, leaving the index ops in
   * the scratch arrays, up to the end, an applied StandingsFrozen (which needs them applied first) or
   * the first input that needs a checkpoint.
   */
  private prepareBatch(msgs: readonly FoldInput[], from: number): PreparedBatch {
    scratch.ensure(msgs.length - from);
    this.teamOpCount = 0;
    let nOps = 0;
    let rejections: PendingRejection[] | undefined;
    for (let i = from; i < msgs.length; i++) {
      const msg = msgs[i]!;
      const seq = msg.seq;
      if (seq <= this.seq) continue;
      this.seq = seq;
      this.lastTime = msg.time;
      const decoded: DecodedEvent = decodeEvent(msg.data);
      const opsBefore = nOps + this.teamOpCount;
      let problem: PendingRejection | undefined;
      if (!decoded.ok) {
        problem = {
          seq,
          eventId: decoded.eventId,
          type: decoded.type,
          code: decoded.code,
          message: decoded.message,
        };
      } else {
        const event = decoded.event;
        const result = this.decideSafely(event, seq, msg, nOps);
        if (typeof result === "number") {
          nOps = result;
        } else {
          problem = {
            seq,
            eventId: event.id,
            type: event.type,
            code: result.code,
            message: result.message,
          };
        }
      }
      if (problem) {
        rejections ??= [];
        rejections.push(problem);
      } else {
        this.appliedCount++;
      }
      this.inputs++;
      const freezeAt = this.freezing;
      this.freezing = 0;
      const ends =
        !problem &&
        decoded.ok &&
        (decoded.event.type === "HuntEnded" || decoded.event.type === "HuntFinalized");
      const checkpoint = ends || this.inputs % CHECKPOINT_EVERY === 0;
      if (freezeAt !== 0 || checkpoint) {
        // The checkpoint comes after the input's other outputs: its rejection, or its rank messages.
        const checkpointN = !checkpoint ? -1 : problem ? 1 : nOps + this.teamOpCount - opsBefore;
        return { ops: nOps, teamOps: this.teamOpCount, rejections, next: i + 1, freezeAt, checkpointN };
      }
    }
    return {
      ops: nOps,
      teamOps: this.teamOpCount,
      rejections,
      next: msgs.length,
      freezeAt: 0,
      checkpointN: -1,
    };
  }

  /** Emits the checkpoint of the input just folded, and keeps it as the last one. */
  private emitCheckpoint(n: number, sink: OutputSink): void {
    if (sink.checkpoint === undefined) return;
    const prev = this.checkpoint?.chain ?? GENESIS_CHAIN;
    const hash = stateHash(this);
    const checkpoint = {
      seq: this.seq,
      events: this.inputs,
      stateHash: hash,
      prev,
      chain: chainOf(prev, this.seq, hash),
    };
    this.checkpoint = checkpoint;
    sink.checkpoint(checkpoint.seq, checkpoint.events, hash, prev, checkpoint.chain, n);
  }

  /** The seq of a StandingsFrozen accepted in the part of the batch being prepared; 0 when none. */
  private freezing = 0;

  /**
   * Second half of `applyBatch`: emits the outputs once the indexes have filled the ranks, in input
   * order (every op and rejection carries its input's seq), one input's player message before its team
   * message.
   */
  private finishBatch(prepared: PreparedBatch, sink: OutputSink): void {
    const s = scratch;
    const { ops: nOps, teamOps: nTeamOps, rejections } = prepared;
    const topN = this.topN;
    const nRej = rejections ? rejections.length : 0;
    let op = 0;
    let teamOp = 0;
    let r = 0;
    for (;;) {
      const opSeq = op < nOps ? s.tiebreaks[op]! : Number.POSITIVE_INFINITY;
      const teamSeq = teamOp < nTeamOps ? s.teamTiebreaks[teamOp]! : Number.POSITIVE_INFINITY;
      const rejSeq = r < nRej ? rejections![r]!.seq : Number.POSITIVE_INFINITY;
      if (rejSeq < opSeq && rejSeq < teamSeq) {
        const p = rejections![r++]!;
        sink.rejected(p.seq, p.eventId, p.type, p.code, p.message);
      } else if (opSeq <= teamSeq) {
        if (opSeq === Number.POSITIVE_INFINITY) break;
        const rank = s.out[2 * op]!;
        const previousRank = s.out[2 * op + 1]!;
        // While frozen, the public tops do not move with the live boards.
        if (
          this.frozen === null &&
          ((rank > 0 && rank <= topN) || (previousRank > 0 && previousRank <= topN))
        )
          this.topVersion++;
        sink.rank(opSeq, s.ids[op]!, s.scores[op]!, rank, previousRank, s.players[op]!);
        op++;
      } else {
        const rank = s.teamOut[2 * teamOp]!;
        const previousRank = s.teamOut[2 * teamOp + 1]!;
        if (this.frozen === null && (rank <= topN || (previousRank > 0 && previousRank <= topN)))
          this.teamTopVersion++;
        const tid = s.tids[teamOp]!;
        sink.teamRank(
          teamSeq,
          this.teamIds[tid]!,
          s.teamScores[teamOp]!,
          rank,
          previousRank,
          s.teams[teamOp]!,
        );
        teamOp++;
      }
    }
    // The scratch is shared by every hunt: it keeps no input's id past its batch.
    s.ids.fill("", 0, nOps);
  }

  /**
   * `decide`, with the two rules that keep any input from stopping the hunt: an input without a
   * Nats-Msg-Id is refused (a retried publish of it would be applied twice), and an input the fold
   * fails on is rejected with the failure's reason. `decide` does everything that can fail before it
   * changes any state, so a failed input leaves no trace, and the verdict depends only on the log.
   */
  private decideSafely(event: HuntEvent, seq: number, msg: FoldInput, nOps: number): number | Rejection {
    if (msg.msgId === null) {
      return {
        code: "invalid_event",
        message:
          "published without a Nats-Msg-Id header: JetStream could not drop a retry of it; publish with Nats-Msg-Id = the event id",
      };
    }
    try {
      return this.decide(event, seq, msg.time, nOps);
    } catch (err) {
      // A failure of the process, not of the input (memory), would give a verdict a replay does not
      // repeat: it is not the input's to carry, so it stops the hunt instead (the host sets it aside).
      if (err instanceof RangeError && /allocation failed|out of memory/i.test(err.message)) throw err;
      return {
        code: "invalid_event",
        message: `the event could not be applied: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }

  /** Queues an index op for `pid`, whose id is `id`; returns the new op count. */
  private queue(nOps: number, op: number, pid: number, id: string, score: number, seq: number): number {
    const s = scratch;
    s.ops[nOps] = op;
    s.ids[nOps] = id;
    s.slots[nOps] = this.slots[pid]!;
    s.scores[nOps] = score;
    // The tie-break of an upsert is the seq of the change; a remove carries its seq here too, so
    // that `finishBatch` can name the input of every op from one array.
    s.tiebreaks[nOps] = seq;
    s.players[nOps] = this.joined;
    return nOps + 1;
  }

  /** Queues a team-board upsert of team `tid` to `score` at `seq` (its tie-break). */
  private queueTeam(tid: number, score: number, seq: number): void {
    const s = scratch;
    const k = this.teamOpCount++;
    s.teamSlots[k] = this.teamSlot[tid]!;
    s.teamScores[k] = score;
    s.teamTiebreaks[k] = seq;
    s.tids[k] = tid;
    s.teams[k] = this.teamIds.length;
  }

  /** The competitor of a player: the player in a solo hunt, their team in a team hunt. */
  private competitor(pid: number): number {
    return this.rules.teams === null ? pid : this.playerTeam[pid]!;
  }

  /**
   * Checks one event against the state in the order of schemas/CONTRACT.md ("Events and their
   * checks") and applies it. Returns the new op count when applied, or the rejection.
   */
  private decide(event: HuntEvent, seq: number, time: number, nOps: number): number | Rejection {
    const type = event.type as EventType;
    if (this.status === "finalized" && type !== "HuntCreated") {
      return { code: "finalized", message: `hunt "${this.huntId}" is finalized: nothing can change it` };
    }
    if (!ACCEPTS[this.lifecycleStatus][type]) {
      return {
        code: "invalid_state",
        message:
          this.status === "none"
            ? `${type} needs a hunt, and hunt "${this.huntId}" has not been created`
            : `${type} is not accepted while the hunt is ${this.status}`,
      };
    }
    switch (event.type) {
      case "HuntCreated": {
        const d = event.data;
        const treasures = d.treasures.map((t) => {
          const treasure = new Treasure(t.id, t.points, t.answerSha256 ?? null);
          if (t.opensAfterMs !== undefined) treasure.opensAfterMs = t.opensAfterMs;
          if (t.closesAfterMs !== undefined) treasure.closesAfterMs = t.closesAfterMs;
          if (t.decay) treasure.decay = { everyMs: t.decay.everyMs, step: t.decay.step, min: t.decay.min };
          if (t.location) {
            treasure.location = { lat: t.location.lat, lon: t.location.lon, radiusM: t.location.radiusM };
          }
          if (t.review === true) treasure.review = true;
          return treasure;
        });
        const treasureIndex = new Map(treasures.map((t, i) => [t.id, i]));
        const problem = resolveRequires(d.treasures, treasures, treasureIndex);
        if (problem) return { code: "invalid_event", message: problem };
        this.title = d.title;
        this.setTreasures(treasures);
        this.rules = huntRules({
          firstFinderBonus: d.rules?.firstFinderBonus ?? NO_HUNT_RULES.firstFinderBonus,
          hintPenalty: d.rules?.hintPenalty ?? 0,
          maxPlayers: d.rules?.maxPlayers ?? null,
          durationMs: d.rules?.durationMs ?? null,
          teams: d.rules?.teams ? { maxSize: d.rules.teams.maxSize ?? null } : null,
        });
        if (this.rules.teams !== null) this.makeTeamHunt(createRankIndexLike(this.index));
        this.createdAt = time;
        this.lifecycleStatus = NEXT[this.lifecycleStatus][type];
        return nOps;
      }
      case "HuntStarted":
      case "HuntResumed":
        if (type === "HuntStarted") this.startedAt = time;
        this.runSpanStart = time;
        this.lifecycleStatus = NEXT[this.lifecycleStatus][type];
        return nOps;
      case "HuntPaused":
      case "HuntEnded":
        if (this.status === "running") this.runClosedMs += Math.max(0, time - this.runSpanStart);
        if (type === "HuntEnded") this.endedAt = time;
        this.lifecycleStatus = NEXT[this.lifecycleStatus][type];
        return nOps;
      case "HuntFinalized":
        this.lifecycleStatus = NEXT[this.lifecycleStatus][type];
        return nOps;
      case "TeamCreated": {
        const id = event.data.teamId;
        if (this.rules.teams === null) {
          return { code: "not_team_hunt", message: `hunt "${this.huntId}" has no teams (no rules.teams)` };
        }
        if (this.teamNumbers.has(id)) return { code: "team_exists", message: `team "${id}" exists` };
        const tid = this.addTeam(id);
        this.teamTiebreak[tid] = seq;
        this.queueTeam(tid, 0, seq);
        return nOps;
      }
      case "PlayerJoined": {
        const id = event.data.playerId;
        const known = this.pidOf(id);
        if (known !== undefined) {
          const state = this.playerState[known]!;
          if (state >= PLAYER_DISQUALIFIED) return disqualified(id);
          return state === PLAYER_JOINED
            ? { code: "already_joined", message: `player "${id}" has already joined` }
            : { code: "player_left", message: `player "${id}" left this hunt and cannot rejoin` };
        }
        const max = this.rules.maxPlayers;
        if (max !== null && this.seated >= max) {
          return { code: "hunt_full", message: `the hunt is full (maxPlayers ${max})` };
        }
        const tid = this.joiningTeam(event.data.teamId);
        if (typeof tid !== "number") return tid;
        const pid = this.addPlayer(id);
        if (this.rules.teams !== null) {
          this.playerTeam[pid] = tid;
          this.teamMembers[tid] = this.teamMembers[tid]! + 1;
        }
        this.numbers[this.playerState.length + pid] = seq;
        this.joined++;
        this.seated++;
        return this.queue(nOps, OP_UPSERT, pid, id, 0, seq);
      }
      case "PlayerLeft": {
        const id = event.data.playerId;
        const pid = this.activePid(id);
        if (typeof pid !== "number") return pid;
        this.playerState[pid] = PLAYER_LEFT;
        this.joined--;
        this.seated--;
        this.submissions.closeAllOf(pid);
        return this.queue(nOps, OP_REMOVE, pid, id, this.numbers[pid]!, seq);
      }
      case "PlayerDisqualified": {
        const id = event.data.playerId;
        const pid = this.pidOf(id);
        if (pid === undefined) return unknownPlayer(id);
        const state = this.playerState[pid]!;
        if (state >= PLAYER_DISQUALIFIED) {
          return { code: "disqualified", message: `player "${id}" is already disqualified` };
        }
        const score = this.numbers[pid]!;
        const teamHunt = this.rules.teams !== null;
        if (teamHunt) {
          const overflow = this.checkTeamScore(this.playerTeam[pid]!, -score);
          if (overflow) return overflow;
        }
        let ops = nOps;
        if (state === PLAYER_LEFT) {
          this.playerState[pid] = PLAYER_LEFT_DISQUALIFIED;
        } else {
          // Off the board, but still in their seat: a disqualification frees no place in the hunt.
          this.playerState[pid] = PLAYER_DISQUALIFIED;
          this.joined--;
          this.submissions.closeAllOf(pid);
          ops = this.queue(nOps, OP_REMOVE, pid, id, score, seq);
        }
        if (teamHunt) this.leaveTeam(pid, seq);
        return ops;
      }
      case "TreasureFound": {
        const d = event.data;
        const running = this.runningAt(time);
        const problem = this.timeUp(running) ?? this.unfoundTreasure(d, event.type);
        if (problem) return problem;
        const { pid, t, key } = TARGET;
        const treasure = this.treasures[t]!;
        const blocked = this.findBlocked(treasure, this.competitor(pid), running, d.location);
        if (blocked) return blocked;
        if (treasure.answerSha256 !== null) {
          if (d.answer === undefined) {
            return { code: "wrong_answer", message: `treasure "${d.treasureId}" needs an answer` };
          }
          if (createHash("sha256").update(d.answer, "utf8").digest("hex") !== treasure.answerSha256) {
            return { code: "wrong_answer", message: `wrong answer for treasure "${d.treasureId}"` };
          }
        }
        const k = this.findCounts[t]!;
        const points = decayedPoints(treasure, running) + (this.rules.firstFinderBonus[k] ?? 0);
        const overflow = this.checkScore(pid, points);
        if (overflow) return overflow;
        this.ownFound().add(key, pid);
        this.findCounts[t] = k + 1;
        return this.addScore(nOps, pid, d.playerId, points, seq);
      }
      case "HintTaken": {
        const d = event.data;
        const problem = this.timeUp(this.runningAt(time)) ?? this.unfoundTreasure(d, event.type);
        if (problem) return problem;
        const { pid, key } = TARGET;
        if (this.hinted.has(key)) {
          return {
            code: "already_hinted",
            message: `player "${d.playerId}" already took the hint for "${d.treasureId}"`,
          };
        }
        const overflow = this.checkScore(pid, -this.rules.hintPenalty);
        if (overflow) return overflow;
        this.ownHinted().add(key, pid);
        return this.addScore(nOps, pid, d.playerId, -this.rules.hintPenalty, seq);
      }
      case "ScoreAdjusted": {
        const d = event.data;
        if (d.playerId === undefined) {
          const tid = this.teamNumbers.get(d.teamId!);
          if (tid === undefined) return unknownTeam(d.teamId!, this.rules.teams !== null);
          const overflow = this.checkTeamScore(tid, d.delta);
          if (overflow) return overflow;
          this.addTeamScore(tid, d.delta, seq);
          return nOps;
        }
        const pid = this.activePid(d.playerId);
        if (typeof pid !== "number") return pid;
        const overflow = this.checkScore(pid, d.delta);
        if (overflow) return overflow;
        return this.addScore(nOps, pid, d.playerId, d.delta, seq);
      }
      case "SubmissionMade": {
        const d = event.data;
        const running = this.runningAt(time);
        const problem = this.timeUp(running) ?? this.unfoundTreasure(d, event.type, d.submissionId);
        if (problem) return problem;
        const { pid, t, key } = TARGET;
        const treasure = this.treasures[t]!;
        const blocked = this.findBlocked(treasure, this.competitor(pid), running, d.location);
        if (blocked) return blocked;
        if (this.submissions.pending.has(key)) {
          return {
            code: "already_pending",
            message: `a submission for "${d.treasureId}" by the competitor of player "${d.playerId}" is pending`,
          };
        }
        this.ownSubmissions().add(d.submissionId, pid, t, key, decayedPoints(treasure, running));
        return nOps;
      }
      case "SubmissionReviewed": {
        const d = event.data;
        const subs = this.submissions;
        const sid = subs.sids.get(d.submissionId);
        if (sid === undefined) {
          return { code: "unknown_submission", message: `the hunt has no submission "${d.submissionId}"` };
        }
        if (subs.states[sid] !== SUBMISSION_PENDING) {
          return {
            code: "already_reviewed",
            message: `submission "${d.submissionId}" is not pending (reviewed, or closed when its player left or was disqualified)`,
          };
        }
        if (!d.approved) {
          subs.close(sid, SUBMISSION_REJECTED);
          return nOps;
        }
        // An approval counts as a find at the review, without a first-finder bonus.
        const pid = subs.pids[sid]!;
        const t = subs.treasures[sid]!;
        const points = d.points ?? subs.points[sid]!;
        const overflow = this.checkScore(pid, points);
        if (overflow) return overflow;
        const key = subs.keys[sid]!;
        this.ownFound().add(key, pid);
        this.findCounts[t]!++;
        subs.close(sid, SUBMISSION_APPROVED);
        return this.addScore(nOps, pid, this.playerId(pid), points, seq);
      }
      case "StandingsFrozen":
        if (this.frozen !== null) {
          return {
            code: "invalid_state",
            message: `the standings are already frozen (since input ${this.frozen.seq})`,
          };
        }
        // `prepareBatch` ends the part here, so the boards are copied with every earlier op applied.
        this.freezing = seq;
        return nOps;
      case "StandingsRevealed":
        if (this.frozen === null) return { code: "invalid_state", message: "the standings are not frozen" };
        this.frozen = null;
        // The public tops are the live ones again.
        this.topVersion++;
        this.teamTopVersion++;
        return nOps;
    }
  }

  /** The running time at the last input handled (what `state` reports). */
  get runningMs(): number {
    return this.runningAt(this.lastTime);
  }

  /** Running time at a JetStream time: closed spans, plus the open one while running (never negative). */
  runningAt(time: number): number {
    return this.runClosedMs + (this.status === "running" ? Math.max(0, time - this.runSpanStart) : 0);
  }

  /**
   * The team a player joins: in a team hunt, the existing team `teamId` names if it has room (counting
   * everyone who ever joined it), or why not; in a solo hunt, where a teamId is ignored, 0.
   */
  private joiningTeam(teamId: string | undefined): number | Rejection {
    const rules = this.rules.teams;
    if (rules === null) return 0;
    const tid = teamId === undefined ? undefined : this.teamNumbers.get(teamId);
    if (tid === undefined) {
      return teamId === undefined
        ? { code: "unknown_team", message: "a team hunt needs the teamId of the player's team" }
        : unknownTeam(teamId, true);
    }
    if (rules.maxSize !== null && this.teamMembers[tid]! >= rules.maxSize) {
      return { code: "team_full", message: `team "${teamId}" is full (maxSize ${rules.maxSize})` };
    }
    return tid;
  }

  /**
   * A disqualified member leaves their team's score and its finds and hints (the team may make them
   * again), but keeps their place in the first-finder counts. Checked by `checkTeamScore` before.
   */
  private leaveTeam(pid: number, seq: number): void {
    const tid = this.playerTeam[pid]!;
    const n = this.treasures.length;
    for (let t = 0; t < n; t++) {
      const key = tid * n + t;
      if (this.found.get(key) === pid) this.found.delete(key);
      if (this.hinted.get(key) === pid) this.hinted.delete(key);
    }
    this.addTeamScore(tid, -this.numbers[pid]!, seq);
  }

  /** The check that comes right after the status for a find or a hint: the clock. */
  private timeUp(running: number): Rejection | undefined {
    const duration = this.rules.durationMs;
    if (duration === null || running < duration) return undefined;
    return {
      code: "time_up",
      message: `the hunt's time is up (running time ${running} ms of ${duration} ms)`,
    };
  }

  /** The rules that may keep a treasure from being found now, in the contract's order. */
  private findBlocked(
    treasure: Treasure,
    competitor: number,
    running: number,
    at: { lat: number; lon: number } | undefined,
  ): Rejection | undefined {
    if (treasure.opensAfterMs !== null && running < treasure.opensAfterMs) {
      return {
        code: "not_open",
        message: `treasure "${treasure.id}" opens at running time ${treasure.opensAfterMs} ms`,
      };
    }
    if (treasure.closesAfterMs !== null && running >= treasure.closesAfterMs) {
      return {
        code: "closed",
        message: `treasure "${treasure.id}" closed at running time ${treasure.closesAfterMs} ms`,
      };
    }
    const base = competitor * this.treasures.length;
    for (const r of treasure.requires) {
      if (!this.found.has(base + r)) {
        return {
          code: "locked",
          message: `treasure "${treasure.id}" needs "${this.treasures[r]!.id}" found first`,
        };
      }
    }
    const where = treasure.location;
    if (where !== null) {
      if (at === undefined)
        return { code: "too_far", message: `treasure "${treasure.id}" needs the finder's location` };
      const d = distanceM(where, at);
      if (!(d <= where.radiusM)) {
        return {
          code: "too_far",
          message: `the find is ${Math.round(d)} m from treasure "${treasure.id}" (radius ${where.radiusM} m)`,
        };
      }
    }
    return undefined;
  }

  /**
   * The pid of a player on the board, or why not, in the contract's order: disqualified, then not
   * joined. One look-up of the id: this runs for nearly every event.
   */
  private activePid(playerId: string): number | Rejection {
    const pid = this.pidOf(playerId);
    if (pid === undefined) return unknownPlayer(playerId);
    const state = this.playerState[pid]!;
    if (state === PLAYER_JOINED) return pid;
    return state >= PLAYER_DISQUALIFIED ? disqualified(playerId) : unknownPlayer(playerId);
  }

  /** Whether the hunt uses any rule of the contract's second version (its bytes then carry them). */
  get usesVersion2(): boolean {
    if (
      this.rules.durationMs !== null ||
      this.rules.teams !== null ||
      this.status === "finalized" ||
      this.frozen !== null
    )
      return true;
    for (const t of this.treasures) {
      if (t.requires.length > 0 || t.opensAfterMs !== null || t.closesAfterMs !== null) return true;
      if (t.decay !== null || t.location !== null || t.review) return true;
    }
    for (let pid = 0; pid < this.playerCount; pid++) {
      if (this.playerState[pid]! >= PLAYER_DISQUALIFIED) return true;
    }
    return false;
  }

  /**
   * The checks TreasureFound, HintTaken and SubmissionMade share, in schemas/CONTRACT.md's order: the
   * player is not disqualified and has joined, the treasure exists, it needs a review for a submission
   * and none for a find, the submission id is new, the competitor has not found the treasure. Fills
   * `target`, or returns the rejection.
   */
  private unfoundTreasure(
    d: { playerId: string; treasureId: string },
    type: "TreasureFound" | "HintTaken" | "SubmissionMade",
    submissionId?: string,
  ): Rejection | undefined {
    const pid = this.activePid(d.playerId);
    if (typeof pid !== "number") return pid;
    const t = this.treasureNumber(d.treasureId);
    if (t === undefined) return unknownTreasure(d.treasureId);
    if (type !== "HintTaken") {
      const review = this.treasures[t]!.review;
      if (type === "TreasureFound" && review) {
        return {
          code: "needs_review",
          message: `treasure "${d.treasureId}" is scored only through a reviewed submission (SubmissionMade)`,
        };
      }
      if (type === "SubmissionMade") {
        if (!review) {
          return {
            code: "no_review",
            message: `treasure "${d.treasureId}" needs no review: report it with TreasureFound`,
          };
        }
        if (this.submissions.sids.has(submissionId!)) {
          return { code: "submission_exists", message: `submission "${submissionId}" exists already` };
        }
      }
    }
    const key = this.competitor(pid) * this.treasures.length + t;
    if (this.found.has(key)) {
      const who = this.rules.teams === null ? "player" : `the team of player`;
      return { code: "already_found", message: `${who} "${d.playerId}" already found "${d.treasureId}"` };
    }
    TARGET.pid = pid;
    TARGET.t = t;
    TARGET.key = key;
    return undefined;
  }

  /**
   * Scores stay safe integers: a change that would leave that range, for the player or (in a team hunt)
   * their team, is rejected, not wrapped.
   */
  private checkScore(pid: number, delta: number): Rejection | undefined {
    const next = this.numbers[pid]! + delta;
    if (!Number.isSafeInteger(next)) {
      return {
        code: "invalid_event",
        message: `the score of "${this.playerId(pid)}" would leave the safe-integer range`,
      };
    }
    return this.rules.teams === null ? undefined : this.checkTeamScore(this.playerTeam[pid]!, delta);
  }

  private checkTeamScore(tid: number, delta: number): Rejection | undefined {
    if (Number.isSafeInteger(this.teamScore[tid]! + delta)) return undefined;
    return {
      code: "invalid_event",
      message: `the score of team "${this.teamIds[tid]}" would leave the safe-integer range`,
    };
  }

  /**
   * Applies a player's score delta, and in a team hunt the same to their team; a zero delta changes
   * neither score nor tie-break and publishes nothing.
   */
  private addScore(nOps: number, pid: number, id: string, delta: number, seq: number): number {
    if (delta === 0) return nOps;
    const score = this.numbers[pid]! + delta;
    this.numbers[pid] = score;
    this.numbers[this.playerState.length + pid] = seq;
    if (this.rules.teams !== null) this.addTeamScore(this.playerTeam[pid]!, delta, seq);
    return this.queue(nOps, OP_UPSERT, pid, id, score, seq);
  }

  /** Applies a team's score delta (a zero delta does nothing, like a player's). */
  private addTeamScore(tid: number, delta: number, seq: number): void {
    if (delta === 0) return;
    const score = this.teamScore[tid]! + delta;
    this.teamScore[tid] = score;
    this.teamTiebreak[tid] = seq;
    this.queueTeam(tid, score, seq);
  }

  /**
   * Gives the hunt its treasures, with how many competitors found each (none when it is created; a
   * snapshot's counts when it is restored).
   */
  setTreasures(treasures: Treasure[], findCounts = new Array<number>(treasures.length).fill(0)): void {
    this.treasures = treasures;
    this.treasureIndex =
      treasures.length > SEARCHED_TREASURES ? new Map(treasures.map((t, i) => [t.id, i])) : null;
    this.findCounts = findCounts;
  }

  /** The index in `treasures` of the hunt's treasure with this id; undefined when it has none. */
  treasureNumber(id: string): number | undefined {
    if (this.treasureIndex !== null) return this.treasureIndex.get(id);
    const treasures = this.treasures;
    for (let t = 0; t < treasures.length; t++) if (treasures[t]!.id === id) return t;
    return undefined;
  }

  /** The hunt's own `found`, made at its first find (until then it shares the empty set). */
  ownFound(): KeySet {
    if (this.found === NO_KEY_SET) this.found = new KeySet();
    return this.found;
  }

  /** The hunt's own `hinted`, made at its first hint (until then it shares the empty set). */
  ownHinted(): KeySet {
    if (this.hinted === NO_KEY_SET) this.hinted = new KeySet();
    return this.hinted;
  }

  /** The hunt's own submissions, made at the first one (until then it shares the empty ones). */
  ownSubmissions(): Submissions {
    if (this.submissions === NO_SUBMISSIONS) this.submissions = new Submissions();
    return this.submissions;
  }

  /** Registers a new player in join order; returns its pid. */
  addPlayer(playerId: string, state = PLAYER_JOINED): number {
    const pid = this.playerCount;
    const n = pid + 1;
    // Growing only adds room (no state), so it goes first; then the one step that can fail on the
    // input itself; then the changes, which cannot fail.
    this.reservePlayers(n);
    if (this.rules.teams !== null) this.playerTeam = growU32(this.playerTeam, n);
    const slot = this.index.intern(playerId);
    this.reservePlayers(slot + 1);
    this.slots[this.playerState.length + slot] = pid;
    this.slots[pid] = slot;
    this.playerCount = n;
    this.playerState[pid] = state;
    this.numbers[pid] = 0;
    return pid;
  }

  /** The pid of a player who ever joined; undefined for any other id, one the index refuses included. */
  pidOf(playerId: string): number | undefined {
    if (!isPlayerId(playerId)) return undefined;
    const slot = this.index.slotOf(playerId);
    // The index may hold ids that are no player's (a snapshot's board, a query): a slot is a player's
    // only when that player's slot is it.
    const room = this.playerState.length;
    if (slot < 0 || slot >= room) return undefined;
    const pid = this.slots[room + slot]!;
    return pid < this.playerCount && this.slots[pid] === slot ? pid : undefined;
  }

  /** The score of a player who ever joined. */
  playerScore(pid: number): number {
    return this.numbers[pid]!;
  }

  /**
   * The columns the board writes the first players' records from (`RankIndex.writeRecords`): each a
   * view made for the call, off the hot path.
   */
  recordColumns(): { slots: Uint32Array; states: Uint8Array; scores: Float64Array; tiebreaks: Float64Array } {
    const room = this.playerState.length;
    return {
      slots: this.slots.subarray(0, room),
      states: this.playerState,
      scores: this.numbers.subarray(0, room),
      tiebreaks: this.numbers.subarray(room),
    };
  }

  /** The id of a player who ever joined, from the rank index (a new string each call: off the hot path). */
  playerId(pid: number): string {
    return this.index.playerIdOf(this.slots[pid]!);
  }

  /**
   * Takes a snapshot's players at once, in join order (a fold with none yet): their columns, filled
   * for the first `slots.length` pids and made by `playerColumns` (they become the fold's own), and
   * the slots the board gave their ids.
   * What `addPlayer` does one at a time, without its per-player growth checks or board calls: a
   * restart of a million players spends its time here.
   */
  adoptPlayers(columns: PlayerColumns, slots: Uint32Array): void {
    if (this.playerCount !== 0) throw new Error("adoptPlayers: the fold has players already");
    const n = slots.length;
    if (columns.state.length < n)
      throw new Error(`adoptPlayers: ${n} players but room for ${columns.state.length}`);
    this.playerState = columns.state;
    this.numbers = columns.numbers;
    this.slots = columns.slots;
    this.slots.set(slots);
    // The board may hold ids that are no player's, so a slot may lie beyond the players' room.
    let need = n;
    for (let pid = 0; pid < n; pid++) need = Math.max(need, slots[pid]! + 1);
    this.reservePlayers(need);
    const room = this.playerState.length;
    for (let pid = 0; pid < n; pid++) this.slots[room + slots[pid]!] = pid;
    if (this.rules.teams !== null) this.playerTeam = new Uint32Array(this.playerState.length);
    this.playerCount = n;
  }

  /**
   * Makes the player columns hold at least `n` entries (pids and slots below `n`), in one new buffer
   * at least half as large again when they must grow (a small hunt wastes less room than doubling
   * would leave it), with what they held copied over.
   */
  private reservePlayers(n: number): void {
    const had = this.playerState.length;
    if (n <= had) return;
    const room = Math.max(n, had + (had >> 1), 16);
    const { numbers, slots, state } = playerColumns(room);
    // Each column is half of its view: the second halves move to the new room's half-way mark.
    numbers.set(this.numbers.subarray(0, had));
    numbers.set(this.numbers.subarray(had), room);
    slots.set(this.slots.subarray(0, had));
    slots.set(this.slots.subarray(had), room);
    state.set(this.playerState);
    this.numbers = numbers;
    this.slots = slots;
    this.playerState = state;
  }

  /** Makes this a team hunt, with its team board (its rules already say it has teams). */
  makeTeamHunt(teamIndex: RankIndex): void {
    this.teamIndex = teamIndex;
    this.teamNumbers = new Map();
    this.teamIds = [];
    this.playerTeam = growU32(this.playerTeam, this.playerState.length);
  }

  /** Registers a new team of a team hunt in creation order, with score 0; returns its number. */
  addTeam(teamId: string): number {
    const tid = this.teamIds.length;
    const n = tid + 1;
    this.teamScore = growF64(this.teamScore, n);
    this.teamTiebreak = growF64(this.teamTiebreak, n);
    this.teamSlot = growU32(this.teamSlot, n);
    this.teamMembers = growU32(this.teamMembers, n);
    const slot = this.teamIndex!.intern(teamId);
    this.teamIds.push(teamId);
    this.teamNumbers.set(teamId, tid);
    this.teamScore[tid] = 0;
    this.teamMembers[tid] = 0;
    this.teamSlot[tid] = slot;
    return tid;
  }
}

function unknownPlayer(playerId: string) {
  return { code: "unknown_player" as const, message: `player "${playerId}" has not joined this hunt` };
}

function unknownTreasure(treasureId: string) {
  return { code: "unknown_treasure" as const, message: `the hunt has no treasure "${treasureId}"` };
}

function unknownTeam(teamId: string, teamHunt: boolean) {
  return {
    code: "unknown_team" as const,
    message: teamHunt
      ? `the hunt has no team "${teamId}"`
      : `the hunt has no team "${teamId}" (it has no teams)`,
  };
}

function disqualified(playerId: string) {
  return { code: "disqualified" as const, message: `player "${playerId}" is disqualified` };
}

/** A treasure's points at a running time, after decay. */
function decayedPoints(t: Treasure, running: number): number {
  const decay = t.decay;
  if (decay === null || t.points < decay.min) return t.points;
  return Math.max(decay.min, t.points - decay.step * Math.floor(running / decay.everyMs));
}

/** The contract's distance in metres: the equirectangular approximation on the mean Earth radius. */
export function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return EARTH_RADIUS_M * Math.sqrt(x * x + y * y);
}

/**
 * Fills each treasure's `requires` with indexes; returns the problem when one names no other treasure
 * of the hunt, or when they form a cycle. The walk keeps its own stack, so that a chain as long as
 * the hunt allows (10,000 treasures) is judged the same whatever the caller's stack depth.
 */
function resolveRequires(
  defs: readonly { id: string; requires?: string[] | undefined }[],
  treasures: Treasure[],
  index: Map<string, number>,
): string | undefined {
  for (let i = 0; i < defs.length; i++) {
    const seen = new Set<number>();
    const requires: number[] = [];
    for (const id of defs[i]!.requires ?? []) {
      const r = index.get(id);
      if (r === undefined) {
        return `data.treasures[${i}].requires: names ${JSON.stringify(id)}, which is not a treasure of the hunt`;
      }
      if (r === i)
        return `data.treasures[${i}].requires: treasure ${JSON.stringify(id)} cannot require itself`;
      if (!seen.has(r)) {
        seen.add(r);
        requires.push(r);
      }
    }
    if (requires.length > 0) treasures[i]!.requires = requires;
  }
  // Depth-first in treasure order; 0 new, 1 on the current path, 2 done.
  const state = new Uint8Array(treasures.length);
  const path: number[] = [];
  const next: number[] = [];
  for (let root = 0; root < treasures.length; root++) {
    if (state[root] !== 0) continue;
    state[root] = 1;
    path.push(root);
    next.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const node = path[top]!;
      const requires = treasures[node]!.requires;
      if (next[top]! < requires.length) {
        const r = requires[next[top]!++]!;
        if (state[r] === 1) {
          return `data.treasures: the requires of ${JSON.stringify(treasures[r]!.id)} form a cycle`;
        }
        if (state[r] === 0) {
          state[r] = 1;
          path.push(r);
          next.push(0);
        }
      } else {
        state[node] = 2;
        path.pop();
        next.pop();
      }
    }
  }
  return undefined;
}
