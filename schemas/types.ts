// GENERATED FILE, do not edit: produced by `npx tsx schemas/generate-types.ts` from the JSON Schema
// files in schemas/ (the source of truth). Change a schema, then re-run the script.
/* eslint-disable */

/**
 * A hunt id: 1-64 characters of [A-Za-z0-9_-].
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HuntId".
 */
export type HuntId = string;
/**
 * A player id: 1-128 characters (code points) of well-formed Unicode with no control characters (C0, DEL, C1), compared code point by code point.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "PlayerId".
 */
export type PlayerId = string;
/**
 * A treasure id: 1-128 characters (code points) of well-formed Unicode with no control characters (C0, DEL, C1), compared code point by code point.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TreasureId".
 */
export type TreasureId = string;
/**
 * A submission id: 1-128 characters (code points) of well-formed Unicode with no control characters (C0, DEL, C1), compared code point by code point; unique in the hunt.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "SubmissionId".
 */
export type SubmissionId = string;
/**
 * An integer in JavaScript's safe range.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "SafeInteger".
 */
export type SafeInteger = number;
/**
 * A safe integer >= 0.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "NonNegativeSafeInteger".
 */
export type NonNegativeSafeInteger = number;
/**
 * A safe integer >= 1.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "PositiveSafeInteger".
 */
export type PositiveSafeInteger = number;
/**
 * A sha256 digest in lowercase hex.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Sha256Hex".
 */
export type Sha256Hex = string;
/**
 * An input stream sequence number.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Seq".
 */
export type Seq = number;
/**
 * A 1-based rank; 0 means not ranked.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Rank".
 */
export type Rank = number;
/**
 * An opaque pagination cursor.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Cursor".
 */
export type Cursor = string;
/**
 * A team id: 1-128 characters (code points) of well-formed Unicode with no control characters (C0, DEL, C1), compared code point by code point.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TeamId".
 */
export type TeamId = string;
/**
 * Why an input event was not applied.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "RejectionCode".
 */
export type RejectionCode =
  | "invalid_event"
  | "finalized"
  | "invalid_state"
  | "not_team_hunt"
  | "team_exists"
  | "time_up"
  | "disqualified"
  | "already_joined"
  | "player_left"
  | "hunt_full"
  | "unknown_player"
  | "unknown_team"
  | "team_full"
  | "unknown_treasure"
  | "needs_review"
  | "no_review"
  | "submission_exists"
  | "already_found"
  | "not_open"
  | "closed"
  | "locked"
  | "too_far"
  | "wrong_answer"
  | "already_hinted"
  | "already_pending"
  | "unknown_submission"
  | "already_reviewed";
/**
 * The hunt's lifecycle state; none before HuntCreated.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HuntStatus".
 */
export type HuntStatus = "none" | "created" | "running" | "paused" | "ended" | "finalized";
/**
 * Who did an organiser's action (a name or an id), for the audit trail.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Actor".
 */
export type Actor = string;
/**
 * Request on hunt.<id>.query.rank: exactly one of playerId and teamId.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "RankRequest".
 */
export type RankRequest =
  | {
      playerId: PlayerId;
    }
  | {
      teamId: TeamId;
    };
/**
 * Request on hunt.<id>.query.around: exactly one of playerId and teamId.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "AroundRequest".
 */
export type AroundRequest =
  | {
      playerId: PlayerId;
    }
  | {
      teamId: TeamId;
    };

export interface CairnSchemas {}
/**
 * One row of the leaderboard.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Entry".
 */
export interface LeaderboardEntry {
  rank: Rank;
  playerId: PlayerId;
  score: SafeInteger;
}
/**
 * One row of the team board.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TeamEntry".
 */
export interface TeamLeaderboardEntry {
  rank: Rank;
  teamId: TeamId;
  score: SafeInteger;
}
/**
 * A point on Earth in degrees.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Location".
 */
export interface Location {
  lat: number;
  lon: number;
  [k: string]: unknown | undefined;
}
/**
 * One rank message of a competitor, other than the one that opened their place (a join, a team's creation), with the input that caused it.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "LedgerEntry".
 */
