// The native rank index: a thin typed wrapper over the C++ addon in build/Release/cairn_rank.node.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { checkNonNegativeInteger, checkPlayerId, isWellFormed } from "./argument-checks.ts";
import { CorruptRankIndexError } from "./rank-format.ts";
import type { RankBatch, RankChange, RankEntry, RankIndex, RankIndexStats, RecordsArgs } from "./types.ts";

/**
 * The addon's functions, as bound in native/src/binding.cc: each takes the handle of the index it
 * works on (`NativeRankIndexCore.handle`) first.
 */
interface NativeFunctions {
  intern(handle: number, playerId: string): number;
  /**
   * out[i] = the slot of the id at bytes[spans[2i], +spans[2i+1]); stops at the first span that is not
   * an id's UTF-8 bytes, with the ones before it interned.
   */
  internUtf8(handle: number, bytes: Uint8Array, spans: Uint32Array, out: Uint32Array): void;
  slotOf(handle: number, playerId: string): number;
  playerIdOf(handle: number, slot: number): string;
  /** Returns the new rank; the previous rank goes to scratch[0]. */
  upsert(handle: number, playerId: string, score: number, tiebreak: number): number;
  remove(handle: number, playerId: string): number;
  rank(handle: number, playerId: string): number;
  score(handle: number, playerId: string): number | undefined;
  size(handle: number): number;
  /**
   * The ids of ranks offset+1 .. offset+n (n <= TOP_CHUNK) concatenated; id i's length in UTF-16
   * units goes to scratch[i] and its score to scores[i].
   */
  top(handle: number, n: number, offset: number): string;
  /**
   * Ranks offset+1 .. offset+n (n <= TOP_CHUNK): slot i (as uint32 bits) goes to scratch[i], its
   * score to scores[i]; returns how many.
   */
  topSlots(handle: number, n: number, offset: number): number;
  applyBatch(handle: number, ...batch: RankBatch): void;
  serialize(handle: number): Uint8Array;
  serializeInto(handle: number, out: Uint8Array, cursor: Uint32Array): number;
  writeRecords(handle: number, ...args: RecordsArgs): void;
  writeTopJson(handle: number, out: Uint8Array, at: number, n: number, key: string): number;
  /** Replaces the contents with CRNK bytes; throws (and changes nothing) on corrupt input. */
  load(handle: number, bytes: Uint8Array): void;
  clear(handle: number): void;
  /** Writes bytes, allocations and leaf blocks to scores[0..2]. */
  stats(handle: number): void;
}

interface Addon extends NativeFunctions {
  /** out[0] = bytes every native index in the process holds, out[1] = the arena allocations they made. */
  totals(out: Float64Array): void;
  /** Owns one index while it lives; `handle` names it in calls. */
  NativeRankIndexCore: new (
    scratch: Int32Array,
    scores: Float64Array,
  ) => { readonly handle: number };
}

/** Where the build puts the addon. */
export const ADDON_PATH = fileURLToPath(new URL("../build/Release/cairn_rank.node", import.meta.url));

/** What to do when the addon is missing. */
export const BUILD_HINT =
  "build it with `npm run build:native` in the cairn folder (it needs python3, make and a C++17 compiler such as g++)";

/** Raised when the native index is asked for but the addon was not built or does not load. */
export class NativeUnavailableError extends Error {
  /** Stable error code. */
  readonly code = "native_unavailable";
  constructor(cause: unknown) {
    super(`the native rank index is not built (${ADDON_PATH}: ${(cause as Error).message}); ${BUILD_HINT}`);
    this.name = "NativeUnavailableError";
  }
}

let addon: Addon | undefined;
/** The addon's functions, once loaded (every index is made after `load()`). */
let N = undefined as unknown as NativeFunctions;
let loadError: unknown;

function load(): Addon {
  if (addon !== undefined) return addon;
  if (loadError === undefined) {
    try {
      addon = createRequire(import.meta.url)(ADDON_PATH) as Addon;
      N = addon;
      return addon;
    } catch (err) {
      loadError = err;
    }
  }
  throw new NativeUnavailableError(loadError);
}

/**
 * What every native index in this process holds (bytes) and the arena allocations they have made,
 * added up as they happen: one call, where asking each of thousands of boards took a few percent of
 * a busy engine's CPU. An index gives its bytes back when cleared or collected; allocations only
 * grow. Zeros when the addon is not built.
 */
export function nativeTotals(): RankIndexStats {
  // An addon that did not load is not tried again at every call.
  if (addon === undefined && (loadError !== undefined || !nativeAvailable()))
    return { bytes: 0, allocations: 0 };
  addon!.totals(SCORES);
  return { bytes: SCORES[0]!, allocations: SCORES[1]! };
}

