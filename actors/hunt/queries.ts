// Answers the contract's queries (top, rank, around, state) from a hunt's fold. Pure: requests come
// already decoded and checked against the schemas (`decodeQuery`), so every limit lives there.
import type { RankEntry } from "../../native/index.ts";
import type { ErrorReply, QueryOp, QueryRequestMap } from "../../schemas/index.ts";
import { type CheckpointSigner, checkpointMessage } from "./checkpoint.ts";
import { stateHash } from "./codec.ts";
import type { HuntFold } from "./fold.ts";

/** A reply to a query, ready for JSON. */
export type QueryReply = Record<string, unknown> | ErrorReply;

/** The error reply of the contract: `{"error": {"code", "message"}}`. */
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

/**
 * The `state` reply: what the hunt is, the hash of its whole state, and its last checkpoint (signed
 * as it was published when the engine has a signing key).
 */
export function stateReply(fold: HuntFold, signer?: CheckpointSigner): QueryReply {
  const checkpoint = fold.checkpoint ? checkpointMessage(fold.checkpoint, signer) : null;
  return { seq: fold.seq, status: fold.status, players: fold.joined, stateHash: stateHash(fold), checkpoint };
}

/**
 * The `state` reply of `hunt.<id>.public.state`, for viewers: what the hunt is, without its hash. The
 * public standings are the live ones: this engine has no standings freeze yet.
 */
export function publicStateReply(fold: HuntFold): QueryReply {
  return { seq: fold.seq, status: fold.status, players: fold.joined };
}

/** Answers one decoded query for a hunt. */
export function answer<Op extends QueryOp>(fold: HuntFold, op: Op, request: QueryRequestMap[Op]): QueryReply;
export function answer(fold: HuntFold, op: QueryOp, request: QueryRequestMap[QueryOp]): QueryReply {
  const seq = fold.seq;
  switch (op) {
    case "top": {
      const { n, after } = request as QueryRequestMap["top"];
      let offset = 0;
      if (after !== undefined) {
        const decoded = decodeCursor(fold, after);
        if (decoded === undefined)
          return queryError("invalid_request", "after: is not a cursor from a top reply");
        offset = decoded;
      }
      const entries = fold.index.top(n, offset);
      const last = entries[entries.length - 1];
      const reply: Record<string, unknown> = { seq, entries };
      if (last !== undefined && last.rank < fold.index.size) reply.next = encodeCursor(last);
      return reply;
    }
    case "rank": {
      const { playerId } = request as QueryRequestMap["rank"];
      const pid = fold.pids.get(playerId);
      return { seq, rank: fold.index.rank(playerId), score: pid === undefined ? 0 : fold.playerScore[pid]! };
    }
    case "around": {
      const { playerId, before, after } = request as QueryRequestMap["around"];
      return { seq, entries: fold.index.around(playerId, before, after) };
    }
    case "state":
      return stateReply(fold);
  }
}
