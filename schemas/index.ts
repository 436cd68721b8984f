// The schemas folder's single entry: decodes and validates input events and query requests against the JSON Schema files.

import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import Ajv2020 from "ajv/dist/2020.js";
import cloudEventSchema from "./cloudevent.json" with { type: "json" };
import commonSchema from "./common.json" with { type: "json" };
import hintTakenSchema from "./events/hint-taken.json" with { type: "json" };
import huntCreatedSchema from "./events/hunt-created.json" with { type: "json" };
import huntEndedSchema from "./events/hunt-ended.json" with { type: "json" };
import huntFinalizedSchema from "./events/hunt-finalized.json" with { type: "json" };
import huntPausedSchema from "./events/hunt-paused.json" with { type: "json" };
import huntResumedSchema from "./events/hunt-resumed.json" with { type: "json" };
import huntStartedSchema from "./events/hunt-started.json" with { type: "json" };
import playerDisqualifiedSchema from "./events/player-disqualified.json" with { type: "json" };
import playerJoinedSchema from "./events/player-joined.json" with { type: "json" };
import playerLeftSchema from "./events/player-left.json" with { type: "json" };
import scoreAdjustedSchema from "./events/score-adjusted.json" with { type: "json" };
import standingsFrozenSchema from "./events/standings-frozen.json" with { type: "json" };
import standingsRevealedSchema from "./events/standings-revealed.json" with { type: "json" };
import submissionMadeSchema from "./events/submission-made.json" with { type: "json" };
import submissionReviewedSchema from "./events/submission-reviewed.json" with { type: "json" };
import teamCreatedSchema from "./events/team-created.json" with { type: "json" };
import treasureFoundSchema from "./events/treasure-found.json" with { type: "json" };
import checkpointSchema from "./outputs/checkpoint.json" with { type: "json" };
import rankChangeSchema from "./outputs/rank-change.json" with { type: "json" };
import rejectionSchema from "./outputs/rejection.json" with { type: "json" };
import teamRankChangeSchema from "./outputs/team-rank-change.json" with { type: "json" };
import teamsTopSchema from "./outputs/teams-top.json" with { type: "json" };
import topSchema from "./outputs/top.json" with { type: "json" };
import aroundReplySchema from "./queries/around-reply.json" with { type: "json" };
import aroundRequestSchema from "./queries/around-request.json" with { type: "json" };
import errorReplySchema from "./queries/error-reply.json" with { type: "json" };
import ledgerReplySchema from "./queries/ledger-reply.json" with { type: "json" };
import ledgerRequestSchema from "./queries/ledger-request.json" with { type: "json" };
import publicStateReplySchema from "./queries/public-state-reply.json" with { type: "json" };
import rankReplySchema from "./queries/rank-reply.json" with { type: "json" };
import rankRequestSchema from "./queries/rank-request.json" with { type: "json" };
import stateReplySchema from "./queries/state-reply.json" with { type: "json" };
import stateRequestSchema from "./queries/state-request.json" with { type: "json" };
import topReplySchema from "./queries/top-reply.json" with { type: "json" };
import topRequestSchema from "./queries/top-request.json" with { type: "json" };
import type {
  AroundRequest,
  HintTakenData,
  HuntCreatedData,
  HuntEndedData,
  HuntFinalizedData,
  HuntPausedData,
  HuntResumedData,
  HuntRules,
  HuntStartedData,
  LedgerRequest,
  PlayerDisqualifiedData,
  PlayerJoinedData,
  PlayerLeftData,
  RankRequest,
  RejectionCode,
  ScoreAdjustedData,
  StandingsFrozenData,
  StandingsRevealedData,
  StateRequest,
  SubmissionMadeData,
  SubmissionReviewedData,
  TeamCreatedData,
  TopRequest,
  TreasureFoundData,
} from "./types.ts";

export type * from "./types.ts";

/** The contract's hunt-id rule, compiled from common.json's HuntId with the flags ajv uses for patterns. */
const huntIdPattern = new RegExp(commonSchema.$defs.HuntId.pattern, "u");

/** True when `huntId` is a hunt id (common.json's HuntId: 1-64 characters of [A-Za-z0-9_-]). */
export function isValidHuntId(huntId: unknown): huntId is string {
  return typeof huntId === "string" && huntIdPattern.test(huntId);
}

