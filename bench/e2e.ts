// `cairn bench e2e`: the experiment of the original leaderboard service (whose design inspired Cairn), side
// by side. One hunt, 200,000 joined players of whom 10,000 play, 20,000 finds and adjustments per second
// for 60 s, published by the load generator in this process (core NATS only) to an engine in its own
// process, each configuration on a fresh nats-server:
//   ceiling  the no-op engine (bench/noop-engine.ts): the same consumer and output path, a fold that does nothing
//   native   `cairn serve --index native`
//   js       `cairn serve --index js` (everything in the collected heap)
//   redis    the Redis peer (bench/redis-engine.ts): the engine's fold with its ranking in Redis sorted sets, run
//            only against a Redis named with --redis URL
// then, per configuration, a ramp to the highest rate it sustains. Prints one table in that service's
// format and Cairn's performance goals (p99 event→rank ≤ 4.1 ms, peak RSS, GC, allocations; see
// evaluateGoals) against this run; `--json [FILE]` writes every figure, and `--json FILE` or `--chart FILE`
// an SVG chart of each configuration's p50/p99 and RSS over the fixed load.
import { cpus } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type FoldInput, HuntFold } from "../actors/index.ts";
import { type EngineProcess, startEngineProcess } from "../bin/engine-process.ts";
import { dirFlag, numberFlag, UsageError } from "../bin/flags.ts";
import { FINDS_AND_ADJUSTMENTS, type GamePlan, GameSimulator } from "../bin/game-simulator.ts";
import { createRankIndex, nativeAvailable } from "../native/index.ts";
import { connect, EVENTS_STREAM, freePort } from "../streams/index.ts";
import { type Chart, type Rule, svgChart } from "./chart.ts";
import {
  cpuSeconds,
  EngineWatch,
  type FreshNats,
  machineBusySeconds,
  probeRedis,
  scrapeIndexBytes,
  startFreshNats,
  waitHandled,
} from "./harness.ts";
import { startNoopEngine } from "./noop-engine.ts";
import { startRedisEngine } from "./redis-engine.ts";
import {
  chartTarget,
  fmtInt,
  fmtMB,
  fmtMs,
  fmtNum,
  type GoalResult,
  goalLines,
  parseBenchFlags,
  table,
  writeChart,
  writeJson,
} from "./report.ts";

/** `teams`: the native engine on the same load as a team hunt (one team per 20 players; every event also moves a team). */
const CONFIGS = ["ceiling", "native", "js", "redis", "teams"] as const;
type ConfigName = (typeof CONFIGS)[number];

/** Parameters of one invocation. */
interface Params {
  players: number;
  active: number;
  treasures: number;
  rate: number;
  durationSec: number;
  warmupSec: number;
  batch: number;
  ramp: { start: number; step: number; max: number; stepSec: number } | undefined;
  configs: ConfigName[];
  cpuProfDir: string | undefined;
  engineArgs: string[];
  /** The Redis the redis column runs against; the column is skipped without one. */
  redisUrl: string | undefined;
}

/** One step of the ramp. */
interface RampStep {
  rate: number;
  seconds: number;
  sentPerSec: number;
  rankPerSec: number;
  p99Ms: number;
  backlogEnd: number;
  backlogMax: number;
  loadgenCpuPct: number;
  engineCpuPct: number;
  natsCpuPct: number;
  otherCpuPct: number;
  maxTickGapMs: number;
  keptUp: boolean;
  publisherLimited: boolean;
  why: string;
}

/** One progress line of the fixed load: the interval since the previous one. */
interface Sample {
  /** Seconds into the measured phase (after the warm-up). */
  t: number;
  sentPerSec: number;
  rankPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  backlog: number;
  /** The engine's RSS at the line (bytes; 0 before its first report). */
  rss: number;
}

/** Everything measured for one configuration. */
interface ConfigResult {
  name: ConfigName;
  status: "ok" | "skipped" | "failed";
  reason?: string;
  enginePid?: number;
  setup?: { joinSec: number; caughtUpSec: number };
  latency?: {
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
    count: number;
    mismatches: number;
  };
  steady?: {
    seconds: number;
    sentPerSec: number;
    rankPerSec: number;
    peakRssBytes: number;
    peakRssWholeRunBytes: number;
    gcCount: number;
    gcPerSec: number;
    gcMaxMs: number;
    gcMajor: number;
    majorPer10s: number;
    gcTotalMs: number;
    loopDelayP99Ms: number | undefined;
    indexBytesStart: number | undefined;
    indexBytesEnd: number | undefined;
    engineCpuPct: number;
    natsCpuPct: number;
    loadgenCpuPct: number;
    otherCpuPct: number;
    drainMs: number;
    maxTickGapMs: number;
  };
  ramp?: { steps: RampStep[]; sustained: number; limit: string };
  /** The fixed load's progress lines, one per interval. */
  samples?: Sample[];
}

