// The RankIndex contract shared by the native (C++) index and the pure-TS reference index.

/** One row of a leaderboard. */
export interface RankEntry {
  /** 1-based rank. */
  rank: number;
  /** The player's id as given to `upsert`. */
  playerId: string;
  /** The player's current score. */
  score: number;
}

/** What an upsert did to one player's rank. */
export interface RankChange {
  /** 1-based rank after the update. */
  rank: number;
  /** 1-based rank before the update, 0 if the player was not ranked. */
  previousRank: number;
}

/** Memory accounting of an index. */
export interface RankIndexStats {
  /** Every byte the index holds: tree nodes, id map, interned id strings, free lists. */
  bytes: number;
  /** Allocations made since the index was created (constant in steady state). */
  allocations: number;
}

/** Batch op codes for `applyBatch`. */
export const OP_UPSERT = 0;
export const OP_REMOVE = 1;

/** The arguments of `RankIndex.applyBatch`, typed arrays so a batch crosses into the addon once. */
export type RankBatch = [
  ops: Uint8Array,
  slots: Uint32Array,
  scores: Float64Array,
  tiebreaks: Float64Array,
  count: number,
  out: Int32Array,
];

/**
 * The arguments of `RankIndex.writeRecords`: from player cursor[0] on, the records of slots[i] with
 * states[i], scores[i] and tiebreaks[i], into out from byte cursor[1] on.
 */
export type RecordsArgs = [
  out: Uint8Array,
  cursor: Uint32Array,
  slots: Uint32Array,
  states: Uint8Array,
  scores: Float64Array,
  tiebreaks: Float64Array,
  count: number,
];

/**
 * An order-statistic index of players. Order: score descending, then tiebreak ascending, then
 * player id ascending by Unicode code point (the same as UTF-8 byte order). Ranks are 1..size.
 */
export interface RankIndex {
  /** Inserts or moves a player. Scores and tiebreaks are safe integers. */
  upsert(playerId: string, score: number, tiebreak: number): RankChange;
  /** Removes a player; returns the previous rank, 0 if absent. */
  remove(playerId: string): number;
  /** 1-based rank, 0 if absent. */
  rank(playerId: string): number;
  /** Current score, undefined if absent. */
  score(playerId: string): number | undefined;
  /** Up to `n` entries starting at rank `offset + 1`. */
  top(n: number, offset?: number): RankEntry[];
  /** The player's entry with up to `before` entries above it and `after` below; [] if absent. */
  around(playerId: string, before: number, after: number): RankEntry[];
  /** Number of ranked players. */
  readonly size: number;
  /** Deterministic bytes: the same contents always give the same bytes, identical across implementations. */
  serialize(): Uint8Array;
  /**
   * `serialize()`'s bytes in parts, into buffers the caller keeps: a checkpoint streams them into its
   * hash, where a board-sized buffer each time would wait for the collector. From where `cursor` says
   * (4 zeros to start: [0] bytes written so far, [1] the byte offset in out, [2] and [3] the index's
   * own), the next bytes that fit (the header, whole entries, the CRC) go into `out` from cursor[1]
   * on, and cursor moves past them. Returns the length of the whole, which cursor[0] reaches once
   * it is all written. The index must not change in between.
   */
  serializeInto(out: Uint8Array, cursor: Uint32Array): number;
  /**
   * A hunt's player records, for its canonical bytes: for i from cursor[0] up to count, the id of
   * slots[i] as a u32 byte length and its UTF-8 bytes, then states[i] (u8), scores[i] and
   * tiebreaks[i] (f64), all little-endian, written into out from byte cursor[1] on, whole records
   * while they fit; cursor[0] and cursor[1] move past them. Written from the ids the index holds,
   * into the caller's buffer: no string per player and no allocation at every checkpoint.
   */
  writeRecords(...args: RecordsArgs): void;
  /**
   * The first `n` ranks as a JSON array of `{"rank", <key>, "score"}` objects, byte for byte as
   * `JSON.stringify` writes the entries of `top(n)` with each id under `key` (1 to 32 letters, digits
   * or underscores, starting with a letter or _), encoded into `out` from byte `at`. Returns where
   * it ends, or -1 when it does not fit (then `out` past `at` may be overwritten: grow it and call
   * again). A top-N message from the
   * ids the index holds: no string nor object per entry.
   */
  writeTopJson(out: Uint8Array, at: number, n: number, key: string): number;
  /** Memory accounting. */
  stats(): RankIndexStats;
  /**
   * Removes every player, interned ids included (slots start again at 0), and gives back the memory
   * they held: what a hunt's boards do when the hunt leaves memory, rather than wait for a collection.
   */
  clear(): void;
  /** Interns a player id and returns its dense slot (0, 1, 2, ...); the same id always gets the same slot. */
  intern(playerId: string): number;
  /**
   * `intern` for many ids in one call, from their UTF-8 bytes (a restored hunt's players, read from its
   * snapshot): id i is bytes[spans[2i], spans[2i] + spans[2i+1]). Their slots, in order. Throws a
   * RangeError at the first span that is not a valid id, with the ids before it interned.
   */
  internUtf8(bytes: Uint8Array, spans: Uint32Array): Uint32Array;
  /** The slot of an id interned before, or -1. */
  slotOf(playerId: string): number;
  /** The id behind a slot. */
  playerIdOf(slot: number): string;
  /**
   * Applies `count` ops in order with one boundary crossing. Op i is `ops[i]`: OP_UPSERT moves slot
   * `slots[i]` to (`scores[i]`, `tiebreaks[i]`); OP_REMOVE removes it. Writes `out[2i]` = rank after
   * (0 after a remove) and `out[2i+1]` = previous rank (0 if it was not ranked).
   */
  applyBatch(...batch: RankBatch): void;
}
