// Answers the contract's queries (top, rank, around, state) from a hunt's fold. Pure: requests come
// already decoded and checked against the schemas (`decodeQuery`), so every limit lives there.
import type { RankEntry, RankIndex } from "../../native/index.ts";
import type { ErrorReply, QueryOp, QueryRequestMap } from "../../schemas/index.ts";
import { stateHash } from "./codec.ts";
import type { HuntFold } from "./fold.ts";

/** A reply to a query, ready for JSON. */
export type QueryReply = Record<string, unknown> | ErrorReply;

/** The error reply of the contract: `{"error": {"code", "message"}}`. */
export function queryError(code: string, message: string): ErrorReply {
  return { error: { code, message } };
}

/**
 * A `top` cursor names the last entry of the page (competitor and rank). The next page starts after
 * that competitor's current rank on the board asked for if it is still ranked, otherwise after the
 * rank it had.
 */
function encodeCursor(entry: RankEntry): string {
  return Buffer.from(JSON.stringify([entry.playerId, entry.rank]), "utf8").toString("base64url");
}

function decodeCursor(board: RankIndex, cursor: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [playerId, rank] = parsed as [unknown, unknown];
    if (typeof playerId !== "string" || !Number.isSafeInteger(rank) || (rank as number) < 0) return undefined;
    const now = board.rank(playerId);
    return now > 0 ? now : (rank as number);
  } catch {
    return undefined;
  }
}

/** The `state` reply: what the hunt is, and the hash of its whole state. */
export function stateReply(fold: HuntFold): QueryReply {
  return { ...publicStateReply(fold), stateHash: stateHash(fold) };
}

/**
 * The `state` reply of `hunt.<id>.public.state`, for viewers: what the hunt is, without its hash. The
 * public standings are the live ones: this engine has no standings freeze yet.
 */
export function publicStateReply(fold: HuntFold): QueryReply {
  return { seq: fold.seq, status: fold.status, players: fold.joined, teams: fold.teamIds.length };
}

/** The team board's entries name teams: `teamId` where the index says `playerId`. */
function teamEntries(entries: RankEntry[]): { rank: number; teamId: string; score: number }[] {
  return entries.map((e) => ({ rank: e.rank, teamId: e.playerId, score: e.score }));
}

/** Answers one decoded query for a hunt. */
export function answer<Op extends QueryOp>(fold: HuntFold, op: Op, request: QueryRequestMap[Op]): QueryReply;
export function answer(fold: HuntFold, op: QueryOp, request: QueryRequestMap[QueryOp]): QueryReply {
  const seq = fold.seq;
  switch (op) {
    case "top": {
      const { n, after, board: boardName } = request as QueryRequestMap["top"];
      const teams = boardName === "teams";
      // A solo hunt's team board is empty.
      const board = teams ? fold.teamIndex : fold.index;
      if (board === null) return { seq, entries: [] };
      let offset = 0;
      if (after !== undefined) {
        const decoded = decodeCursor(board, after);
        if (decoded === undefined)
          return queryError("invalid_request", "after: is not a cursor from a top reply");
        offset = decoded;
      }
      const entries = board.top(n, offset);
      const last = entries[entries.length - 1];
      const reply: Record<string, unknown> = { seq, entries: teams ? teamEntries(entries) : entries };
      if (last !== undefined && last.rank < board.size) reply.next = encodeCursor(last);
      return reply;
    }
    case "rank": {
      const r = request as QueryRequestMap["rank"];
      if ("teamId" in r) {
        const tid = fold.teamNumbers.get(r.teamId);
        if (tid === undefined) return { seq, rank: 0, score: 0 };
        return { seq, rank: fold.teamIndex!.rank(r.teamId), score: fold.teamScore[tid]! };
      }
      const pid = fold.pids.get(r.playerId);
      return {
        seq,
        rank: fold.index.rank(r.playerId),
        score: pid === undefined ? 0 : fold.playerScore[pid]!,
      };
    }
    case "around": {
      const r = request as QueryRequestMap["around"];
      if ("teamId" in r) {
        const entries = fold.teamIndex?.around(r.teamId, r.before, r.after) ?? [];
        return { seq, entries: teamEntries(entries) };
      }
      return { seq, entries: fold.index.around(r.playerId, r.before, r.after) };
    }
    case "state":
      return stateReply(fold);
  }
}