export interface LedgerEntry {
  /**
   * The input's stream sequence.
   */
  seq: number;
  /**
   * The input's JetStream time, whole milliseconds since the epoch.
   */
  time: number;
  /**
   * The hunt's running time at the input, ms.
   */
  runningMs: number;
  /**
   * The input's type.
   */
  type: string;
  /**
   * The input's event id.
   */
  eventId: string;
  /**
   * An integer in JavaScript's safe range.
   */
  delta: number;
  /**
   * An integer in JavaScript's safe range.
   */
  score: number;
  /**
   * A 1-based rank; 0 means not ranked.
   */
  rank: number;
  /**
   * The input's reason (ScoreAdjusted, PlayerDisqualified, SubmissionReviewed), when it has one.
   */
  reason?: string;
  /**
   * Who did it: the input's by (ScoreAdjusted, PlayerDisqualified) or reviewer (SubmissionReviewed), when it has one.
   */
  by?: string;
  /**
   * The input's treasure (TreasureFound, HintTaken).
   */
  treasureId?: string;
  /**
   * The input's submission (SubmissionReviewed).
   */
  submissionId?: string;
}
/**
 * A CloudEvents 1.0 event in structured JSON mode, as published to hunt.<id>.events. Extension attributes are allowed and ignored.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "CloudEvent".
 */
export interface CloudEvent {
  /**
   * CloudEvents version, always "1.0".
   */
  specversion: "1.0";
  /**
   * Event id, unique per source; also the Nats-Msg-Id used for de-duplication: 1-128 characters of well-formed Unicode with no control characters.
   */
  id: string;
  /**
   * Who produced the event (URI-reference).
   */
  source: string;
  /**
   * The event type, one of the Cairn input types.
   */
  type: string;
  /**
   * Publisher's clock; informational only, never used by the engine.
   */
  time?: string;
  /**
   * Content type of data; application/json when present.
   */
  datacontenttype?: string;
  subject?: string;
  dataschema?: string;
  /**
   * The type-specific payload.
   */
  data?: {
    [k: string]: unknown | undefined;
  };
  [k: string]: unknown | undefined;
}
/**
 * data of HuntCreated: defines the hunt's treasures and rules.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HuntCreatedData".
 */
export interface HuntCreatedData {
  /**
   * Display title.
   */
  title: string;
  /**
   * 1-10,000 treasures with unique ids.
   *
   * @minItems 1
   * @maxItems 10000
   */
  treasures: Treasure[];
  rules?: HuntRules;
  [k: string]: unknown | undefined;
}
export interface Treasure {
  id: TreasureId;
  /**
   * Points for finding it, >= 0.
   */
  points: number;
  /**
   * sha256 (hex, either case) of the UTF-8 answer; when present, TreasureFound must carry the answer.
   */
  answerSha256?: string;
  /**
   * Clues in order: every one of these treasures must have been found by the competitor first (else locked). They must name other treasures of the hunt and form no cycle.
   *
   * @maxItems 10000
   */
  requires?: TreasureId[];
  /**
   * The treasure can be found from this running time (inclusive; before it: not_open).
   */
  opensAfterMs?: number;
  /**
   * The treasure can be found until this running time (exclusive; from it: closed).
   */
  closesAfterMs?: number;
  decay?: Decay;
  location?: TreasureLocation;
  /**
   * true: the treasure is scored only by a reviewed submission (SubmissionMade, then SubmissionReviewed); TreasureFound for it is needs_review.
   */
  review?: boolean;
  [k: string]: unknown | undefined;
}
/**
 * The points fall by step every everyMs of running time, never below min (if points < min, points).
 */
export interface Decay {
  everyMs: PositiveSafeInteger;
  step: PositiveSafeInteger;
  min: NonNegativeSafeInteger;
  [k: string]: unknown | undefined;
}
/**
 * Where the treasure is: a find must be reported within radiusM metres of it (else too_far).
 */