export const usage = `usage: cairn bench e2e [flags]

  --players N       joined players (default 200000)
  --active N        players who play (default 10000)
  --treasures N     treasures in the hunt (default 100)
  --rate N          events/s of the fixed-load phase (default 20000)
  --duration S      seconds of the fixed-load phase (default 60), after --warmup
  --warmup S        seconds played first and not measured (default 5)
  --ramp A:B:C:S    max-rate phase: start at A/s, +B every S s, up to C (default 20000:10000:150000:5)
  --no-ramp         skip the max-rate phase
  --only LIST       configurations to run, of ceiling,native,js,redis,teams (default all; teams is the
                    native engine on a team hunt of one team per 20 players)
  --redis URL       a Redis for the redis column (e.g. redis://127.0.0.1:6379); without it the column is
                    skipped: the benchmark never touches a Redis it was not given
  --batch N         the engines' --batch (default 1000)
  --cpu-prof DIR    write a CPU profile of each engine process to DIR
  --engine-args S   extra \`cairn serve\` flags for the Cairn engines, e.g. "--snapshot-every 1000000"
  --json [FILE]     write every figure as JSON to FILE (stdout without FILE); with FILE, also the chart
                    beside it (FILE with .svg for .json)
  --chart FILE      write the chart to FILE: each configuration's p50/p99 latency and engine RSS per
                    progress line of the fixed load, as SVG
  --smoke           tiny sizes: 2,000 players, 500 active, 2,000 events/s for 2 s, a 2-step ramp`;

