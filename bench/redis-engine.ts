// The Redis peer of `cairn bench e2e`: the engine's fold and checks, with the ranking kept in one Redis
// sorted set per hunt, as the team behind the original design tried. Each batch becomes one pipeline
// of ZREVRANK + ZADD/ZREM + ZREVRANK per rank change, and the rank messages are published with the
// ranks Redis answered. It is a benchmark process only: it answers no queries beyond `{seq}`, takes
// no snapshots, and is the one user of ioredis, a development dependency.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { type FoldInput, HuntFold, type OutputSink } from "../actors/index.ts";
import type { EngineProcess } from "../bin/engine-process.ts";
import type { RankBatch, RankChange, RankEntry, RankIndex, RankIndexStats } from "../native/index.ts";
import { internUtf8With, OP_UPSERT } from "../native/index.ts";
import type { RejectionCode } from "../schemas/index.ts";
import type { LogMessage, OutputPublisher } from "../streams/index.ts";
import { runAsMain, runPeerEngine, startPeerEngine } from "./peer-engine.ts";

const SELF = fileURLToPath(import.meta.url);

/** Starts the Redis peer as a child process against the Redis at `redisUrl`; resolves once it consumes. */
export function startRedisEngine(
  url: string,
  redisUrl: string,
  options: { batch?: number; execArgv?: string[] } = {},
): Promise<EngineProcess> {
  return startPeerEngine(
    SELF,
    "the Redis peer engine",
    url,
    ["--redis", redisUrl, "--batch", String(options.batch ?? 1000)],
    options.execArgv,
  );
}

/**
 * Redis orders a sorted set by one double, then by member bytes. The contract's order (score
 * descending, then the earlier change first) is folded into one double: score · 10^7 minus the
 * change's seq counted from the first seq this process saw of the hunt. Exact while |score| < 9·10^8
 * and for 10^7 events of a hunt per run (more stops the peer): enough for the benchmark, not for
 * production, which is one more reason this is only a peer to measure.
 */
const SEQ_SPAN = 10_000_000;

function unsupported(what: string): never {
  throw new Error(`${what} is not available in the Redis peer (its ranking lives in Redis)`);
}

/**
 * The fold's index in this peer: it interns ids and counts the ranked, and leaves ranking to Redis.
 * Its batch call marks each op's rank 1 for an upsert and 0 for a remove, so that the sink can tell
 * them apart; the real ranks come from Redis.
 */