/** The largest input message accepted, in bytes (64 KiB), for every type but HuntCreated. */
export const MAX_EVENT_BYTES = 65_536;

/**
 * The largest HuntCreated accepted: NATS's default max payload (1 MiB). 10,000 treasures cannot fit in 64 KiB
 * (about 25 bytes each without answers, 100 with), so the hunt definition gets the server's own limit.
 */
export const MAX_HUNT_CREATED_BYTES = 1_048_576;

/** Every rejection code, in the order schemas/CONTRACT.md ("Events and their checks") lists the checks. */
export const REJECTION_CODES = [
  "invalid_event",
  "finalized",
  "invalid_state",
  "not_team_hunt",
  "team_exists",
  "time_up",
  "disqualified",
  "already_joined",
  "player_left",
  "hunt_full",
  "unknown_player",
  "unknown_team",
  "team_full",
  "unknown_treasure",
  "needs_review",
  "no_review",
  "submission_exists",
  "already_found",
  "not_open",
  "closed",
  "locked",
  "too_far",
  "wrong_answer",
  "already_hinted",
  "already_pending",
  "unknown_submission",
  "already_reviewed",
] as const satisfies readonly RejectionCode[];

/** The input event types, each with the data it carries after normalisation. */
export interface HuntEventDataMap {
  HuntCreated: HuntCreatedData & { rules: HuntRules & { hintPenalty: number } };
  HuntStarted: HuntStartedData;
  HuntPaused: HuntPausedData;
  HuntResumed: HuntResumedData;
  HuntEnded: HuntEndedData;
  HuntFinalized: HuntFinalizedData;
  PlayerJoined: PlayerJoinedData;
  PlayerLeft: PlayerLeftData;
  TreasureFound: TreasureFoundData;
  HintTaken: HintTakenData;
  ScoreAdjusted: ScoreAdjustedData;
  PlayerDisqualified: PlayerDisqualifiedData;
  SubmissionMade: SubmissionMadeData;
  SubmissionReviewed: SubmissionReviewedData;
  StandingsFrozen: StandingsFrozenData;
  StandingsRevealed: StandingsRevealedData;
  TeamCreated: TeamCreatedData;
}

/** An input event type name. */
export type HuntEventType = keyof HuntEventDataMap;

/** The input event types, as a const list. */
export const HUNT_EVENT_TYPES = [
  "HuntCreated",
  "HuntStarted",
  "HuntPaused",
  "HuntResumed",
  "HuntEnded",
  "HuntFinalized",
  "PlayerJoined",
  "PlayerLeft",
  "TreasureFound",
  "HintTaken",
  "ScoreAdjusted",
  "PlayerDisqualified",
  "SubmissionMade",
  "SubmissionReviewed",
  "StandingsFrozen",
  "StandingsRevealed",
  "TeamCreated",
] as const satisfies readonly HuntEventType[];

/** A validated CloudEvent of one input type, with normalised `data`. */
export type HuntEventOf<T extends HuntEventType> = {
  /** Always "1.0". */
  specversion: "1.0";
  /** Event id (also its Nats-Msg-Id). */
  id: string;
  /** Producer of the event. */
  source: string;
  /** Event type. */
  type: T;
  /** Type-specific payload: `{}` when omitted; answerSha256 lowercased; rules.hintPenalty defaults to 0. */
  data: HuntEventDataMap[T];
  /** Other CloudEvents attributes and extensions (ignored by the engine). */
  [attribute: string]: unknown;
};

/** Any validated input event: a discriminated union on `type`. */
export type HuntEvent = { [T in HuntEventType]: HuntEventOf<T> }[HuntEventType];

/** The result of decoding one input message. */
export type DecodedEvent =
  | { ok: true; event: HuntEvent }
  | { ok: false; code: "invalid_event"; message: string; eventId: string | null; type: string | null };

/** The query operations served on `hunt.<id>.query.<op>`. */
export interface QueryRequestMap {
  top: TopRequest & { n: number };
  rank: RankRequest;
  around: AroundRequest & { before: number; after: number };
  state: StateRequest;
  ledger: LedgerRequest & { limit: number };
}

/** A query operation name. */
export type QueryOp = keyof QueryRequestMap;

/** The query operations, as a const list. */
export const QUERY_OPS = ["top", "rank", "around", "state", "ledger"] as const satisfies readonly QueryOp[];

