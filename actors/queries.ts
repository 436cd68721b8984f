// Answers the request/reply queries of DESIGN.md (top, rank, around, state) from a hunt's fold.
// Pure: the host decodes the request, calls `answer`, and sends the reply.
import type { RankEntry } from "../native/index.ts";
import type { ErrorReply, QueryOp } from "../schemas/index.ts";
import { stateHash } from "./hunt-codec.ts";
import type { HuntFold } from "./hunt-fold.ts";

export { QUERY_OPS, type QueryOp } from "../schemas/index.ts";

/** The most entries one `top` reply carries; `next` pages through the rest. */
export const MAX_TOP = 1000;
/** The most entries `around` gives on each side. */
export const MAX_AROUND = 500;

/** A reply to a query, ready for JSON. */
export type QueryReply = Record<string, unknown> | ErrorReply;

export function queryError(code: string, message: string): ErrorReply {
  return { error: { code, message } };
}

/**
 * A `top` cursor names the last entry of the page (player and rank). The next page starts after that
 * player's current rank if it is still ranked, otherwise after the rank it had.
 */
function encodeCursor(entry: RankEntry): string {
  return Buffer.from(JSON.stringify([entry.playerId, entry.rank]), "utf8").toString("base64url");
}

function decodeCursor(fold: HuntFold, cursor: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [playerId, rank] = parsed as [unknown, unknown];
    if (typeof playerId !== "string" || !Number.isSafeInteger(rank) || (rank as number) < 0) return undefined;
    const now = fold.index.rank(playerId);
    return now > 0 ? now : (rank as number);
  } catch {
    return undefined;
  }
}

function intField(value: unknown, fallback: number, name: string, max: number): number | ErrorReply {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    return queryError("invalid_request", `${name} must be a whole number ≥ 0`);
  }
  return Math.min(value, max);
}

function isError(v: unknown): v is ErrorReply {
  return typeof v === "object" && v !== null && "error" in v;
}

/** Answers one query for a hunt. `request` is the parsed JSON body (an object). */
export function answer(fold: HuntFold, op: QueryOp, request: Record<string, unknown>): QueryReply {
  const seq = fold.seq;
  switch (op) {
    case "top": {
      const n = intField(request.n, 10, "n", MAX_TOP);
      if (isError(n)) return n;
      let offset = 0;
      if (request.after !== undefined) {
        const decoded = typeof request.after === "string" ? decodeCursor(fold, request.after) : undefined;
        if (decoded === undefined)
          return queryError("invalid_request", "after is not a cursor from a top reply");
        offset = decoded;
      }
      const entries = fold.index.top(n, offset);
      const last = entries[entries.length - 1];
      const reply: Record<string, unknown> = { seq, entries };
      if (last !== undefined && last.rank < fold.index.size) reply.next = encodeCursor(last);
      return reply;
    }
    case "rank": {
      if (typeof request.playerId !== "string") {
        return queryError("invalid_request", "playerId must be a string");
      }
      const rank = fold.index.rank(request.playerId);
      const pid = fold.pids.get(request.playerId);
      const score = pid === undefined ? 0 : fold.playerScore[pid]!;
      return { seq, rank, score };
    }
    case "around": {
      if (typeof request.playerId !== "string") {
        return queryError("invalid_request", "playerId must be a string");
      }
      const before = intField(request.before, 5, "before", MAX_AROUND);
      if (isError(before)) return before;
      const after = intField(request.after, 5, "after", MAX_AROUND);
      if (isError(after)) return after;
      return { seq, entries: fold.index.around(request.playerId, before, after) };
    }
    case "state":
      return { seq, status: fold.status, players: fold.joined, stateHash: stateHash(fold) };
  }
}
