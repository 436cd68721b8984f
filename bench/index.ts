// `cairn bench index`: the rank index hot path at scale — native vs pure-TS vs Redis sorted sets.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { intFlag, parseFlags } from "../bin/flags.ts";
import { JsRankIndex, NativeRankIndex, nativeAvailable, OP_UPSERT, type RankIndex } from "../native/index.ts";
import { xorshift } from "./xorshift.ts";

export const usage = `usage: cairn bench index [flags]

Measures the rank index at scale: single-call upserts (moves of existing players to random scores),
batched upserts (applyBatch, 1000 per batch), batched small moves (score deltas of -10..+10, a
player moves a few ranks: what the engine sees), rank lookups, top-100 reads, bytes per player and
allocations per update, for the native index, the pure-TS index and Redis sorted sets (ZADD +
ZREVRANK, pipelined). Each figure is the median of --repeats runs. The single-call runs of the
native and the pure-TS index alternate, and their ratio is the median of the pairs' ratios.

flags:
  --players N   players in the index (default 1000000)
  --repeats N   runs per measurement, the median is quoted (default 5)
  --redis URL   a Redis to compare with (e.g. redis://127.0.0.1:6379); without it the Redis column
                says "no samples": the benchmark never touches a Redis it was not given
  --smoke       tiny sizes, one run: checks the benchmark still works (what CI runs)
  --json        print the figures as JSON instead of a table`;

/** One implementation's figures; null where it does not apply. */
interface Figures {
  /** Initial inserts per second while loading the players. */
  insertPerSec: number;
  /** Single-call upserts (moves) per second. */
  upsertPerSec: number;
  /** Upserts per second through applyBatch (Redis: pipelines of the same size). */
  batchUpsertPerSec: number;
  /**
   * The same, but each upsert moves a player by a small score delta (-10..+10, a few ranks), which
   * is what the engine sees: the moved key stays near where it was.
   */
  batchSmallPerSec: number;
  /** Rank lookups per second. */
  rankPerSec: number;
  /** top(100) calls per second. */
  top100PerSec: number;
  /** Bytes held per player. */
  bytesPerPlayer: number;
  /** Index allocations per update in steady state (null where not observable). */
  allocationsPerUpdate: number | null;
}

const BATCH = 1000;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function perSec(ops: number, startNs: bigint): number {
  return ops / (Number(process.hrtime.bigint() - startNs) / 1e9);
}

function collectGarbage(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    gc();
    gc();
  };
}

interface Workload {
  players: number;
  ids: string[];
  /** Per op: which player and which new score. */
  picks: Uint32Array;
  scores: Float64Array;
  /** Per op of the small-move phase: which player, and a score delta in -10..+10. */
  smallPicks: Uint32Array;
  smallDeltas: Float64Array;
  ops: number;
  repeats: number;
  log: (line: string) => void;
}

function makeWorkload(players: number, ops: number, repeats: number, log: (line: string) => void): Workload {
  const rnd = xorshift(42);
  const ids = Array.from({ length: players }, (_, i) => `p-${i}`);
  const picks = new Uint32Array(ops);
  const scores = new Float64Array(ops);
  for (let i = 0; i < ops; i++) {
    picks[i] = rnd() % players;
    scores[i] = rnd() % 1_000_000;
  }
  const smallPicks = new Uint32Array(ops);
  const smallDeltas = new Float64Array(ops);
  for (let i = 0; i < ops; i++) {
    smallPicks[i] = rnd() % players;
    smallDeltas[i] = (rnd() % 21) - 10;
  }
  return { players, ids, picks, scores, smallPicks, smallDeltas, ops, repeats, log };
}

/**
 * Every player's score once the load and the random-move phases are done (the same for every
 * implementation): the small-move phase starts from these.
 */
function scoresAfterMoves(w: Workload): Float64Array {
  const rnd = xorshift(7);
  const cur = new Float64Array(w.players);
  for (let i = 0; i < w.players; i++) cur[i] = rnd() % 1_000_000;
  for (let i = 0; i < w.ops; i++) cur[w.picks[i]!] = w.scores[i]!;
  return cur;
}