/** The result of decoding one query request. */
export type DecodedQuery<Op extends QueryOp = QueryOp> =
  | { ok: true; request: QueryRequestMap[Op] }
  | { ok: false; code: "invalid_request"; message: string };

const allSchemas = [
  commonSchema,
  cloudEventSchema,
  huntCreatedSchema,
  huntStartedSchema,
  huntPausedSchema,
  huntResumedSchema,
  huntEndedSchema,
  huntFinalizedSchema,
  playerJoinedSchema,
  playerLeftSchema,
  treasureFoundSchema,
  hintTakenSchema,
  scoreAdjustedSchema,
  playerDisqualifiedSchema,
  submissionMadeSchema,
  submissionReviewedSchema,
  standingsFrozenSchema,
  standingsRevealedSchema,
  teamCreatedSchema,
  rankChangeSchema,
  teamRankChangeSchema,
  teamsTopSchema,
  rejectionSchema,
  checkpointSchema,
  topSchema,
  topRequestSchema,
  topReplySchema,
  rankRequestSchema,
  rankReplySchema,
  aroundRequestSchema,
  aroundReplySchema,
  stateRequestSchema,
  stateReplySchema,
  publicStateReplySchema,
  ledgerRequestSchema,
  ledgerReplySchema,
  errorReplySchema,
];

// verbose: errors carry the failing sub-schema, so messages can say "non-empty string" (only costs on failure).
// allErrors off: stop at the first problem, which is the fastest and gives one clear message.
const ajv = new Ajv2020.default({ allErrors: false, verbose: true, strict: true, allowUnionTypes: true });
const queryAjv = new Ajv2020.default({ allErrors: false, verbose: true, strict: true, useDefaults: true });
for (const s of allSchemas) {
  ajv.addSchema(s);
  queryAjv.addSchema(s);
}

/** A validator as ajv's, with the `errors` of its last call. */
type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null | undefined };

/**
 * The validator of a schema, compiled on its first use: compiling them all costs about 200 ms, which
 * every command would pay at start-up (a `cairn top` validates nothing).
 */
function compiled(a: typeof ajv, schema: { $id: string }): Validator {
  let v: ValidateFunction | undefined;
  const validate: Validator = (data) => {
    if (!v) {
      v = a.getSchema(schema.$id);
      if (!v) throw new Error(`schema ${schema.$id} did not compile`);
    }
    const ok = v(data) as boolean;
    validate.errors = v.errors;
    return ok;
  };
  return validate;
}

const validateEnvelope = compiled(ajv, cloudEventSchema);
const dataValidators: Record<HuntEventType, Validator> = {
  HuntCreated: compiled(ajv, huntCreatedSchema),
  HuntStarted: compiled(ajv, huntStartedSchema),
  HuntPaused: compiled(ajv, huntPausedSchema),
  HuntResumed: compiled(ajv, huntResumedSchema),
  HuntEnded: compiled(ajv, huntEndedSchema),
  HuntFinalized: compiled(ajv, huntFinalizedSchema),
  PlayerJoined: compiled(ajv, playerJoinedSchema),
  PlayerLeft: compiled(ajv, playerLeftSchema),
  TreasureFound: compiled(ajv, treasureFoundSchema),
  HintTaken: compiled(ajv, hintTakenSchema),
  ScoreAdjusted: compiled(ajv, scoreAdjustedSchema),
  PlayerDisqualified: compiled(ajv, playerDisqualifiedSchema),
  SubmissionMade: compiled(ajv, submissionMadeSchema),
  SubmissionReviewed: compiled(ajv, submissionReviewedSchema),
  StandingsFrozen: compiled(ajv, standingsFrozenSchema),
  StandingsRevealed: compiled(ajv, standingsRevealedSchema),
  TeamCreated: compiled(ajv, teamCreatedSchema),
};
const noFieldTypes = new Set<string>([
  "HuntStarted",
  "HuntPaused",
  "HuntResumed",
  "HuntEnded",
  "HuntFinalized",
  "StandingsFrozen",
  "StandingsRevealed",
]);
const queryValidators: Record<QueryOp, Validator> = {
  top: compiled(queryAjv, topRequestSchema),
  rank: compiled(queryAjv, rankRequestSchema),
  around: compiled(queryAjv, aroundRequestSchema),
  state: compiled(queryAjv, stateRequestSchema),
  ledger: compiled(queryAjv, ledgerRequestSchema),
};