/** True when the addon is built and loads. */
export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/**
 * The player-id check of the per-call methods. A well-formed string (the usual case) needs nothing
 * more here: the addon checks the length itself. Lone surrogates would be replaced in UTF-8 and
 * merge distinct ids, and the addon cannot see them, so they are checked here.
 */
function checkId(playerId: unknown): asserts playerId is string {
  if (typeof playerId !== "string" || !isWellFormed(playerId)) checkPlayerId(playerId);
}

/** Entries fetched per native `top` call; the scores come back through a Float64Array this long. */
const TOP_CHUNK = 1024;
/**
 * Ranks 1 .. TOP_CACHED read their ids through a cache of the ids last read at each rank, so that
 * reading a top that did not change creates no strings; a player who moved a few ranks is found in
 * the cache near their new rank, or among the entries the same call just replaced (`REPLACED`).
 * Only a player new to the cached ranks, or who moved far, costs a string from the board. The cache
 * holds no more than the ranks read, so a small board read to its top 10 keeps 16 entries.
 */
const TOP_CACHED = 1024;

/**
 * Where every index's core writes the results of a call (ranks, lengths, slots, scores). Calls are
 * synchronous and each is read before the next, so all indexes share one pair: a platform with
 * thousands of small hunts does not pay 12 KB of scratch per board.
 */
const SCRATCH = new Int32Array(TOP_CHUNK);
const SCORES = new Float64Array(TOP_CHUNK);
/**
 * The top cache of every index whose ranks were never read (most boards: tops are written by the
 * board itself): shared, and frozen so that none can add to it.
 */
const NOTHING_CACHED_SLOTS: number[] = Object.freeze([]) as unknown as number[];
const NOTHING_CACHED_IDS: string[] = Object.freeze([]) as unknown as string[];
/** How far past a rank `#range` looks for a player's previous entry in the cache. */
const MOVE_WINDOW = 16;

/**
 * The last MOVE_WINDOW cache entries a `#range` call replaced, in a ring (`n` counts them all, so
 * `n % MOVE_WINDOW` is where the next goes): a player who moved down was replaced at their old rank
 * a few entries earlier in the same call. Shared by every index (calls are synchronous) and emptied
 * at the start of each call.
 */
const REPLACED = { slots: new Int32Array(MOVE_WINDOW), ids: new Array<string>(MOVE_WINDOW).fill(""), n: 0 };

/**
 * The C++ counted B+tree behind the RankIndex interface. Player ids live only in C++ (interned to
 * slots); results other than single numbers come back through two small typed arrays.
 */
export class NativeRankIndex implements RankIndex {
  /** Owns the index (it goes when this is collected); `#h` names it in calls. */
  readonly #core: { readonly handle: number };
  readonly #h: number;
  /**
   * The slot (-1: none yet) and id last read at each rank up to TOP_CACHED: a top that did not change
   * hits here. They grow with the deepest rank read.
   */
  #lastSlots: number[] = NOTHING_CACHED_SLOTS;
  #lastIds: string[] = NOTHING_CACHED_IDS;

  constructor() {
    this.#core = new (load().NativeRankIndexCore)(SCRATCH, SCORES);
    this.#h = this.#core.handle;
  }