export interface TreasureLocation {
  lat: number;
  lon: number;
  radiusM: number;
  [k: string]: unknown | undefined;
}
export interface HuntRules {
  /**
   * Bonus for the k-th finder (0-based) of a treasure.
   *
   * @maxItems 10000
   */
  firstFinderBonus?: SafeInteger[];
  /**
   * An integer in JavaScript's safe range.
   */
  hintPenalty?: number;
  /**
   * A safe integer >= 1.
   */
  maxPlayers?: number;
  /**
   * A safe integer >= 1.
   */
  durationMs?: number;
  teams?: TeamRules;
  [k: string]: unknown | undefined;
}
/**
 * Present: a team hunt, where teams are the competitors (TeamCreated, PlayerJoined.teamId).
 */
export interface TeamRules {
  /**
   * A safe integer >= 1.
   */
  maxSize?: number;
  [k: string]: unknown | undefined;
}
/**
 * data of HuntStarted: no fields; data may be omitted.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HuntStartedData".
 */
export interface HuntStartedData {
  [k: string]: unknown | undefined;
}
/**
 * data of HuntPaused: no fields; data may be omitted.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HuntPausedData".
 */
export interface HuntPausedData {
  [k: string]: unknown | undefined;
}
/**
 * data of HuntResumed: no fields; data may be omitted.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HuntResumedData".
 */
export interface HuntResumedData {
  [k: string]: unknown | undefined;
}
/**
 * data of HuntEnded: an optional reason ("time_up" when the engine ends the hunt at its deadline); data may be omitted.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HuntEndedData".
 */
export interface HuntEndedData {
  /**
   * Why the hunt ended: any JSON value, kept in the log and not read by the fold (the first version accepted any reason, and its logs must fold the same).
   */
  reason?: {
    [k: string]: unknown | undefined;
  };
  [k: string]: unknown | undefined;
}
/**
 * data of PlayerJoined; in a team hunt teamId names the player's team.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "PlayerJoinedData".
 */
export interface PlayerJoinedData {
  playerId: PlayerId;
  /**
   * Display name.
   */
  name?: string;
  /**
   * A team id: 1-128 characters (code points) of well-formed Unicode with no control characters (C0, DEL, C1), compared code point by code point.
   */
  teamId?: string;
  [k: string]: unknown | undefined;
}
/**
 * data of PlayerLeft: leaving is final.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "PlayerLeftData".
 */
export interface PlayerLeftData {
  playerId: PlayerId;
  [k: string]: unknown | undefined;
}
/**
 * data of TreasureFound.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TreasureFoundData".
 */
export interface TreasureFoundData {
  playerId: PlayerId;
  treasureId: TreasureId;
  /**
   * The answer, checked against answerSha256.
   */
  answer?: string;
  location?: Location1;
  [k: string]: unknown | undefined;
}
/**
 * Where the player was, for treasures with a location.
 */
export interface Location1 {
  lat: number;
  lon: number;
  [k: string]: unknown | undefined;
}
/**
 * data of HintTaken.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HintTakenData".
 */
export interface HintTakenData {
  playerId: PlayerId;
  treasureId: TreasureId;
  [k: string]: unknown | undefined;
}
/**
 * data of HuntFinalized: closes an ended hunt for good; data may be omitted.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "HuntFinalizedData".
 */
export interface HuntFinalizedData {
  by?: Actor;
  [k: string]: unknown | undefined;
}
/**
 * data of PlayerDisqualified: takes a player off the board for good.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "PlayerDisqualifiedData".
 */
export interface PlayerDisqualifiedData {
  playerId: PlayerId;
  /**
   * Why, for the audit trail.
   */
  reason: string;
  by?: Actor;
  [k: string]: unknown | undefined;
}
/**
 * data of ScoreAdjusted: exactly one of playerId and teamId.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "ScoreAdjustedData".
 */
export interface ScoreAdjustedData {
  playerId?: PlayerId;
  /**
   * A team id: 1-128 characters (code points) of well-formed Unicode with no control characters (C0, DEL, C1), compared code point by code point.
   */
  teamId?: string;
  /**
   * An integer in JavaScript's safe range.
   */
  delta: number;
  /**
   * Why, for the audit trail.
   */
  reason: string;
  by?: Actor;
  [k: string]: unknown | undefined;
}
/**
 * data of SubmissionMade: a player submits a proof for a treasure that needs a review.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "SubmissionMadeData".
 */