/** Validators for the output and reply messages (used by tests and by clients checking what the engine sends). */
export const outputValidators = {
  rankChange: compiled(ajv, rankChangeSchema),
  teamRankChange: compiled(ajv, teamRankChangeSchema),
  rejection: compiled(ajv, rejectionSchema),
  checkpoint: compiled(ajv, checkpointSchema),
  top: compiled(ajv, topSchema),
  teamsTop: compiled(ajv, teamsTopSchema),
  topReply: compiled(ajv, topReplySchema),
  rankReply: compiled(ajv, rankReplySchema),
  aroundReply: compiled(ajv, aroundReplySchema),
  stateReply: compiled(ajv, stateReplySchema),
  publicStateReply: compiled(ajv, publicStateReplySchema),
  ledgerReply: compiled(ajv, ledgerReplySchema),
  errorReply: compiled(ajv, errorReplySchema),
} as const;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const hasOwn = Object.prototype.hasOwnProperty;

/** Turns ajv's JSON pointer into `data.treasures[3].points`. */
function fieldPath(prefix: string, pointer: string): string {
  let out = prefix;
  if (pointer === "") return out;
  for (const raw of pointer.slice(1).split("/")) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

function article(type: string): string {
  return type === "integer" || type === "object" || type === "array" ? `an ${type}` : `a ${type}`;
}

/** One human sentence for ajv's first error, naming the field. */
function describe(prefix: string, err: ErrorObject): string {
  const parent = (err.parentSchema ?? {}) as Record<string, unknown>;
  const params = err.params as Record<string, unknown>;
  let path = fieldPath(prefix, err.instancePath);
  let what: string;
  const isNonEmptyString =
    parent.type === "string" && typeof parent.minLength === "number" && parent.minLength > 0;
  switch (err.keyword) {
    case "required":
      path = path === "" ? String(params.missingProperty) : `${path}.${String(params.missingProperty)}`;
      what = "is required";
      break;
    case "type": {
      const t = String(params.type);
      if (isNonEmptyString) what = "must be a non-empty string";
      else if (t === "integer" && parent.maximum === Number.MAX_SAFE_INTEGER) what = describeInteger(parent);
      else what = `must be ${t.split(",").map(article).join(" or ")}`;
      break;
    }
    case "minLength":
      what =
        parent.minLength === 1
          ? "must be a non-empty string"
          : `must be at least ${parent.minLength} characters`;
      break;
    case "maxLength":
      what = `must be at most ${String(params.limit)} characters`;
      break;
    case "minimum":
    case "maximum":
      if (parent.type === "integer" && parent.maximum === Number.MAX_SAFE_INTEGER)
        what = describeInteger(parent);
      else if (parent.type === "integer")
        what = `must be an integer from ${parent.minimum} to ${parent.maximum}`;
      else what = err.message ?? "is out of range";
      break;
    case "minItems":
      what = `must have at least ${String(params.limit)} item${params.limit === 1 ? "" : "s"}`;
      break;
    case "maxItems":
      what = `must have at most ${String(params.limit)} items`;
      break;
    case "const":
      what = `must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case "enum":
      what = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
      break;
    case "pattern": {
      const pattern = String(params.pattern);
      if (pattern.includes("\\p{Cs}")) what = "must be well-formed Unicode with no control characters";
      else if (path.endsWith("answerSha256") || pattern.includes("A-Fa-f"))
        what = "must be 64 hexadecimal characters (a sha256)";
      else what = `must match ${pattern}`;
      break;
    }
    case "additionalProperties":
      path = path === "" ? String(params.additionalProperty) : `${path}.${String(params.additionalProperty)}`;
      what = "is not allowed";
      break;
    default:
      what = err.message ?? `fails ${err.keyword}`;
  }
  return path === "" ? `message ${what}` : `${path}: ${what}`;
}

function describeInteger(schema: Record<string, unknown>): string {
  if (schema.minimum === 0) return "must be an integer ≥ 0 (safe-integer range)";
  if (schema.minimum === 1) return "must be an integer ≥ 1 (safe-integer range)";
  return "must be an integer in the safe-integer range (±9007199254740991)";
}

function invalid(message: string, eventId: string | null, type: string | null): DecodedEvent {
  return { ok: false, code: "invalid_event", message, eventId, type };
}

/**
 * Decodes one input message (UTF-8 JSON CloudEvent) and validates it against its type's schema.
 * Data is normalised: omitted data becomes `{}` for the no-field types, answerSha256 is lowercased and
 * rules.hintPenalty defaults to 0. Never throws.
 */
export function decodeEvent(bytes: Uint8Array): DecodedEvent {
  const oversize = bytes.length > MAX_EVENT_BYTES;
  if (bytes.length > MAX_HUNT_CREATED_BYTES) {
    return invalid(
      `message is ${bytes.length} bytes, the limit is ${MAX_EVENT_BYTES} (${MAX_HUNT_CREATED_BYTES} for HuntCreated)`,
      null,
      null,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    if (oversize)
      return invalid(`message is ${bytes.length} bytes, the limit is ${MAX_EVENT_BYTES}`, null, null);
    const m = (err as Error).message;
    return invalid(
      err instanceof SyntaxError ? `not valid JSON: ${m}` : `not valid UTF-8 text: ${m}`,
      null,
      null,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    if (oversize)
      return invalid(`message is ${bytes.length} bytes, the limit is ${MAX_EVENT_BYTES}`, null, null);
    return invalid(
      `message must be a JSON object, got ${parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed}`,
      null,
      null,
    );
  }
  const raw = parsed as Record<string, unknown>;
  const eventId = typeof raw.id === "string" ? raw.id : null;
  const type = typeof raw.type === "string" ? raw.type : null;
  if (oversize && type !== "HuntCreated") {
    return invalid(`message is ${bytes.length} bytes, the limit is ${MAX_EVENT_BYTES}`, eventId, type);
  }
  if (isPlainPlay(raw)) return { ok: true, event: raw as HuntEvent };
  if (!validateEnvelope(raw)) return invalid(describe("", validateEnvelope.errors![0]!), eventId, type);
  const validateData = hasOwn.call(dataValidators, type!) ? dataValidators[type as HuntEventType] : undefined;
  if (!validateData) {
    return invalid(
      `unknown type ${JSON.stringify(type)}; expected one of ${HUNT_EVENT_TYPES.join(", ")}`,
      eventId,
      type,
    );
  }
  if (raw.data === undefined && noFieldTypes.has(type!)) raw.data = {};
  else if (raw.data === undefined) return invalid("data: is required", eventId, type);
  if (!validateData(raw.data)) return invalid(describe("data", validateData.errors![0]!), eventId, type);
  if (type === "HuntCreated") {
    const problem = normaliseHuntCreated(raw.data as HuntCreatedData);
    if (problem) return invalid(problem, eventId, type);
  }
  if (type === "ScoreAdjusted") {
    const d = raw.data as ScoreAdjustedData;
    if ((d.playerId === undefined) === (d.teamId === undefined)) {
      return invalid("data: must have exactly one of playerId and teamId", eventId, type);
    }
  }
  return { ok: true, event: raw as HuntEvent };
}

/**
 * True when `s` is 1 to 128 printable ASCII characters: then it has as many code points, and none is a
 * control character or a surrogate, so it is a valid id (common.json's PlayerId, TeamId, TreasureId and
 * the envelope's id). Other valid ids (non-ASCII) are left to the schema.
 */
function isPlainId(s: unknown): boolean {
  if (typeof s !== "string" || s.length === 0 || s.length > 128) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/**
 * True when `s` is absent or a string of at most `max` UTF-16 code units: it then has at most `max`
 * code points, which is what the schemas' maxLength counts.
 */
function isShortText(s: unknown, max: number): boolean {
  return s === undefined || (typeof s === "string" && s.length <= max);
}

/**
 * True when `raw` is a play event (TreasureFound, HintTaken, ScoreAdjusted: nearly every event of a
 * hunt) whose fields are all of a form that its schema plainly accepts: ids of printable ASCII, texts
 * within their length in code units, no location, and exactly one of a ScoreAdjusted's playerId and
 * teamId. Such an event is valid without running the schema's validator, which costs about a third of
 * decoding one; anything else (false here) goes through the validators, which also word its error.
 * Never true of an event the schemas refuse (a property test holds it to the schema files).
 */
export function isPlainPlay(raw: Record<string, unknown>): boolean {
  if (
    raw.specversion !== "1.0" ||
    !isPlainId(raw.id) ||
    typeof raw.source !== "string" ||
    raw.source.length === 0 ||
    raw.source.length > 1024 ||
    !isShortText(raw.time, Number.POSITIVE_INFINITY) ||
    !isShortText(raw.datacontenttype, Number.POSITIVE_INFINITY) ||
    !isShortText(raw.subject, Number.POSITIVE_INFINITY) ||
    !isShortText(raw.dataschema, Number.POSITIVE_INFINITY)
  ) {
    return false;
  }
  const d = raw.data as Record<string, unknown> | null | undefined;
  if (d === null || typeof d !== "object" || Array.isArray(d)) return false;
  switch (raw.type) {
    case "TreasureFound":
      return (
        isPlainId(d.playerId) &&
        isPlainId(d.treasureId) &&
        isShortText(d.answer, 1024) &&
        d.location === undefined
      );
    case "HintTaken":
      return isPlainId(d.playerId) && isPlainId(d.treasureId);
    case "ScoreAdjusted":
      return (
        Number.isSafeInteger(d.delta) &&
        typeof d.reason === "string" &&
        d.reason.length <= 1024 &&
        isShortText(d.by, 256) &&
        (d.teamId === undefined ? isPlainId(d.playerId) : d.playerId === undefined && isPlainId(d.teamId))
      );
    default:
      return false;
  }
}

/** Checks what JSON Schema cannot (unique treasure ids) and fills defaults; returns a problem or undefined. */
function normaliseHuntCreated(data: HuntCreatedData): string | undefined {
  const seen = new Set<string>();
  const treasures = data.treasures;
  for (let i = 0; i < treasures.length; i++) {
    const t = treasures[i]!;
    if (seen.has(t.id)) return `data.treasures: duplicate treasure id ${JSON.stringify(t.id)}`;
    seen.add(t.id);
    if (t.answerSha256 !== undefined) t.answerSha256 = t.answerSha256.toLowerCase();
  }
  const rules = data.rules;
  if (rules === undefined) data.rules = { hintPenalty: 0 };
  else if (rules.hintPenalty === undefined) rules.hintPenalty = 0;
  return undefined;
}

/**
 * Decodes a query request for `op` (an empty body means `{}`); fills defaults (top n 10, around 5/5,
 * ledger limit 100).
 */
export function decodeQuery<Op extends QueryOp>(op: Op, bytes: Uint8Array): DecodedQuery<Op>;
export function decodeQuery(op: string, bytes: Uint8Array): DecodedQuery;
export function decodeQuery(op: string, bytes: Uint8Array): DecodedQuery {
  const validate = hasOwn.call(queryValidators, op) ? queryValidators[op as QueryOp] : undefined;
  if (!validate) {
    return {
      ok: false,
      code: "invalid_request",
      message: `unknown query ${JSON.stringify(op)}; expected one of ${QUERY_OPS.join(", ")}`,
    };
  }
  if (bytes.length > MAX_EVENT_BYTES) {
    return {
      ok: false,
      code: "invalid_request",
      message: `request is ${bytes.length} bytes, the limit is ${MAX_EVENT_BYTES}`,
    };
  }
  let parsed: unknown;
  try {
    parsed = bytes.length === 0 ? {} : JSON.parse(utf8.decode(bytes));
  } catch (err) {
    return { ok: false, code: "invalid_request", message: `not valid JSON: ${(err as Error).message}` };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { ok: false, code: "invalid_request", message: "request must be a JSON object" };
  }
  if (!validate(parsed)) {
    const errors = validate.errors!;
    // rank and around name one competitor (a oneOf): a bad id is described, a missing one or two are
    // not ajv's "playerId is required", which would speak of one of the two only.
    const named = errors.some((e) => e.keyword === "oneOf");
    const first = named ? errors.find((e) => e.keyword !== "required" && e.keyword !== "oneOf") : errors[0];
    const message = first ? describe("", first) : "request must have exactly one of playerId and teamId";
    return { ok: false, code: "invalid_request", message };
  }
  if (op === "ledger") {
    const r = parsed as LedgerRequest;
    if ((r.playerId === undefined) === (r.teamId === undefined)) {
      return { ok: false, code: "invalid_request", message: "must have exactly one of playerId and teamId" };
    }
  }
  return { ok: true, request: parsed as QueryRequestMap[QueryOp] };
}