class RanklessIndex implements RankIndex {
  private readonly ids: string[] = [];
  private readonly slots = new Map<string, number>();
  private present = new Uint8Array(1024);
  size = 0;

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
  internUtf8(bytes: Uint8Array, spans: Uint32Array): Uint32Array {
    return internUtf8With((id) => this.intern(id), bytes, spans);
  }
  slotOf(playerId: string): number {
    return this.slots.get(playerId) ?? -1;
  }
  playerIdOf(slot: number): string {
    return this.ids[slot] ?? unsupported(`slot ${slot}`);
  }
  applyBatch(...batch: RankBatch): void {
    const [ops, slots, , , count, out] = batch;
    for (let i = 0; i < count; i++) {
      const slot = slots[i]!;
      const upsert = ops[i] === OP_UPSERT;
      if (upsert !== (this.present[slot] === 1)) this.size += upsert ? 1 : -1;
      this.present[slot] = upsert ? 1 : 0;
      out[2 * i] = upsert ? 1 : 0;
      out[2 * i + 1] = 0;
    }
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
  serializeInto(): number {
    return unsupported("serializeInto");
  }
  writeRecords(): void {
    unsupported("writeRecords");
  }
  writeTopJson(): number {
    return unsupported("writeTopJson");
  }
  clear(): void {
    this.ids.length = 0;
    this.slots.clear();
    this.present = new Uint8Array(1024);
    this.size = 0;
  }
  stats(): RankIndexStats {
    return { bytes: 0, allocations: 0 };
  }
}

/** One rank change waiting for its ranks from Redis, or a rejection waiting for its turn. */
type PendingOutput =
  | {
      kind: "rank";
      huntId: string;
      seq: number;
      order: number;
      playerId: string;
      score: number;
      upsert: boolean;
      players: number;
    }
  | {
      kind: "rejected";
      huntId: string;
      seq: number;
      eventId: string | null;
      type: string | null;
      code: RejectionCode;
      message: string;
    };

/** Collects a batch's outputs in input order; the rank changes go through Redis first. */
class PeerSink implements OutputSink {
  huntId = "";
  /** seq − `base` is the tie-break sent to Redis. */
  base = 0;
  readonly outputs: PendingOutput[] = [];
  // Properties typed by OutputSink rather than methods, so the parameters take their types from there.
  readonly rank: OutputSink["rank"] = (seq, playerId, score, rank, _previousRank, players) => {
    const order = seq - this.base;
    if (order >= SEQ_SPAN)
      throw new Error(`the Redis peer ranks at most ${SEQ_SPAN} events of a hunt per run`);
    this.outputs.push({
      kind: "rank",
      huntId: this.huntId,
      seq,
      order,
      playerId,
      score,
      upsert: rank === 1,
      players,
    });
  };
  readonly teamRank: OutputSink["teamRank"] = () => {
    throw new Error("the Redis peer ranks solo hunts only");
  };
  readonly rejected: OutputSink["rejected"] = (seq, eventId, type, code, message) => {
    this.outputs.push({ kind: "rejected", huntId: this.huntId, seq, eventId, type, code, message });
  };
  // The peer is compared on rank changes; its fold still hashes the state for each checkpoint.
  readonly checkpoint: OutputSink["checkpoint"] = () => {};
}

/** Ranks a batch's changes in Redis with one pipeline, then publishes its outputs in input order. */
async function rankInRedis(
  redis: Redis,
  prefix: string,
  outputs: PendingOutput[],
  publisher: OutputPublisher,
) {
  const pipe = redis.pipeline();
  for (const c of outputs) {
    if (c.kind !== "rank") continue;
    const key = `${prefix}${c.huntId}`;
    pipe.zrevrank(key, c.playerId);
    if (c.upsert) {
      pipe.zadd(key, c.score * SEQ_SPAN - c.order, c.playerId);
      pipe.zrevrank(key, c.playerId);
    } else {
      pipe.zrem(key, c.playerId);
    }
  }
  const results = (await pipe.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  let r = 0;
  for (const c of outputs) {
    if (c.kind === "rejected") {
      const { seq, eventId, type, code, message } = c;
      publisher.rejected(c.huntId, seq, 0, { seq, eventId, type, code, message });
      continue;
    }
    const before = results[r++]?.[1] as number | null;
    r++;
    const after = c.upsert ? (results[r++]?.[1] as number | null) : null;
    const rank = after === null ? 0 : after + 1;
    const previousRank = before === null ? 0 : before + 1;
    publisher.rankChange(c.huntId, c.seq, c.playerId, c.score, rank, previousRank, c.players);
  }
}

runAsMain(import.meta.url, async (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: { nats: { type: "string" }, redis: { type: "string" }, batch: { type: "string" } },
    strict: true,
  });
  const redis = new Redis(values.redis ?? "", { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const prefix = `cairn:bench:${process.pid}:`;
  const folds = new Map<string, { fold: HuntFold; base: number }>();
  await runPeerEngine({
    name: "cairn-redis-engine",
    url: values.nats ?? "",
    batch: Number(values.batch ?? 1000),
    close: async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
    fold(batch: LogMessage[], publisher: OutputPublisher) {
      const sink = new PeerSink();
      const groups = new Map<string, FoldInput[]>();
      for (const m of batch) {
        const group = groups.get(m.huntId);
        if (group) group.push(m);
        else groups.set(m.huntId, [m]);
      }
      for (const [huntId, msgs] of groups) {
        let hunt = folds.get(huntId);
        if (!hunt) {
          hunt = { fold: new HuntFold(huntId, new RanklessIndex()), base: msgs[0]!.seq };
          folds.set(huntId, hunt);
        }
        sink.huntId = huntId;
        sink.base = hunt.base;
        hunt.fold.applyBatch(msgs, sink);
      }
      if (sink.outputs.length > 0) return rankInRedis(redis, prefix, sink.outputs, publisher);
    },
  });
});