/** The next run of small moves: new scores (current + delta) for w.smallPicks, updating `cur`. */
function nextSmallMoves(w: Workload, cur: Float64Array, out: Float64Array): void {
  for (let i = 0; i < w.ops; i++) {
    const p = w.smallPicks[i]!;
    cur[p] = cur[p]! + w.smallDeltas[i]!;
    out[i] = cur[p]!;
  }
}

/** One implementation under test: loaded once, then measured phase by phase. */
interface Loaded {
  index: RankIndex;
  /** The next tiebreak to use (every upsert takes a new one). */
  tiebreak: number;
  insertPerSec: number;
  /** V8 heap growth while loading. */
  heap: number;
  /** stats().allocations before the first update after loading. */
  allocationsBefore: number;
  /** Single-call upserts per second, one entry per run. */
  upserts: number[];
}

function load(name: string, make: () => RankIndex, w: Workload): Loaded {
  const gc = collectGarbage();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const index = make();
  const rnd = xorshift(7);
  let tiebreak = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < w.players; i++) index.upsert(w.ids[i]!, rnd() % 1_000_000, tiebreak++);
  const insertPerSec = perSec(w.players, t);
  gc();
  const heap = process.memoryUsage().heapUsed - heapBefore;
  w.log(`${name}: loaded ${w.players} players`);
  return { index, tiebreak, insertPerSec, heap, allocationsBefore: index.stats().allocations, upserts: [] };
}

/** One run of single-call upserts (moves of existing players to random scores). */
function singleCalls(run: Loaded, w: Workload): void {
  const { index } = run;
  let tiebreak = run.tiebreak;
  const t = process.hrtime.bigint();
  for (let i = 0; i < w.ops; i++) index.upsert(w.ids[w.picks[i]!]!, w.scores[i]!, tiebreak++);
  run.upserts.push(perSec(w.ops, t));
  run.tiebreak = tiebreak;
}

/** The batched, rank and top phases after the single-call runs; the figures of one implementation. */
function finish(run: Loaded, w: Workload, heapBytes: boolean): Figures {
  const { index, insertPerSec, heap } = run;
  const before = run.allocationsBefore;
  let tiebreak = run.tiebreak;
  let t: bigint;

  const slots = new Uint32Array(w.ops);
  for (let i = 0; i < w.ops; i++) slots[i] = index.slotOf(w.ids[w.picks[i]!]!);
  const ops = new Uint8Array(BATCH).fill(OP_UPSERT);
  const tiebreaks = new Float64Array(w.ops);
  const out = new Int32Array(2 * BATCH);
  /** Upserts slot i to scores[i] for every whole batch of the workload; returns upserts per second. */
  const timeBatches = (slots: Uint32Array, scores: Float64Array): number => {
    for (let i = 0; i < w.ops; i++) tiebreaks[i] = tiebreak++;
    const start = process.hrtime.bigint();
    for (let at = 0; at + BATCH <= w.ops; at += BATCH) {
      const end = at + BATCH;
      index.applyBatch(
        ops,
        slots.subarray(at, end),
        scores.subarray(at, end),
        tiebreaks.subarray(at, end),
        BATCH,
        out,
      );
    }
    return perSec(Math.floor(w.ops / BATCH) * BATCH, start);
  };
  const batches: number[] = [];
  for (let r = 0; r < w.repeats; r++) batches.push(timeBatches(slots, w.scores));

  const cur = scoresAfterMoves(w);
  const smallSlots = new Uint32Array(w.ops);
  for (let i = 0; i < w.ops; i++) smallSlots[i] = index.slotOf(w.ids[w.smallPicks[i]!]!);
  const smallScores = new Float64Array(w.ops);
  const smalls: number[] = [];
  for (let r = 0; r < w.repeats; r++) {
    nextSmallMoves(w, cur, smallScores);
    smalls.push(timeBatches(smallSlots, smallScores));
  }
  const updates = w.repeats * (w.ops + 2 * Math.floor(w.ops / BATCH) * BATCH);
  const allocationsPerUpdate = (index.stats().allocations - before) / updates;

  const ranks: number[] = [];
  let sink = 0;
  for (let r = 0; r < w.repeats; r++) {
    t = process.hrtime.bigint();
    for (let i = 0; i < w.ops; i++) sink += index.rank(w.ids[w.picks[i]!]!);
    ranks.push(perSec(w.ops, t));
  }
  const tops: number[] = [];
  const topCalls = Math.max(10, Math.floor(w.ops / 100));
  for (let r = 0; r < w.repeats; r++) {
    t = process.hrtime.bigint();
    for (let i = 0; i < topCalls; i++) sink += index.top(100).length;
    tops.push(perSec(topCalls, t));
  }
  if (sink === -1) w.log("unreachable");
  const bytes = heapBytes ? heap : index.stats().bytes;
  return {
    insertPerSec,
    upsertPerSec: median(run.upserts),
    batchUpsertPerSec: median(batches),
    batchSmallPerSec: median(smalls),
    rankPerSec: median(ranks),
    top100PerSec: median(tops),
    bytesPerPlayer: bytes / w.players,
    allocationsPerUpdate,
  };
}