/** Runs the benchmark; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const values = parseBenchFlags("e2e", argv, {
    players: { type: "string" },
    active: { type: "string" },
    treasures: { type: "string" },
    rate: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    ramp: { type: "string" },
    "no-ramp": { type: "boolean", default: false },
    only: { type: "string" },
    batch: { type: "string" },
    "cpu-prof": { type: "string" },
    "engine-args": { type: "string" },
    redis: { type: "string" },
    chart: { type: "string" },
  });
  const chartFile = chartTarget(values.json, values.chart);
  const smoke = values.smoke === true;
  const rampSpec = values.ramp ?? (smoke ? "2000:2000:4000:1" : "20000:10000:150000:5");
  const [rs, rst, rm, rsec] = rampSpec.split(":").map(Number);
  if (![rs, rst, rm, rsec].every((n) => n !== undefined && Number.isFinite(n) && n > 0)) {
    throw new UsageError(
      `--ramp must be START:STEP:MAX:SECONDS, got "${rampSpec}"`,
      "for example --ramp 20000:10000:150000:5, or --no-ramp",
    );
  }
  const configs = (values.only ?? CONFIGS.join(",")).split(",").map((s) => s.trim()) as ConfigName[];
  for (const c of configs) {
    if (!CONFIGS.includes(c)) {
      throw new UsageError(`--only takes ${CONFIGS.join(",")}, got "${c}"`, "for example --only native,js");
    }
  }
  const params: Params = {
    players: numberFlag("bench e2e", "players", values.players, smoke ? 2000 : 200_000, 1),
    active: numberFlag("bench e2e", "active", values.active, smoke ? 500 : 10_000, 1),
    treasures: numberFlag("bench e2e", "treasures", values.treasures, smoke ? 20 : 100, 1),
    rate: numberFlag("bench e2e", "rate", values.rate, smoke ? 2000 : 20_000, 1),
    durationSec: numberFlag("bench e2e", "duration", values.duration, smoke ? 2 : 60, 1),
    warmupSec: numberFlag("bench e2e", "warmup", values.warmup, smoke ? 0 : 5, 0),
    batch: numberFlag("bench e2e", "batch", values.batch, 1000, 1),
    ramp: values["no-ramp"] ? undefined : { start: rs!, step: rst!, max: rm!, stepSec: rsec! },
    configs,
    cpuProfDir: dirFlag("bench e2e", "cpu-prof", values["cpu-prof"]),
    engineArgs: (values["engine-args"] ?? "").split(" ").filter(Boolean),
    redisUrl: values.redis,
  };
  params.active = Math.min(params.active, params.players);

  const started = performance.now();
  console.log(
    `bench e2e: ${fmtInt(params.players)} players, ${fmtInt(params.active)} active, ${fmtInt(params.rate)} events/s ` +
      `for ${params.durationSec} s (+${params.warmupSec} s warm-up); ramp ${params.ramp ? `${fmtInt(params.ramp.start)} +${fmtInt(params.ramp.step)} every ${params.ramp.stepSec} s up to ${fmtInt(params.ramp.max)}` : "off"}; ` +
      `${cpus().length} CPUs, node ${process.version}`,
  );

  const allocations = measureAllocations(params, smoke);
  for (const a of allocations) {
    console.log(
      `allocations per update, ${a.kind} index, folded in this process: ${a.perUpdate === undefined ? a.note : fmtNum(a.perUpdate, 4)} (${fmtInt(a.updates)} updates, ${fmtInt(a.allocations)} allocations)`,
    );
  }

  const results: ConfigResult[] = [];
  for (const name of params.configs) {
    const result = await runConfig(name, params);
    results.push(result);
    if (result.status !== "ok") console.log(`[${name}] ${result.status}: ${result.reason}`);
  }

  const byName = new Map(results.map((r) => [r.name, r]));
  const allocOf = (name: ConfigName) => allocations.find((a) => a.kind === name)?.perUpdate;
  const columns = CONFIGS.filter((c) => byName.has(c));
  const cell = (name: ConfigName, f: (r: ConfigResult) => string) => {
    const r = byName.get(name)!;
    return r.status === "ok" ? f(r) : r.status;
  };
  const rows: Array<[string, (r: ConfigResult) => string]> = [
    ["p99 latency", (r) => fmtMs(r.latency?.p99Ms)],
    ["p50 latency", (r) => fmtMs(r.latency?.p50Ms)],
    ["p99.9 latency", (r) => fmtMs(r.latency?.p999Ms)],
    ["peak RSS (fixed load)", (r) => fmtMB(r.steady?.peakRssBytes)],
    ["peak RSS (whole run, ramp too)", (r) => fmtMB(r.steady?.peakRssWholeRunBytes)],
    ["GC pauses/s", (r) => fmtNum(r.steady?.gcPerSec, 1)],
    ["longest GC pause", (r) => fmtMs(r.steady?.gcMaxMs)],
    ["major GCs", (r) => (r.steady ? `${r.steady.gcMajor} (${fmtNum(r.steady.majorPer10s, 2)}/10 s)` : "—")],
    ["event-loop delay p99", (r) => fmtMs(r.steady?.loopDelayP99Ms)],
    [
      "updates/s sustained",
      (r) => (r.ramp ? `${r.ramp.limit === "ramp-max" ? "≥" : ""}${fmtInt(r.ramp.sustained)}` : "not run"),
    ],
    [
      "allocations/update",
      (r) =>
        r.name === "native" || r.name === "js" || r.name === "teams" ? fmtNum(allocOf(r.name), 3) : "n/a",
    ],
    ["engine CPU (of 1 core)", (r) => `${fmtNum(r.steady?.engineCpuPct, 0)}%`],
    ["nats-server CPU", (r) => `${fmtNum(r.steady?.natsCpuPct, 0)}%`],
    ["load generator CPU", (r) => `${fmtNum(r.steady?.loadgenCpuPct, 0)}%`],
    ["other processes' CPU", (r) => `${fmtNum(r.steady?.otherCpuPct, 0)}%`],
  ];
  console.log("");
  console.log(
    `at ${fmtInt(params.rate)} events/s, ${fmtInt(params.players)} players (${fmtInt(params.active)} active), ${params.durationSec} s measured:`,
  );
  console.log(
    table(
      ["measure", ...columns],
      rows.map(([label, f]) => [label, ...columns.map((c) => cell(c, f))]),
    ),
  );
  for (const r of results) {
    if (r.ramp) {
      console.log(
        `ramp ${r.name}: ${r.ramp.steps.map((s) => `${fmtInt(s.rate / 1000)}k${s.keptUp ? "✓" : "✗"}`).join(" ")} → ${r.ramp.limit}`,
      );
    }
  }

  const ceiling = byName.get("ceiling");
  const goals: Record<string, GoalResult[]> = {};
  for (const name of ["native", "js", "redis"] as const) {
    const r = byName.get(name);
    if (r?.status === "ok") goals[name] = evaluateGoals(r, ceiling, allocOf(name), params);
  }
  for (const [name, g] of Object.entries(goals)) {
    console.log("");
    console.log(`performance goals, ${name} index, this run:`);
    console.log(goalLines(g));
  }

  const native = byName.get("native");
  const summary =
    `e2e ${fmtInt(params.rate)}/s ${fmtInt(params.players)} players: ` +
    columns
      .map((c) => {
        const r = byName.get(c)!;
        if (r.status !== "ok") return `${c} ${r.status}`;
        return `${c} p99 ${fmtMs(r.latency?.p99Ms)} rss ${fmtMB(r.steady?.peakRssWholeRunBytes)} max ${r.ramp ? fmtInt(r.ramp.sustained) : "-"}/s`;
      })
      .join("; ") +
    (goals.native
      ? `; native goals ${goals.native.filter((g) => g.pass).length}/${goals.native.filter((g) => g.pass !== undefined).length} met`
      : "") +
    ` (${((performance.now() - started) / 1000).toFixed(0)} s)`;
  console.log("");
  console.log(summary);

  if (values.json !== undefined) {
    writeJson(values.json, {
      benchmark: "e2e",
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
      params,
      allocations,
      results,
      goals,
      summary,
    });
  }
  if (chartFile !== undefined) writeChart(chartFile, svgChart(e2eChart(params, results, summary)));
  return native && native.status === "failed" ? 1 : 0;
}

/** Cairn's performance goals for one engine configuration. */
function evaluateGoals(
  r: ConfigResult,
  ceiling: ConfigResult | undefined,
  allocPerUpdate: number | undefined,
  params: Params,
): GoalResult[] {
  const p99 = r.latency?.p99Ms;
  const ceilP99 = ceiling?.status === "ok" ? ceiling.latency?.p99Ms : undefined;
  const ceilMax = ceiling?.status === "ok" ? ceiling.ramp?.sustained : undefined;
  const sustained = r.ramp?.sustained;
  const goals: GoalResult[] = [
    {
      goal: "p99 event→rank ≤ 4.1 ms",
      measured: `${fmtMs(p99)} at ${fmtInt(params.rate)}/s, ${fmtInt(params.players)} players`,
      pass: p99 === undefined ? undefined : p99 <= 4.1,
    },
    {
      goal: "p99 ≤ 1.5 × the ceiling's p99",
      measured:
        p99 !== undefined && ceilP99 !== undefined
          ? `${fmtMs(p99)} vs ${fmtMs(ceilP99)} (${fmtNum(p99 / ceilP99, 2)}×)`
          : "no ceiling in this run",
      pass: p99 !== undefined && ceilP99 !== undefined ? p99 <= 1.5 * ceilP99 : undefined,
    },
    {
      goal: "peak RSS ≤ 300 MB (the fixed load)",
      measured: `${fmtMB(r.steady?.peakRssBytes)} (${fmtMB(r.steady?.peakRssWholeRunBytes)} at the ramp's top)`,
      pass: r.steady ? r.steady.peakRssBytes <= 300 * 2 ** 20 : undefined,
    },
    {
      goal: "≤ 1 major GC per 10 s",
      measured: r.steady
        ? `${r.steady.gcMajor} in ${fmtNum(r.steady.seconds, 0)} s (${fmtNum(r.steady.majorPer10s, 2)}/10 s)`
        : "—",
      pass: r.steady ? r.steady.majorPer10s <= 1 : undefined,
    },
  ];
  if (r.name === "native") {
    goals.push({
      goal: "0 allocations per update (native index)",
      measured: allocPerUpdate === undefined ? "not measured" : fmtNum(allocPerUpdate, 4),
      pass: allocPerUpdate === undefined ? undefined : allocPerUpdate === 0,
    });
  }
  goals.push(
    {
      goal: "sustained ≥ 75% of the ceiling's",
      measured:
        sustained !== undefined && ceilMax !== undefined
          ? `${fmtInt(sustained)}/s vs ${fmtInt(ceilMax)}/s (${fmtNum((100 * sustained) / ceilMax, 0)}%)${ceiling?.ramp?.limit === "ramp-max" ? ", the ceiling hit the ramp's top" : ""}`
          : "ramp not run",
      pass: sustained !== undefined && ceilMax !== undefined ? sustained >= 0.75 * ceilMax : undefined,
    },
    {
      goal: "sustained ≥ 40,000 events/s",
      measured: sustained === undefined ? "ramp not run" : `${fmtInt(sustained)}/s (${r.ramp?.limit})`,
      pass: sustained === undefined ? undefined : sustained >= 40_000,
    },
  );
  return goals;
}