  /**
   * Builds an index from `serialize()` bytes (from either implementation). Ids are interned in rank
   * order, so a player's slot after the round trip need not be the slot it had before.
   */
  static deserialize(bytes: Uint8Array): NativeRankIndex {
    const index = new NativeRankIndex();
    try {
      N.load(index.#h, bytes);
    } catch (err) {
      const message = (err as Error).message;
      if (message.startsWith("corrupt rank index: ")) {
        throw new CorruptRankIndexError(message.slice("corrupt rank index: ".length));
      }
      throw err;
    }
    return index;
  }

  get size(): number {
    return N.size(this.#h);
  }

  intern(playerId: string): number {
    checkId(playerId);
    return N.intern(this.#h, playerId);
  }

  internUtf8(bytes: Uint8Array, spans: Uint32Array): Uint32Array {
    const slots = new Uint32Array(spans.length >> 1);
    N.internUtf8(this.#h, bytes, spans, slots);
    return slots;
  }

  slotOf(playerId: string): number {
    checkId(playerId);
    return N.slotOf(this.#h, playerId);
  }

  playerIdOf(slot: number): string {
    return N.playerIdOf(this.#h, slot);
  }

  upsert(playerId: string, score: number, tiebreak: number): RankChange {
    checkId(playerId);
    const rank = N.upsert(this.#h, playerId, score, tiebreak);
    return { rank, previousRank: SCRATCH[0]! };
  }

  remove(playerId: string): number {
    checkId(playerId);
    return N.remove(this.#h, playerId);
  }

  rank(playerId: string): number {
    checkId(playerId);
    return N.rank(this.#h, playerId);
  }

  score(playerId: string): number | undefined {
    checkId(playerId);
    return N.score(this.#h, playerId);
  }

  top(n: number, offset = 0): RankEntry[] {
    checkNonNegativeInteger(n, "n");
    checkNonNegativeInteger(offset, "offset");
    return this.#range(offset, n);
  }

  around(playerId: string, before: number, after: number): RankEntry[] {
    checkPlayerId(playerId);
    checkNonNegativeInteger(before, "before");
    checkNonNegativeInteger(after, "after");
    const r = N.rank(this.#h, playerId);
    if (r === 0) return [];
    const first = Math.max(1, r - before);
    const last = Math.min(N.size(this.#h), r + after);
    return this.#range(first - 1, last - first + 1);
  }

  serialize(): Uint8Array {
    return N.serialize(this.#h);
  }

  serializeInto(out: Uint8Array, cursor: Uint32Array): number {
    return N.serializeInto(this.#h, out, cursor);
  }

  writeRecords(...args: RecordsArgs): void {
    N.writeRecords(this.#h, ...args);
  }

  writeTopJson(out: Uint8Array, at: number, n: number, key: string): number {
    return N.writeTopJson(this.#h, out, at, n, key);
  }

  clear(): void {
    N.clear(this.#h);
    this.#lastSlots = NOTHING_CACHED_SLOTS;
    this.#lastIds = NOTHING_CACHED_IDS;
  }

  stats(): RankIndexStats {
    N.stats(this.#h);
    return { bytes: SCORES[0]!, allocations: SCORES[1]! };
  }

  applyBatch(...batch: RankBatch): void {
    N.applyBatch(this.#h, ...batch);
  }

  /** Makes the top cache cover ranks 1 .. n (n <= TOP_CACHED), growing it geometrically. */
  #growTopCache(n: number): void {
    const size = Math.min(TOP_CACHED, Math.max(n, this.#lastSlots.length * 2, 16));
    if (this.#lastSlots === NOTHING_CACHED_SLOTS) {
      this.#lastSlots = [];
      this.#lastIds = [];
    }
    while (this.#lastSlots.length < size) {
      this.#lastSlots.push(-1);
      this.#lastIds.push("");
    }
  }

  /**
   * The id of the player in `slot` (as the scratch holds it), now at cache position `at` where
   * another was: from the cache a few ranks below (they moved up), from the entries this call
   * replaced (they moved down), or from the board.
   */
  #idMovedTo(slot: number, at: number): string {
    const slots = this.#lastSlots;
    const end = Math.min(slots.length, at + 1 + MOVE_WINDOW);
    for (let k = at + 1; k < end; k++) {
      if (slots[k] === slot) return this.#lastIds[k]!;
    }
    for (let k = 0; k < REPLACED.n && k < MOVE_WINDOW; k++) {
      if (REPLACED.slots[k] === slot) return REPLACED.ids[k]!;
    }
    return N.playerIdOf(this.#h, slot >>> 0);
  }

  #range(from: number, n: number): RankEntry[] {
    const out: RankEntry[] = [];
    REPLACED.n = 0;
    const end = Math.min(N.size(this.#h), from + n);
    for (let at = from, count = 0; at < end; at += count) {
      count = Math.min(at < TOP_CACHED ? TOP_CACHED - at : TOP_CHUNK, end - at);
      if (at < TOP_CACHED) {
        if (this.#lastSlots.length < at + count) this.#growTopCache(at + count);
        N.topSlots(this.#h, count, at);
        for (let i = 0; i < count; i++) {
          const bits = SCRATCH[i]!;
          let playerId: string;
          const was = this.#lastSlots[at + i]!;
          if (was === bits) {
            playerId = this.#lastIds[at + i]!;
          } else {
            playerId = this.#idMovedTo(bits, at + i);
            if (was !== -1) {
              const r = REPLACED.n++ % MOVE_WINDOW;
              REPLACED.slots[r] = was;
              REPLACED.ids[r] = this.#lastIds[at + i]!;
            }
            this.#lastSlots[at + i] = bits;
            this.#lastIds[at + i] = playerId;
          }
          out.push({ rank: at + i + 1, playerId, score: SCORES[i]! });
        }
        continue;
      }
      const ids = N.top(this.#h, count, at);
      let pos = 0;
      for (let i = 0; i < count; i++) {
        const len = SCRATCH[i]!;
        out.push({ rank: at + i + 1, playerId: ids.substring(pos, pos + len), score: SCORES[i]! });
        pos += len;
      }
    }
    return out;
  }
}