/** Redis sorted sets doing the same work, or the reason they were skipped. */
async function benchRedis(url: string, w: Workload): Promise<Figures | string> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 1 s")), 1000).unref()),
    ]);
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    return `no Redis at ${url} (${(err as Error).message})`;
  }
  const key = `cairn:bench:index:${process.pid}:${Date.now()}`;
  try {
    const rnd = xorshift(7);
    let t = process.hrtime.bigint();
    for (let at = 0; at < w.players; at += 10_000) {
      const args: Array<string | number> = [];
      for (let i = at; i < Math.min(w.players, at + 10_000); i++) args.push(rnd() % 1_000_000, w.ids[i]!);
      await redis.zadd(key, ...args);
    }
    const insertPerSec = perSec(w.players, t);
    w.log(`redis: loaded ${w.players} players`);
    // One ZADD + ZREVRANK round trip per update: Redis has no in-process call, so fewer ops.
    const singleOps = Math.min(w.ops, Math.max(200, Math.floor(w.ops / 20)));
    const upserts: number[] = [];
    for (let r = 0; r < w.repeats; r++) {
      t = process.hrtime.bigint();
      for (let i = 0; i < singleOps; i++) {
        const id = w.ids[w.picks[i]!]!;
        await redis.pipeline().zadd(key, w.scores[i]!, id).zrevrank(key, id).exec();
      }
      upserts.push(perSec(singleOps, t));
    }
    const batches: number[] = [];
    for (let r = 0; r < w.repeats; r++) {
      t = process.hrtime.bigint();
      for (let at = 0; at + BATCH <= w.ops; at += BATCH) {
        const p = redis.pipeline();
        for (let i = at; i < at + BATCH; i++) {
          const id = w.ids[w.picks[i]!]!;
          p.zadd(key, w.scores[i]!, id).zrevrank(key, id);
        }
        await p.exec();
      }
      batches.push(perSec(Math.floor(w.ops / BATCH) * BATCH, t));
    }
    const cur = scoresAfterMoves(w);
    const smallScores = new Float64Array(w.ops);
    const smalls: number[] = [];
    for (let r = 0; r < w.repeats; r++) {
      nextSmallMoves(w, cur, smallScores);
      t = process.hrtime.bigint();
      for (let at = 0; at + BATCH <= w.ops; at += BATCH) {
        const p = redis.pipeline();
        for (let i = at; i < at + BATCH; i++) {
          const id = w.ids[w.smallPicks[i]!]!;
          p.zadd(key, smallScores[i]!, id).zrevrank(key, id);
        }
        await p.exec();
      }
      smalls.push(perSec(Math.floor(w.ops / BATCH) * BATCH, t));
    }
    // Reads are pipelined too (1000 ZREVRANK, 100 ZREVRANGE per round trip): the kindest case.
    const ranks: number[] = [];
    for (let r = 0; r < w.repeats; r++) {
      t = process.hrtime.bigint();
      for (let at = 0; at + BATCH <= w.ops; at += BATCH) {
        const p = redis.pipeline();
        for (let i = at; i < at + BATCH; i++) p.zrevrank(key, w.ids[w.picks[i]!]!);
        await p.exec();
      }
      ranks.push(perSec(Math.floor(w.ops / BATCH) * BATCH, t));
    }
    const tops: number[] = [];
    const topCalls = Math.max(100, Math.floor(w.ops / 100));
    for (let r = 0; r < w.repeats; r++) {
      t = process.hrtime.bigint();
      for (let at = 0; at < topCalls; at += 100) {
        const p = redis.pipeline();
        for (let i = 0; i < 100; i++) p.zrevrange(key, 0, 99, "WITHSCORES");
        await p.exec();
      }
      tops.push(perSec(Math.ceil(topCalls / 100) * 100, t));
    }
    const bytes = Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
    return {
      insertPerSec,
      upsertPerSec: median(upserts),
      batchUpsertPerSec: median(batches),
      batchSmallPerSec: median(smalls),
      rankPerSec: median(ranks),
      top100PerSec: median(tops),
      bytesPerPlayer: bytes / w.players,
      allocationsPerUpdate: null,
    };
  } finally {
    await redis.del(key).catch(() => {});
    redis.disconnect();
  }
}

