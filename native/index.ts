// The native/ folder's entry: the RankIndex contract, both implementations and how to pick one.
import { JsRankIndex } from "./js-rank-index.ts";
import { BUILD_HINT, NativeRankIndex, nativeAvailable } from "./native-rank-index.ts";
import type { RankIndex } from "./types.ts";

export { internUtf8With, isPlayerId, MAX_ID_BYTES } from "./argument-checks.ts";
export { JsRankIndex } from "./js-rank-index.ts";
export {
  BUILD_HINT,
  NativeRankIndex,
  NativeUnavailableError,
  nativeAvailable,
  nativeTotals,
} from "./native-rank-index.ts";
export { CorruptRankIndexError } from "./rank-format.ts";
export type { RankBatch, RankChange, RankEntry, RankIndex, RankIndexStats, RecordsArgs } from "./types.ts";
export { OP_REMOVE, OP_UPSERT } from "./types.ts";

/** Which implementation to use: "auto" is native when built, else the pure-TS one (with one warning). */
export type RankIndexKind = "native" | "js" | "auto";

let warned = false;

function useNative(kind: RankIndexKind): boolean {
  if (kind === "native") return true;
  if (kind === "js") return false;
  if (nativeAvailable()) return true;
  if (!warned) {
    warned = true;
    console.warn(`cairn: the native rank index is not built, using the slower pure-TS index; ${BUILD_HINT}`);
  }
  return false;
}

/** A new empty index. "native" throws NativeUnavailableError (with how to build it) when not built. */
export function createRankIndex(kind: RankIndexKind = "auto"): RankIndex {
  return useNative(kind) ? new NativeRankIndex() : new JsRankIndex();
}

/** A new empty index of the same implementation as `index` (a hunt's team board beside its player board). */
export function createRankIndexLike(index: RankIndex): RankIndex {
  return index instanceof NativeRankIndex ? new NativeRankIndex() : new JsRankIndex();
}

/**
 * An index rebuilt from `serialize()` bytes of either implementation. Throws CorruptRankIndexError on
 * bad bytes. Ids are interned in rank order, so slots after the round trip may differ from before.
 */
export function deserializeRankIndex(bytes: Uint8Array, kind: RankIndexKind = "auto"): RankIndex {
  return useNative(kind) ? NativeRankIndex.deserialize(bytes) : JsRankIndex.deserialize(bytes);
}
