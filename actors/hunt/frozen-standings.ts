// The public standings of a frozen hunt: between StandingsFrozen and StandingsRevealed, viewers see the
// boards as they were at the freeze while the fold goes on scoring the live ones (schemas/CONTRACT.md,
// "Standings freeze"). Each board is copied once, at the freeze; nothing updates the copy afterwards,
// so the hot path pays nothing for it.
import { deserializeRankIndex, JsRankIndex, type RankIndex } from "../../native/index.ts";

/**
 * A copy of a board that nothing updates: the same RankIndex, so that public `top` (with its cursors),
 * `rank` and `around` read it exactly as the live queries read the live board. The copy goes through
 * the index's own deterministic bytes, into an index of the same kind.
 */
export function freezeBoard(board: RankIndex): RankIndex {
  return restoreFrozenBoard(board.serialize(), board);
}

/** A frozen board from its bytes (a snapshot's), of the same kind as `like`. */
export function restoreFrozenBoard(bytes: Uint8Array, like: RankIndex): RankIndex {
  return deserializeRankIndex(bytes, like instanceof JsRankIndex ? "js" : "native");
}

/** What a freeze keeps: its seq, and every board as it was then. */
export class FrozenStandings {
  constructor(
    /** The seq of the StandingsFrozen. */
    readonly seq: number,
    /** Every board at the freeze, in a fixed order: the player board first. */
    readonly boards: readonly RankIndex[],
    /**
     * How many players had ever joined at the freeze (pids below it existed then). A player who was
     * off the board at the freeze cannot score any more, so their score then is their score now.
     */
    readonly knownPlayers: number,
  ) {}

  /** Freezes the given live boards (player board first). */
  static of(seq: number, boards: readonly RankIndex[], knownPlayers: number): FrozenStandings {
    return new FrozenStandings(seq, boards.map(freezeBoard), knownPlayers);
  }

  /** The player board at the freeze. */
  get players(): RankIndex {
    return this.boards[0]!;
  }
}
