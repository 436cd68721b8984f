// The benchmarks' Redis peer: ranking in a Redis sorted set, as the team behind the original design
// tried. Each batch becomes one pipeline of ZREVRANK + ZADD/ZREM + ZREVRANK per op. Updates only:
// queries, snapshots and stateHash need the in-process index and are refused in this mode.
import type { Redis } from "ioredis";
import type { AsyncBatchIndex } from "../actors/hunt-fold.ts";
import type { RankChange, RankEntry, RankIndex, RankIndexStats } from "../native/index.ts";
import { OP_UPSERT } from "../native/index.ts";

/**
 * Redis orders a sorted set by one double, then by member bytes. The contract's order (score
 * descending, then the earlier change first) is folded into one double: score · 10^7 minus the
 * change's seq modulo 10^7. Exact while |score| < 9·10^8 and within 10^7 events of a tie: enough for
 * the benchmarks, not for production, which is one more reason this is only a peer to measure.
 */
const SEQ_SPAN = 10_000_000;

function unsupported(what: string): never {
  throw new Error(`${what} is not available with --index redis (a benchmark peer that only ranks updates)`);
}

/** A hunt's ranking in one Redis sorted set. */
export class RedisRankIndex implements RankIndex, AsyncBatchIndex {
  private readonly ids: string[] = [];
  private readonly slots = new Map<string, number>();
  private present = new Uint8Array(1024);
  private count = 0;

  constructor(
    private readonly redis: Redis,
    /** The sorted set's key. */
    readonly key: string,
  ) {}

  get size(): number {
    return this.count;
  }

  intern(playerId: string): number {
    let slot = this.slots.get(playerId);
    if (slot === undefined) {
      slot = this.ids.length;
      this.ids.push(playerId);
      this.slots.set(playerId, slot);
      if (slot >= this.present.length) {
        const grown = new Uint8Array(this.present.length * 2);
        grown.set(this.present);
        this.present = grown;
      }
    }
    return slot;
  }

  slotOf(playerId: string): number {
    return this.slots.get(playerId) ?? -1;
  }

  playerIdOf(slot: number): string {
    const id = this.ids[slot];
    if (id === undefined) throw new RangeError(`slot ${slot} was never interned`);
    return id;
  }

  async applyBatchAsync(
    ops: Uint8Array,
    slots: Uint32Array,
    scores: Float64Array,
    tiebreaks: Float64Array,
    count: number,
    out: Int32Array,
  ): Promise<void> {
    const pipe = this.redis.pipeline();
    for (let i = 0; i < count; i++) {
      const member = this.ids[slots[i]!]!;
      pipe.zrevrank(this.key, member);
      if (ops[i] === OP_UPSERT) {
        pipe.zadd(this.key, scores[i]! * SEQ_SPAN - (tiebreaks[i]! % SEQ_SPAN), member);
        pipe.zrevrank(this.key, member);
      } else {
        pipe.zrem(this.key, member);
      }
    }
    const results = (await pipe.exec()) ?? [];
    let r = 0;
    for (let i = 0; i < count; i++) {
      const slot = slots[i]!;
      const before = results[r++]?.[1] as number | null;
      out[2 * i + 1] = before === null ? 0 : before + 1;
      if (ops[i] === OP_UPSERT) {
        r++;
        const after = results[r++]?.[1] as number | null;
        out[2 * i] = after === null ? 0 : after + 1;
        if (!this.present[slot]) this.count++;
        this.present[slot] = 1;
      } else {
        r++;
        out[2 * i] = 0;
        if (this.present[slot]) this.count--;
        this.present[slot] = 0;
      }
    }
  }

  applyBatch(): void {
    unsupported("a synchronous batch");
  }
  upsert(): RankChange {
    return unsupported("upsert");
  }
  remove(): number {
    return unsupported("remove");
  }
  rank(): number {
    return unsupported("rank");
  }
  score(): number | undefined {
    return unsupported("score");
  }
  top(): RankEntry[] {
    return unsupported("top");
  }
  around(): RankEntry[] {
    return unsupported("around");
  }
  serialize(): Uint8Array {
    return unsupported("serialize");
  }
  stats(): RankIndexStats {
    return { bytes: 0, allocations: 0 };
  }
}