/** Allocations per rank-index update, counted by the index itself while folding the same load in this process. */
function measureAllocations(
  params: Params,
  smoke: boolean,
): Array<{
  kind: ConfigName;
  perUpdate: number | undefined;
  updates: number;
  allocations: number;
  note: string;
}> {
  const out = [];
  for (const kind of ["native", "js", "teams"] as const) {
    if (!params.configs.includes(kind)) continue;
    if (kind !== "js" && !nativeAvailable()) {
      out.push({ kind, perUpdate: undefined, updates: 0, allocations: 0, note: "native index not built" });
      continue;
    }
    const players = params.players;
    const warm = smoke ? 2000 : 50_000;
    const measured = smoke ? 5000 : 200_000;
    const plan: GamePlan = {
      huntId: `alloc-${kind}`,
      players,
      activePlayers: params.active,
      treasures: params.treasures,
      rate: 1,
      durationSec: 1,
      ...FINDS_AND_ADJUSTMENTS,
      ...(kind === "teams" ? { teams: Math.max(1, Math.floor(players / 20)) } : {}),
    };
    const gen = new GameSimulator(undefined as unknown as NatsConnection, plan);
    const fold = new HuntFold(plan.huntId, createRankIndex(kind === "teams" ? "native" : kind));
    // Both boards' allocations, and both boards' updates, in a team hunt.
    const allocationsNow = () => fold.boards.reduce((sum, b) => sum + b.stats().allocations, 0);
    let updates = 0;
    const sink = {
      rank() {
        updates++;
      },
      teamRank() {
        updates++;
      },
      rejected() {},
      checkpoint() {},
    };
    const encoder = new TextEncoder();
    const warmEnd = 2 + (plan.teams ?? 0) + players + warm;
    let seq = 0;
    let batch: FoldInput[] = [];
    let allocs0 = 0;
    let updates0 = 0;
    for (const body of gen.offlineEvents(warm + measured)) {
      seq++;
      batch.push({ seq, time: 1_700_000_000_000 + seq, data: encoder.encode(body), msgId: `m-${seq}` });
      if (batch.length === 1000 || seq === warmEnd) {
        fold.applyBatch(batch, sink);
        batch = [];
      }
      if (seq === warmEnd) {
        allocs0 = allocationsNow();
        updates0 = updates;
      }
    }
    fold.applyBatch(batch, sink);
    const allocations = allocationsNow() - allocs0;
    const n = updates - updates0;
    fold.dispose();
    out.push({
      kind,
      perUpdate: n > 0 ? allocations / n : undefined,
      updates: n,
      allocations,
      note:
        kind === "js"
          ? "objects created, as counted by JsRankIndex (stats().allocations)"
          : `arena block allocations counted by the C++ index (stats().allocations)${kind === "teams" ? " of both boards" : ""}, after the joins and a warm-up`,
    });
  }
  return out;
}