function fmt(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined) return "n/a";
  if (digits > 0 || (Math.abs(v) < 10 && v !== 0)) return v.toFixed(digits || 2);
  return Math.round(v).toLocaleString("en-US");
}

function table(
  players: number,
  repeats: number,
  native: Figures | string,
  js: Figures,
  redis: Figures | string,
  singleRatios: number[],
): string {
  // Single-call runs alternate native/js: that row's ratio is the median of the pairs' ratios.
  const singleRatio = singleRatios.length > 0 ? median(singleRatios) : undefined;
  const rows: Array<[string, keyof Figures, boolean]> = [
    ["initial inserts/s", "insertPerSec", true],
    ["single-call upserts/s", "upsertPerSec", true],
    [`batched upserts/s (${BATCH}/batch)`, "batchUpsertPerSec", true],
    ["batched small moves/s", "batchSmallPerSec", true],
    ["rank/s", "rankPerSec", true],
    ["top-100/s", "top100PerSec", true],
    ["bytes/player", "bytesPerPlayer", false],
    ["allocations/update", "allocationsPerUpdate", false],
  ];
  const n = typeof native === "string" ? undefined : native;
  const r = typeof redis === "string" ? undefined : redis;
  const header = ["metric", "native", "js", "redis", "native/js"];
  const lines = [header];
  for (const [label, key, higherBetter] of rows) {
    const nv = n?.[key] ?? null;
    const jv = js[key];
    const paired = key === "upsertPerSec" ? singleRatio : undefined;
    const ratio =
      paired !== undefined
        ? `${paired.toFixed(1)}x`
        : nv !== null && jv !== null && jv !== 0 && higherBetter
          ? `${(nv / jv).toFixed(1)}x`
          : "";
    const ratioBytes =
      key === "bytesPerPlayer" && nv !== null && jv !== null && jv !== 0 ? `${(nv / jv).toFixed(2)}x` : ratio;
    const digits = key === "bytesPerPlayer" ? 1 : key === "allocationsPerUpdate" ? 4 : 0;
    lines.push([
      label,
      n ? fmt(nv, digits) : "not built",
      fmt(jv, digits),
      r ? fmt(r[key], digits) : "skipped",
      ratioBytes,
    ]);
  }
  const widths = header.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const out = [`rank index: ${players.toLocaleString("en-US")} players, median of ${repeats} run(s)`];
  for (const l of lines)
    out.push(l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
  out.push(
    "js bytes/player = V8 heap growth while loading; native = every byte the index holds (stats().bytes);",
    "redis = MEMORY USAGE of the key. js allocations = tree objects created (plus each call's result object).",
    "redis: single-call = one ZADD+ZREVRANK round trip; batched/rank pipelined 1000 per round trip, top 100.",
  );
  if (singleRatio !== undefined) {
    out.push(
      `single-call runs alternate native/js; native/js is the median of the pairs' ratios (${singleRatios.map((x) => `${x.toFixed(2)}x`).join(", ")}).`,
    );
  }
  if (typeof native === "string") out.push(`native column skipped: ${native}`);
  if (typeof redis === "string") out.push(`redis column skipped: ${redis}`);
  if (n) {
    const goals: Array<[string, boolean]> = [
      ["native single-call upserts >= 5x js", (singleRatio ?? 0) >= 5],
      ["native batched upserts >= 3M/s", n.batchUpsertPerSec >= 3e6],
      ["native bytes/player <= 64", n.bytesPerPlayer <= 64],
      ["native allocations/update = 0", n.allocationsPerUpdate === 0],
    ];
    out.push(`goals: ${goals.map(([g, ok]) => `${g}: ${ok ? "met" : "NOT met"}`).join("; ")}`);
  }
  return out.join("\n");
}

/** Runs the benchmark; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags("bench index", argv, {
    players: { type: "string" },
    repeats: { type: "string" },
    redis: { type: "string" },
    smoke: { type: "boolean" },
    json: { type: "boolean" },
  });
  const smoke = values.smoke === true;
  const players = intFlag("bench index", "players", values.players, smoke ? 2000 : 1_000_000, 1);
  const repeats = intFlag("bench index", "repeats", values.repeats, smoke ? 1 : 5, 1, 101);
  const ops = smoke ? 2000 : Math.max(BATCH, Math.min(1_000_000, players));
  const log = values.json ? () => {} : (line: string) => console.error(`bench index: ${line}`);
  const w = makeWorkload(players, ops, repeats, log);

  const nativeRun = nativeAvailable() ? load("native", () => new NativeRankIndex(), w) : undefined;
  const jsRun = load("js", () => new JsRankIndex(), w);
  // Single-call runs alternate between the two, so each pair meets the same machine conditions; the
  // ratio quoted is the median of the pairs' ratios.
  for (let r = 0; r < repeats; r++) {
    if (nativeRun) singleCalls(nativeRun, w);
    singleCalls(jsRun, w);
  }
  const singleRatios = nativeRun ? nativeRun.upserts.map((n, r) => n / jsRun.upserts[r]!) : [];
  const native = nativeRun ? finish(nativeRun, w, false) : "the addon is not built (npm run build:native)";
  const js = finish(jsRun, w, true);
  const redis =
    values.redis === undefined
      ? "no samples: pass --redis URL to compare with a Redis"
      : await benchRedis(values.redis, w);

  if (values.json) {
    const n = typeof native === "string" ? null : native;
    console.log(
      JSON.stringify(
        {
          players,
          repeats,
          opsPerRun: ops,
          native: n,
          nativeSkipped: typeof native === "string" ? native : undefined,
          js,
          redis: typeof redis === "string" ? null : redis,
          redisSkipped: typeof redis === "string" ? redis : undefined,
          ratios: n
            ? {
                upsert: median(singleRatios),
                upsertPairs: singleRatios,
                batchUpsert: n.batchUpsertPerSec / js.batchUpsertPerSec,
                batchSmall: n.batchSmallPerSec / js.batchSmallPerSec,
                rank: n.rankPerSec / js.rankPerSec,
                top100: n.top100PerSec / js.top100PerSec,
                bytesPerPlayer: n.bytesPerPlayer / js.bytesPerPlayer,
              }
            : null,
        },
        null,
        2,
      ),
    );
  } else {
    console.log(table(players, repeats, native, js, redis, singleRatios));
  }
  return 0;
}