export interface SubmissionMadeData {
  submissionId: SubmissionId;
  playerId: PlayerId;
  treasureId: TreasureId;
  /**
   * The proof for the reviewer: a URL or text; kept in the log, not read by the engine.
   */
  evidence?: string;
  location?: Location2;
  [k: string]: unknown | undefined;
}
/**
 * Where the player was, for treasures with a location (judged as for TreasureFound).
 */
export interface Location2 {
  lat: number;
  lon: number;
  [k: string]: unknown | undefined;
}
/**
 * data of SubmissionReviewed: a reviewer approves or rejects a pending submission.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "SubmissionReviewedData".
 */
export interface SubmissionReviewedData {
  submissionId: SubmissionId;
  /**
   * true: the submission counts as a find of the treasure; false: it changes no score.
   */
  approved: boolean;
  reviewer: Actor;
  /**
   * A safe integer >= 0.
   */
  points?: number;
  /**
   * Why, for the audit trail; not read by the engine.
   */
  reason?: string;
  [k: string]: unknown | undefined;
}
/**
 * data of StandingsFrozen: freezes the public standings (hunt.<id>.top and hunt.<id>.public.*) as they are; data may be omitted.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "StandingsFrozenData".
 */
export interface StandingsFrozenData {
  by?: Actor;
  [k: string]: unknown | undefined;
}
/**
 * data of StandingsRevealed: shows the live standings in public again; data may be omitted.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "StandingsRevealedData".
 */
export interface StandingsRevealedData {
  by?: Actor;
  [k: string]: unknown | undefined;
}
/**
 * data of TeamCreated: a team of a team hunt enters the team board with score 0.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TeamCreatedData".
 */
export interface TeamCreatedData {
  teamId: TeamId;
  /**
   * Display name.
   */
  name?: string;
  [k: string]: unknown | undefined;
}
/**
 * A message on hunt.<id>.ranks: one player's rank changed.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "RankChange".
 */
export interface RankChange {
  /**
   * Input sequence that caused it.
   */
  seq: number;
  playerId: PlayerId;
  score: SafeInteger;
  /**
   * A 1-based rank; 0 means not ranked.
   */
  rank: number;
  /**
   * A 1-based rank; 0 means not ranked.
   */
  previousRank: number;
  /**
   * A safe integer >= 0.
   */
  players: number;
}
/**
 * A message on hunt.<id>.teams.ranks: one team's rank or score changed.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TeamRankChange".
 */
export interface TeamRankChange {
  /**
   * Input sequence that caused it.
   */
  seq: number;
  teamId: TeamId;
  score: SafeInteger;
  /**
   * A 1-based rank; 0 means not ranked.
   */
  rank: number;
  /**
   * A 1-based rank; 0 means not ranked.
   */
  previousRank: number;
  /**
   * A safe integer >= 0.
   */
  teams: number;
}
/**
 * A message on hunt.<id>.rejected: an input event that was not applied.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Rejection".
 */
export interface Rejection {
  seq: Seq;
  /**
   * The event's id, null if unreadable.
   */
  eventId: string | null;
  /**
   * The event's type, null if unreadable.
   */
  type: string | null;
  code: RejectionCode;
  /**
   * Human explanation naming the field.
   */
  message: string;
}
/**
 * A message on hunt.<id>.checkpoints: one link of the hunt's chain of checkpoints.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "Checkpoint".
 */
export interface Checkpoint {
  seq: Seq;
  /**
   * A safe integer >= 0.
   */
  events: number;
  /**
   * The hunt's stateHash right after input seq: lowercase hex sha256.
   */
  stateHash: string;
  /**
   * The previous checkpoint's chain; 64 zeros for the first.
   */
  prev: string;
  /**
   * sha256(prev + ":" + seq + ":" + stateHash) in lowercase hex, seq in decimal.
   */
  chain: string;
  /**
   * With a signing key: the Ed25519 signature over the ASCII bytes of chain, base64 (standard alphabet, padded: 88 characters).
   */
  sig?: string;
  /**
   * With a signing key: the Ed25519 public key, its raw 32 bytes in base64 (standard alphabet, padded: 44 characters).
   */
  key?: string;
}
/**
 * A message on hunt.<id>.top (core NATS): the coalesced top-N.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TopN".
 */