/** Runs one configuration on its own fresh nats-server. */
async function runConfig(name: ConfigName, params: Params): Promise<ConfigResult> {
  const tag = `[${name}]`;
  const say = (s: string) => console.log(`${tag} ${s}`);
  const result: ConfigResult = { name, status: "ok" };
  if (name === "redis") {
    if (params.redisUrl === undefined)
      return {
        name,
        status: "skipped",
        reason: "Redis column skipped: pass --redis URL to compare with a Redis",
      };
    const url = new URL(params.redisUrl);
    const reason = await probeRedis(url.hostname, Number(url.port || 6379));
    if (reason) return { name, status: "skipped", reason: `Redis column skipped: ${reason}` };
  }
  let nats: FreshNats | undefined;
  let engine: EngineProcess | undefined;
  let nc: NatsConnection | undefined;
  let gen: GameSimulator | undefined;
  try {
    nats = await startFreshNats(`e2e-${name}`);
    const profArgv = params.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${params.cpuProfDir}`] : [];
    let metricsPort: number | undefined;
    if (name === "ceiling") {
      engine = await startNoopEngine(nats.url, { batch: params.batch, execArgv: profArgv });
    } else if (name === "redis") {
      engine = await startRedisEngine(nats.url, params.redisUrl!, {
        batch: params.batch,
        execArgv: profArgv,
      });
    } else {
      metricsPort = await freePort();
      engine = await startEngineProcess(
        nats.url,
        [
          "--index",
          name === "teams" ? "native" : name,
          "--batch",
          String(params.batch),
          "--metrics-port",
          String(metricsPort),
          ...params.engineArgs,
        ],
        { nodeArgs: profArgv },
      );
    }
    result.enginePid = engine.child.pid;
    const watch = new EngineWatch(engine, nats.pid, metricsPort);
    const whole = watch.phase();
    say(`engine pid ${engine.child.pid}, nats-server pid ${nats.pid} on ${nats.url}`);
    nc = await connect({ servers: nats.url, name: `cairn-bench-e2e-${name}` });
    const jsm = await jetstreamManager(nc);
    const huntId = `e2e-${name}-${Date.now().toString(36)}`;
    const plan: GamePlan = {
      huntId,
      players: params.players,
      activePlayers: params.active,
      treasures: params.treasures,
      rate: params.rate,
      durationSec: params.warmupSec + params.durationSec,
      ...FINDS_AND_ADJUSTMENTS,
      ...(name === "teams" ? { teams: Math.max(1, Math.floor(params.players / 20)) } : {}),
    };
    gen = new GameSimulator(nc, plan);

    // Setup: the hunt and its joins, then wait until the engine has folded them all.
    let t = performance.now();
    await gen.setup();
    const joinSec = (performance.now() - t) / 1000;
    const setupSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    await waitHandled(nc, huntId, setupSeq, {
      timeoutMs: params.durationSec <= 5 ? 30_000 : 300_000, // short runs (--smoke) fail fast
      engine,
      onWait: (seq) => say(`setup: engine at seq ${fmtInt(seq)} of ${fmtInt(setupSeq)}`),
    });
    const caughtUpSec = (performance.now() - t) / 1000;
    result.setup = { joinSec, caughtUpSec };
    say(
      `setup: ${fmtInt(params.players)} joins published in ${joinSec.toFixed(1)} s, folded by ${caughtUpSec.toFixed(1)} s`,
    );
    gen.listen();

    // Fixed load: warm-up, then the measured phase.
    let steadyPhase: ReturnType<EngineWatch["phase"]> | undefined;
    let measuredFrom = 0;
    let rank0 = 0;
    let indexBytesStart: number | undefined;
    let lastReport = 0;
    let maxTickGapMs = 0;
    const samples: Sample[] = [];
    result.samples = samples;
    const begin = async () => {
      gen!.total.reset();
      gen!.takeWindow();
      rank0 = gen!.rankMessages;
      measuredFrom = gen!.playEvents;
      steadyPhase = watch.phase();
      await watch.takeLoopDelayP99(); // starts the window
      indexBytesStart = await scrapeIndexBytes(metricsPort);
    };
    if (params.warmupSec === 0) await begin();
    const progressEvery = params.durationSec <= 10 ? 1 : 5;
    await gen.run((elapsed) => {
      if (!steadyPhase && elapsed >= params.warmupSec) {
        void begin();
        lastReport = elapsed;
        return;
      }
      if (steadyPhase && elapsed - lastReport >= progressEvery - 0.01) {
        lastReport = elapsed;
        const w = gen!.takeWindow();
        maxTickGapMs = Math.max(maxTickGapMs, w.maxTickGapMs);
        const s = watch.latest;
        const sample: Sample = {
          t: elapsed - params.warmupSec,
          sentPerSec: w.sent / progressEvery,
          rankPerSec: w.rankMessages / progressEvery,
          p50Ms: w.p50Ms,
          p99Ms: w.p99Ms,
          maxMs: w.maxMs,
          backlog: gen!.backlog,
          rss: s?.rss ?? 0,
        };
        samples.push(sample);
        say(
          `t=${sample.t.toFixed(0)} s  sent ${fmtInt(sample.sentPerSec)}/s  ranks ${fmtInt(sample.rankPerSec)}/s  ` +
            `p50 ${fmtMs(w.p50Ms)}  p99 ${fmtMs(w.p99Ms)}  max ${fmtMs(w.maxMs)}  backlog ${fmtInt(sample.backlog)}  ` +
            `rss ${fmtMB(s?.rss)}  gc ${steadyPhase.stats.gcCount} (${steadyPhase.stats.gcMajor} major)`,
        );
      } else if (!steadyPhase && elapsed - lastReport >= 1) {
        lastReport = elapsed;
      }
    });
    if (!steadyPhase) await begin();
    const endSent = gen.playEvents;
    const steady = steadyPhase!.end();
    const loopDelayP99Ms = await watch.takeLoopDelayP99();
    const indexBytesEnd = await scrapeIndexBytes(metricsPort);
    maxTickGapMs = Math.max(maxTickGapMs, gen.takeWindow().maxTickGapMs);
    t = performance.now();
    await waitHandled(nc, huntId, gen.lastPlaySeq, {
      timeoutMs: params.durationSec <= 5 ? 30_000 : 300_000, // short runs (--smoke) fail fast
      engine,
      onWait: (seq) => say(`draining: engine at seq ${fmtInt(seq)} of ${fmtInt(gen!.lastPlaySeq)}`),
    });
    const drainMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, 100)); // the last rank messages
    const rankCount = gen.rankMessages - rank0;
    const pct = (q: number) => (gen!.total.count ? gen!.total.percentile(q) / 1e6 : 0);
    result.latency = {
      p50Ms: pct(50),
      p99Ms: pct(99),
      p999Ms: pct(99.9),
      maxMs: gen.total.count ? gen.total.max / 1e6 : 0,
      count: gen.total.count,
      mismatches: gen.mismatches,
    };
    result.steady = {
      seconds: steady.seconds,
      sentPerSec: (endSent - measuredFrom) / steady.seconds,
      rankPerSec: rankCount / steady.seconds,
      peakRssBytes: steady.peakRss,
      peakRssWholeRunBytes: 0,
      gcCount: steady.gcCount,
      gcPerSec: steady.gcCount / steady.seconds,
      gcMaxMs: steady.gcMaxMs,
      gcMajor: steady.gcMajor,
      majorPer10s: (10 * steady.gcMajor) / steady.seconds,
      gcTotalMs: steady.gcTotalMs,
      loopDelayP99Ms,
      indexBytesStart,
      indexBytesEnd,
      engineCpuPct: (100 * steady.engineCpuSec) / steady.seconds,
      natsCpuPct: (100 * steady.natsCpuSec) / steady.seconds,
      loadgenCpuPct: (100 * steady.selfCpuSec) / steady.seconds,
      otherCpuPct: (100 * steady.otherCpuSec) / steady.seconds,
      drainMs,
      maxTickGapMs,
    };
    say(
      `fixed load: ${fmtInt(result.latency.count)} rank messages, p50 ${fmtMs(result.latency.p50Ms)} p99 ${fmtMs(result.latency.p99Ms)} ` +
        `p99.9 ${fmtMs(result.latency.p999Ms)} max ${fmtMs(result.latency.maxMs)}${gen.mismatches ? `, ${gen.mismatches} unmatched` : ""}; ` +
        `CPU engine ${fmtNum(result.steady.engineCpuPct, 0)}% nats ${fmtNum(result.steady.natsCpuPct, 0)}% loadgen ${fmtNum(result.steady.loadgenCpuPct, 0)}% others ${fmtNum(result.steady.otherCpuPct, 0)}%; drained in ${fmtMs(drainMs)}`,
    );

    if (params.ramp) result.ramp = await ramp(gen, watch, nats.pid, params.ramp, say);
    result.steady.peakRssWholeRunBytes = Math.max(whole.end().peakRss, steady.peakRss);
    return result;
  } catch (err) {
    if (engine?.stderr.length) console.error(engine.stderr.slice(-10).join("\n"));
    return { ...result, status: "failed", reason: (err as Error).message };
  } finally {
    gen?.close();
    await nc?.close().catch(() => {});
    // With --cpu-prof the profile is written at a clean exit: stop gracefully then. Otherwise kill (faster).
    if (params.cpuProfDir) await engine?.stop();
    else await engine?.kill();
    await nats?.dispose();
  }
}

/**
 * The maximum-sustained-rate phase. The rate starts at `start` and rises by `step` every `stepSec`. A step
 * is kept up when (a) the backlog (play events published whose rank message has not arrived, by the newest
 * one that has) never exceeded one second of events at two consecutive 1-second samples, and (b) at the end
 * of the step it is at most a quarter of a second of events. The first step that is not kept up ends the
 * ramp; the sustained rate is the last step kept up. A step where the load generator itself could not keep
 * its schedule (sent < 97% of the target, or this process using > 85% of a core)
 * is marked publisher-limited, and so is the result when that step ended the ramp.
 */
async function ramp(
  gen: GameSimulator,
  watch: EngineWatch,
  natsPid: number,
  opts: { start: number; step: number; max: number; stepSec: number },
  say: (s: string) => void,
): Promise<{ steps: RampStep[]; sustained: number; limit: string }> {
  const steps: RampStep[] = [];
  let rate = opts.start;
  gen.setRate(rate);
  const nSteps = Math.floor((opts.max - opts.start) / opts.step) + 1;
  gen.plan.durationSec = nSteps * opts.stepSec + 0.3;
  let sustained = 0;
  let limit = "";
  let stop = false;
  let stepStart = performance.now();
  let lastSample = stepStart;
  let behind = 0;
  let failedWhy = "";
  let backlogMax = 0;
  const cpu0 = () => ({
    self: process.cpuUsage(),
    engine: cpuSeconds(watch.pid),
    nats: cpuSeconds(natsPid),
    machine: machineBusySeconds(),
  });
  let c0 = cpu0();
  gen.takeWindow();

  const closeStep = () => {
    const now = performance.now();
    const secs = (now - stepStart) / 1000;
    const w = gen.takeWindow();
    const self = process.cpuUsage(c0.self);
    const loadgenCpuPct = (100 * (self.user + self.system)) / 1e6 / secs;
    const engineCpuPct = (100 * (cpuSeconds(watch.pid) - c0.engine)) / secs;
    const natsCpuPct = (100 * (cpuSeconds(natsPid) - c0.nats)) / secs;
    const backlogEnd = gen.backlog;
    const sentPerSec = w.sent / secs;
    const otherCpuPct = Math.max(
      0,
      (100 * (machineBusySeconds() - c0.machine)) / secs - loadgenCpuPct - engineCpuPct - natsCpuPct,
    );
    const publisherLimited = sentPerSec < 0.97 * rate || loadgenCpuPct > 85;
    let why = failedWhy;
    if (!why && backlogEnd > rate / 4)
      why = `backlog ${fmtInt(backlogEnd)} > ¼ s of events at the end of the step`;
    const keptUp = why === "";
    const step: RampStep = {
      rate,
      seconds: secs,
      sentPerSec,
      rankPerSec: w.rankMessages / secs,
      p99Ms: w.p99Ms,
      backlogEnd,
      backlogMax,
      loadgenCpuPct,
      engineCpuPct,
      natsCpuPct,
      otherCpuPct,
      maxTickGapMs: w.maxTickGapMs,
      keptUp,
      publisherLimited,
      why: keptUp ? "kept up" : why,
    };
    steps.push(step);
    say(
      `ramp ${fmtInt(rate)}/s: sent ${fmtInt(sentPerSec)}/s ranks ${fmtInt(step.rankPerSec)}/s p99 ${fmtMs(w.p99Ms)} backlog ${fmtInt(backlogEnd)} (max ${fmtInt(backlogMax)}) ` +
        `CPU engine ${fmtNum(engineCpuPct, 0)}% nats ${fmtNum(natsCpuPct, 0)}% loadgen ${fmtNum(loadgenCpuPct, 0)}% others ${fmtNum(otherCpuPct, 0)}% tick gap ${fmtMs(w.maxTickGapMs)} → ` +
        `${keptUp ? "kept up" : `behind: ${why}`}${publisherLimited ? " [load generator at its limit]" : ""}`,
    );
    if (keptUp) {
      sustained = rate;
      if (rate + opts.step > opts.max) {
        limit = "ramp-max";
        stop = true;
      } else {
        rate += opts.step;
        gen.setRate(rate);
      }
    } else {
      limit = publisherLimited ? "load generator limit" : "engine fell behind";
      stop = true;
    }
    stepStart = now;
    lastSample = now;
    behind = 0;
    failedWhy = "";
    backlogMax = 0;
    c0 = cpu0();
  };

  await gen.run(
    () => {
      if (stop) return;
      const now = performance.now();
      const b = gen.backlog;
      backlogMax = Math.max(backlogMax, b);
      if (now - lastSample >= 1000) {
        lastSample = now;
        behind = b > rate ? behind + 1 : 0;
        if (behind >= 2 && !failedWhy) failedWhy = `backlog > 1 s of events (${fmtInt(b)}) for 2 s`;
      }
      if (failedWhy || now - stepStart >= opts.stepSec * 1000) closeStep();
    },
    () => stop,
  );
  if (!stop && performance.now() - stepStart >= opts.stepSec * 800) closeStep();
  if (!limit) limit = "ramp-max";
  say(`sustained: ${fmtInt(sustained)} events/s (${limit})`);
  return { steps, sustained, limit };
}

/**
 * The chart of a run: each configuration's p50 (dashed) and p99 per progress line of the fixed load, with
 * the ceiling's p99 over the whole phase and the p99 goal as lines; below, each engine's RSS.
 */
function e2eChart(params: Params, results: ConfigResult[], summary: string): Chart {
  // A configuration that failed half-way is drawn too, up to where it failed.
  const ran = results.filter((r) => r.samples !== undefined);
  const name = (r: ConfigResult) => (r.status === "ok" ? r.name : `${r.name} (${r.status})`);
  const at = (r: ConfigResult, f: (s: Sample) => number) =>
    (r.samples ?? []).map((s) => [s.t, f(s)] as const);
  const color = (r: ConfigResult) => CONFIGS.indexOf(r.name);
  const rules: Rule[] = [{ y: 4.1, label: "goal: p99 ≤ 4.1 ms" }];
  const ceiling = results.find((r) => r.name === "ceiling" && r.status === "ok")?.latency;
  if (ceiling) rules.push({ y: ceiling.p99Ms, label: `ceiling p99 over the phase ${fmtMs(ceiling.p99Ms)}` });
  return {
    title:
      `cairn bench e2e: ${fmtInt(params.rate)} events/s for ${params.durationSec} s (+${params.warmupSec} s warm-up), ` +
      `${fmtInt(params.players)} players (${fmtInt(params.active)} active), batch ${params.batch}`,
    subtitle: summary,
    xLabel: "time into the measured fixed load (s)",
    panels: [
      {
        yLabel: "event→rank latency (ms, log scale)",
        log: true,
        series: ran.flatMap((r) => [
          { label: `${name(r)} p99`, points: at(r, (s) => s.p99Ms), color: color(r) },
          { label: `${name(r)} p50`, points: at(r, (s) => s.p50Ms), color: color(r), dashed: true },
        ]),
        rules,
      },
      {
        yLabel: "engine RSS (MB)",
        // 0 is "no report from the engine yet", not a reading.
        series: ran.map((r) => ({
          label: name(r),
          points: at(r, (s) => (s.rss > 0 ? s.rss / 2 ** 20 : Number.NaN)),
          color: color(r),
        })),
      },
    ],
  };
}
