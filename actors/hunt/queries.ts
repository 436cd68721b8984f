// Answers the contract's queries (top, rank, around, state) from a hunt's fold. Pure: requests come
// already decoded and checked against the schemas (`decodeQuery`), so every limit lives there.
import type { RankEntry, RankIndex } from "../../native/index.ts";
import type { ErrorReply, QueryOp, QueryRequestMap } from "../../schemas/index.ts";
import { type CheckpointSigner, checkpointMessage } from "./checkpoint.ts";
import { stateHash } from "./codec.ts";
import type { HuntFold } from "./fold.ts";

/**
 * Which standings a query reads: `live` (`hunt.<id>.query.<op>`) or `public` (`hunt.<id>.public.<op>`),
 * which are the standings at the freeze while they are frozen, and the live ones otherwise.
 */
export type Standings = "live" | "public";

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

/**
 * The `state` reply: what the hunt is, whether its standings are frozen, the hash of its whole state,
 * and its last checkpoint (signed as it was published when the engine has a signing key).
 */
export function stateReply(fold: HuntFold, signer?: CheckpointSigner): QueryReply {
  const checkpoint = fold.checkpoint ? checkpointMessage(fold.checkpoint, signer) : null;
  return {
    seq: fold.seq,
    status: fold.status,
    players: fold.joined,
    teams: fold.teamIds.length,
    stateHash: stateHash(fold),
    frozenAt: fold.frozen?.seq ?? null,
    runningMs: fold.runningMs,
    checkpoint,
  };
}

/**
 * The `state` reply of `hunt.<id>.public.state`, for viewers: what the hunt is, without its hash, with
 * the number of players of the public standings.
 */
export function publicStateReply(fold: HuntFold): QueryReply {
  return {
    seq: fold.seq,
    status: fold.status,
    players: fold.publicBoard.size,
    teams: fold.publicTeamBoard?.size ?? 0,
    frozenAt: fold.frozen?.seq ?? null,
    runningMs: fold.runningMs,
  };
}

/** The team board's entries name teams: `teamId` where the index says `playerId`. */
function teamEntries(entries: RankEntry[]): { rank: number; teamId: string; score: number }[] {
  return entries.map((e) => ({ rank: e.rank, teamId: e.playerId, score: e.score }));
}

/** The queries answered from the live fold at once (`ledger` reads the log: see ledger.ts). */
export type LiveQueryOp = Exclude<QueryOp, "ledger">;

/**
 * A competitor's score in the frozen standings: on the frozen board, or as it was when they left it
 * (0 if unknown then). Teams never leave their board, so this is a player's question.
 */
function frozenScore(fold: HuntFold, board: RankIndex, playerId: string, knownPlayers: number): number {
  const score = board.score(playerId);
  if (score !== undefined) return score;
  const pid = fold.pidOf(playerId);
  return pid === undefined || pid >= knownPlayers ? 0 : fold.playerScore(pid);
}

/** Answers one decoded query for a hunt, from the live standings or the public ones. */
export function answer<Op extends LiveQueryOp>(
  fold: HuntFold,
  op: Op,
  request: QueryRequestMap[Op],
  standings?: Standings,
): QueryReply;
export function answer(
  fold: HuntFold,
  op: LiveQueryOp,
  request: QueryRequestMap[LiveQueryOp],
  standings: Standings = "live",
): QueryReply {
  const seq = fold.seq;
  const frozen = standings === "public" ? fold.frozen : null;
  const players = frozen === null ? fold.index : frozen.players;
  // A solo hunt has no team board.
  const teamBoard = standings === "public" ? fold.publicTeamBoard : fold.teamIndex;
  switch (op) {
    case "top": {
      const { n, after, board: boardName } = request as QueryRequestMap["top"];
      const teams = boardName === "teams";
      const board = teams ? teamBoard : players;
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
        if (teamBoard === null) return { seq, rank: 0, score: 0 };
        const rank = teamBoard.rank(r.teamId);
        const score = teamBoard.score(r.teamId) ?? 0;
        return { seq, rank, score };
      }
      if (frozen !== null) {
        const score = frozenScore(fold, players, r.playerId, frozen.knownPlayers);
        return { seq, rank: players.rank(r.playerId), score };
      }
      const pid = fold.pidOf(r.playerId);
      return {
        seq,
        rank: fold.index.rank(r.playerId),
        score: pid === undefined ? 0 : fold.playerScore(pid),
      };
    }
    case "around": {
      const r = request as QueryRequestMap["around"];
      if ("teamId" in r)
        return { seq, entries: teamEntries(teamBoard?.around(r.teamId, r.before, r.after) ?? []) };
      return { seq, entries: players.around(r.playerId, r.before, r.after) };
    }
    case "state":
      return standings === "public" ? publicStateReply(fold) : stateReply(fold);
  }
}