export interface TopN {
  seq: Seq;
  entries: LeaderboardEntry[];
}
/**
 * A message on hunt.<id>.teams.top (core NATS): the coalesced top-N of the team board.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TeamsTopN".
 */
export interface TeamsTopN {
  seq: Seq;
  entries: TeamLeaderboardEntry[];
}
/**
 * Request on hunt.<id>.query.top.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TopRequest".
 */
export interface TopRequest {
  /**
   * How many entries (1-1000, default 10).
   */
  n?: number;
  /**
   * Cursor from a previous reply's next.
   */
  after?: string;
  /**
   * Which board: players (when absent) or teams (a team hunt's; empty in a solo hunt).
   */
  board?: "players" | "teams";
}
/**
 * Reply to hunt.<id>.query.top: entries of the player board, or of the team board (with teamId) when asked for board teams.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "TopReply".
 */
export interface TopReply {
  seq: Seq;
  entries: (LeaderboardEntry | TeamLeaderboardEntry)[];
  /**
   * Cursor for the next page; absent at the end.
   */
  next?: string;
}
/**
 * Reply to hunt.<id>.query.rank.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "RankReply".
 */
export interface RankReply {
  seq: Seq;
  /**
   * A 1-based rank; 0 means not ranked.
   */
  rank: number;
  score: SafeInteger;
}
/**
 * Reply to hunt.<id>.query.around.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "AroundReply".
 */
export interface AroundReply {
  seq: Seq;
  entries: (LeaderboardEntry | TeamLeaderboardEntry)[];
}
/**
 * Request on hunt.<id>.query.ledger: exactly one of playerId and teamId.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "LedgerRequest".
 */
export interface LedgerRequest {
  playerId?: PlayerId;
  teamId?: TeamId;
  /**
   * Cursor from a previous ledger reply's next.
   */
  after?: string;
  /**
   * How many entries (1-1000, default 100).
   */
  limit?: number;
}
/**
 * Reply to hunt.<id>.query.ledger.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "LedgerReply".
 */
export interface LedgerReply {
  /**
   * An input stream sequence number.
   */
  seq: number;
  entries: LedgerEntry[];
  /**
   * Cursor for the next page; absent when no entry follows up to seq. A page that ran out of time holds fewer than limit entries (maybe none) and still has a next: page until a reply has none.
   */
  next?: string;
}
/**
 * Request on hunt.<id>.query.state: an empty object.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "StateRequest".
 */
export interface StateRequest {}
/**
 * Reply to hunt.<id>.query.state.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "StateReply".
 */
export interface StateReply {
  seq: Seq;
  status: HuntStatus;
  players: NonNegativeSafeInteger;
  /**
   * A safe integer >= 0.
   */
  teams: number;
  /**
   * Hash of the canonical hunt state.
   */
  stateHash: string;
  /**
   * The seq of the StandingsFrozen that froze the public standings, or null when they are not frozen.
   */
  frozenAt: Seq | null;
  /**
   * A safe integer >= 0.
   */
  runningMs: number;
  /**
   * The hunt's last checkpoint (as published on hunt.<id>.checkpoints), or null before its first.
   */
  checkpoint: Checkpoint | null;
}
/**
 * Reply to hunt.<id>.public.state: what a viewer may see of the hunt's state (no stateHash).
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "PublicStateReply".
 */
export interface PublicStateReply {
  seq: Seq;
  status: HuntStatus;
  players: NonNegativeSafeInteger;
  /**
   * A safe integer >= 0.
   */
  teams: number;
  /**
   * The seq of the StandingsFrozen that froze the public standings, or null when they are not frozen.
   */
  frozenAt: Seq | null;
  /**
   * A safe integer >= 0.
   */
  runningMs: number;
}
/**
 * Error reply to any query.
 *
 * This interface was referenced by `CairnSchemas`'s JSON-Schema
 * via the `definition` "ErrorReply".
 */
export interface ErrorReply {
  error: QueryError;
}
export interface QueryError {
  /**
   * Stable error code, e.g. invalid_request, unknown_hunt.
   */
  code: string;
  message: string;
}
