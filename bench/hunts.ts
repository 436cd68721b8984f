// `cairn bench hunts`: many small hunts at once against one engine, side by side with one hunt of the
// same players and the same event rate, each phase on its own fresh nats-server and engine process.
// A platform hosts thousands of team events, not one: this measures what that costs the engine
// (event → rank latency, the rate it sustains, memory per hunt, activations, consumers left behind)
// and, with --passivate, whether passivated hunts give their memory back.
import { cpus } from "node:os";
import { createHistogram } from "node:perf_hooks";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { type EngineProcess, startEngineProcess } from "../bin/engine-process.ts";
import { choiceFlag, dirFlag, intFlag, numberFlag } from "../bin/flags.ts";
import { connect, EVENTS_STREAM, freePort } from "../streams/index.ts";
import {
  EngineWatch,
  type FreshNats,
  metricValue,
  scrapeMetrics,
  sleep,
  startFreshNats,
  waitHandled,
  waitStored,
} from "./harness.ts";
import {
  fmtInt,
  fmtMB,
  fmtMs,
  fmtNum,
  type GoalResult,
  goalLines,
  parseBenchFlags,
  table,
  writeJson,
} from "./report.ts";
import { xorshift } from "./xorshift.ts";

export const usage = `usage: cairn bench hunts [flags]

  --hunts N       concurrent hunts (default 10000)
  --players N     players per hunt (default 20)
  --rate N        events/s spread across the hunts (default 20000)
  --seconds S     seconds of play per phase (default 30)
  --index KIND    auto, native, js (default auto)
  --partitions N  map hunts to N partitions (the server mapping) and run the engine with
                  --partitions N, holding them all (default 0: unpartitioned)
  --cpu-prof DIR  write a CPU profile of each phase's engine to DIR (the engines then stop gracefully)
  --passivate     also passivate every hunt after play (--idle-after 5s) and report the memory returned
  --json [FILE]   write every figure as JSON to FILE (stdout without FILE)
  --smoke         a few seconds: 50 hunts of 5 players, 2,000 events/s

Runs two phases, each on a fresh nats-server and engine: one hunt of hunts × players players, then
the many hunts, at the same rate; prints them side by side with the ratios.`;

/** How long the engine is watched after every hunt was passivated, for V8 to collect what they held. */
const PASSIVATED_SETTLE_MS = 20_000;

/** Figures of one phase. */
interface PhaseResult {
  label: string;
  hunts: number;
  setupSec: number;
  /** Play events handled per second, from the first publish to the last one handled. */
  sustained: number;
  p50Ms: number;
  p99Ms: number;
  rssIdle: number;
  rssAfterSetup: number;
  /** V8's young generation (committed) idle and after setup: a cost of the process, not of its hunts. */
  youngIdle: number;
  youngAfterSetup: number;
  /** V8 heap in use and bytes the rank indexes hold, after setup. */
  heapAfterSetup: number;
  indexBytesAfterSetup: number;
  rssPeak: number;
  activations: number;
  /** Hunts passivated during setup and play (idle for --idle-after), each of which may come back once more. */
  passivatedInPlay: number;
  consumersLeft: number;
  gcCount: number;
  rssPassivated?: number;
  /** RSS and V8 heap in use 20 s later, when V8 has had time to collect what the hunts held. */
  rssPassivatedLater?: number;
  heapPassivated?: number;
  heapPassivatedLater?: number;
  liveAfterPassivation?: number;
}

/** A sum read from the engine's /metrics (every series of the metric added up); 0 if absent. */
async function metric(port: number, name: string): Promise<number> {
  const text = await scrapeMetrics(port);
  if (text === undefined) throw new Error(`the engine's /metrics on port ${port} could not be read`);
  return metricValue(text, name) ?? 0;
}

const event = (type: string, id: string, data?: unknown) =>
  data === undefined
    ? `{"specversion":"1.0","id":"${id}","source":"cairn-bench","type":"${type}"}`
    : `{"specversion":"1.0","id":"${id}","source":"cairn-bench","type":"${type}","data":${JSON.stringify(data)}}`;

/** Runs one phase: `hunts` hunts of `players` players each, play at `rate` for `seconds`. */
async function phase(
  label: string,
  opts: {
    hunts: number;
    players: number;
    rate: number;
    seconds: number;
    index: string;
    partitions: number;
    passivate: boolean;
    cpuProfDir: string | undefined;
  },
): Promise<PhaseResult> {
  const say = (s: string) => console.log(`[${label}] ${s}`);
  let nats: FreshNats | undefined;
  let engine: EngineProcess | undefined;
  let nc: NatsConnection | undefined;
  try {
    nats = await startFreshNats("hunts", opts.partitions);
    const port = await freePort();
    const args = ["--index", opts.index, "--metrics-port", String(port)];
    if (opts.partitions > 0) args.push("--partitions", String(opts.partitions));
    if (opts.passivate) args.push("--idle-after", "5s");
    const nodeArgs = opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
    engine = await startEngineProcess(nats.url, args, { nodeArgs });
    const watch = new EngineWatch(engine, nats.pid, undefined);
    nc = await connect({ servers: nats.url, name: `cairn-bench-hunts-${label}` });
    await sleep(600);
    const rssIdle = watch.latest?.rss ?? 0;
    const youngIdle = watch.latest?.youngGeneration ?? 0;
    const jsm = await jetstreamManager(nc);
    const publish = (huntId: string, body: string, id: string) => {
      const h = headers();
      h.set("Nats-Msg-Id", id);
      nc!.publish(`hunt.${huntId}.events`, body, { headers: h });
    };
    const huntOf = (h: number) => `bh${h}`;
    const t0 = performance.now();
    let sent = 0;
    for (let h = 0; h < opts.hunts; h++) {
      const hunt = huntOf(h);
      publish(
        hunt,
        event("HuntCreated", `${hunt}-c`, {
          title: hunt,
          treasures: [1, 2, 3, 4, 5].map((t) => ({ id: `t${t}`, points: t * 10 })),
          rules: { firstFinderBonus: [5] },
        }),
        `${hunt}-c`,
      );
      publish(hunt, event("HuntStarted", `${hunt}-s`), `${hunt}-s`);
      for (let p = 0; p < opts.players; p++) {
        publish(hunt, event("PlayerJoined", `${hunt}-j${p}`, { playerId: `p-${p}` }), `${hunt}-j${p}`);
      }
      sent += 2 + opts.players;
      if (sent >= 5000) {
        sent = 0;
        await nc.flush();
      }
    }
    await nc.flush();
    const setupLast = await waitStored(nc, (2 + opts.players) * opts.hunts);
    await waitHandled(nc, huntOf(opts.hunts - 1), setupLast, { timeoutMs: 600_000, engine });
    const setupSec = (performance.now() - t0) / 1000;
    await sleep(600);
    const rssAfterSetup = watch.latest?.rss ?? 0;
    const heapAfterSetup = watch.latest?.heapUsed ?? 0;
    const youngAfterSetup = watch.latest?.youngGeneration ?? 0;
    const indexBytesAfterSetup = watch.latest?.indexBytes ?? 0;
    say(
      `setup: ${fmtInt(opts.hunts)} hunts, ${fmtInt(opts.hunts * opts.players)} players in ${setupSec.toFixed(1)} s; RSS ${fmtMB(rssAfterSetup)}`,
    );

    // Play: adjustments to random players of random hunts, each giving one rank message, whose
    // latency is measured by its input seq (this is the stream's only publisher).
    const base = setupLast + 1;
    const total = Math.round(opts.rate * opts.seconds);
    const sendTimes = new Float64Array(total);
    const latency = createHistogram();
    let received = 0;
    let lastHandledAt = 0;
    const seqRe = /^\{"seq":(\d+),/;
    const sub = nc.subscribe("hunt.*.ranks", {
      callback: (_e, m) => {
        const match = seqRe.exec(m.string());
        if (!match) return;
        const k = Number(match[1]) - base;
        if (k < 0 || k >= total) return;
        const now = performance.now();
        latency.record(Math.max(1, Math.round((now - sendTimes[k]!) * 1e6)));
        received++;
        lastHandledAt = now;
      },
    });
    const random = xorshift(7);
    const playPhase = watch.phase();
    const start = performance.now();
    let k = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.rate));
        for (; k < due; k++) {
          const hunt = huntOf(random() % opts.hunts);
          const delta = (random() % 9) + 1;
          sendTimes[k] = now;
          publish(
            hunt,
            event("ScoreAdjusted", `${hunt}-a${k}`, {
              playerId: `p-${random() % opts.players}`,
              delta,
              reason: "round",
            }),
            `${hunt}-a${k}`,
          );
        }
        if (k >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    await nc.flush();
    const deadline = Date.now() + 300_000;
    while (received < total && Date.now() < deadline) await sleep(50);
    const played = playPhase.end();
    sub.unsubscribe();
    if (received < total) say(`only ${fmtInt(received)} of ${fmtInt(total)} rank messages arrived in time`);
    const sustained = received / ((lastHandledAt - start) / 1000);
    const result: PhaseResult = {
      label,
      hunts: opts.hunts,
      setupSec,
      sustained,
      p50Ms: latency.count ? latency.percentile(50) / 1e6 : Number.NaN,
      p99Ms: latency.count ? latency.percentile(99) / 1e6 : Number.NaN,
      rssIdle,
      rssAfterSetup,
      youngIdle,
      youngAfterSetup,
      heapAfterSetup,
      indexBytesAfterSetup,
      rssPeak: played.peakRss,
      activations: await metric(port, "cairn_activation_seconds_count"),
      passivatedInPlay: await metric(port, "cairn_hunts_passivated_total"),
      consumersLeft: 0,
      gcCount: played.gcCount,
    };
    if (opts.passivate) {
      say("waiting for every hunt to be passivated (idle 5 s)");
      const until = Date.now() + 120_000;
      while ((await metric(port, "cairn_hunts_active")) > 0 && Date.now() < until) await sleep(500);
      result.liveAfterPassivation = await metric(port, "cairn_hunts_active");
      await sleep(1500);
      result.rssPassivated = watch.latest?.rss ?? 0;
      result.heapPassivated = watch.latest?.heapUsed ?? 0;
      await sleep(PASSIVATED_SETTLE_MS);
      result.rssPassivatedLater = watch.latest?.rss ?? 0;
      result.heapPassivatedLater = watch.latest?.heapUsed ?? 0;
    }
    // Every consumer but the engine's own durables (one for the whole stream, or one per partition).
    const durable = /^cairn-engine(-p\d+)?$/;
    for await (const c of jsm.consumers.list(EVENTS_STREAM)) {
      if (!durable.test(c.name)) result.consumersLeft++;
    }
    say(
      `play: ${fmtInt(total)} events, sustained ${fmtInt(sustained)}/s, p50 ${fmtMs(result.p50Ms)}, p99 ${fmtMs(result.p99Ms)}, RSS peak ${fmtMB(result.rssPeak)}`,
    );
    return result;
  } catch (err) {
    if (engine?.stderr.length) console.error(engine.stderr.slice(-10).join("\n"));
    throw err;
  } finally {
    await nc?.close().catch(() => {});
    // A CPU profile is written at a clean exit: stop gracefully then. Otherwise kill (faster).
    if (opts.cpuProfDir) await engine?.stop();
    else await engine?.kill();
    await nats?.dispose();
  }
}

/** Runs the benchmark; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const values = parseBenchFlags("hunts", argv, {
    hunts: { type: "string" },
    players: { type: "string" },
    rate: { type: "string" },
    seconds: { type: "string" },
    index: { type: "string" },
    partitions: { type: "string" },
    passivate: { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
  });
  const smoke = values.smoke === true;
  const hunts = numberFlag("bench hunts", "hunts", values.hunts, smoke ? 50 : 10_000, 1);
  const players = numberFlag("bench hunts", "players", values.players, smoke ? 5 : 20, 1);
  const rate = numberFlag("bench hunts", "rate", values.rate, smoke ? 2000 : 20_000, 1);
  const seconds = numberFlag("bench hunts", "seconds", values.seconds, smoke ? 2 : 30, 0.5);
  const index = choiceFlag("index", values.index, ["auto", "native", "js"], "auto");
  const partitions = intFlag("bench hunts", "partitions", values.partitions, 0, 0, 1024);
  const passivate = values.passivate === true;
  const cpuProfDir = dirFlag("bench hunts", "cpu-prof", values["cpu-prof"]);
  console.log(
    `bench hunts: ${fmtInt(hunts)} hunts × ${fmtInt(players)} players against 1 hunt × ${fmtInt(hunts * players)}, ${fmtInt(rate)} events/s for ${seconds} s each; index ${index}; ${partitions > 0 ? `${partitions} partitions` : "unpartitioned"}; ${cpus().length} CPUs`,
  );
  const one = await phase("one hunt", {
    hunts: 1,
    players: hunts * players,
    rate,
    seconds,
    index,
    partitions,
    passivate: false,
    cpuProfDir,
  });
  const many = await phase(`${hunts} hunts`, {
    hunts,
    players,
    rate,
    seconds,
    index,
    partitions,
    passivate,
    cpuProfDir,
  });
  // What the hunts cost: the RSS setting them up added, less what V8's young generation grew meanwhile,
  // which grows under any load up to the size --max-semi-space-size sets (64 MB for the engine's 32),
  // as far with one hunt as with thousands. Both phases' figures are printed.
  const youngGrowth = (p: PhaseResult) => p.youngAfterSetup - p.youngIdle;
  const perHuntAll = (many.rssAfterSetup - many.rssIdle) / hunts;
  const perHunt = perHuntAll - youngGrowth(many) / hunts;
  // What a hunt costs beyond its players: the same players in one hunt are the baseline.
  const overHunt = (many.rssAfterSetup - many.rssIdle - (one.rssAfterSetup - one.rssIdle)) / hunts;
  const rows = [
    [
      "sustained events/s",
      fmtInt(one.sustained),
      fmtInt(many.sustained),
      fmtNum(many.sustained / one.sustained, 2),
    ],
    ["p50 event → rank", fmtMs(one.p50Ms), fmtMs(many.p50Ms), fmtNum(many.p50Ms / one.p50Ms, 2)],
    ["p99 event → rank", fmtMs(one.p99Ms), fmtMs(many.p99Ms), fmtNum(many.p99Ms / one.p99Ms, 2)],
    [
      "setup (create, start, joins)",
      `${one.setupSec.toFixed(1)} s`,
      `${many.setupSec.toFixed(1)} s`,
      fmtNum(many.setupSec / one.setupSec, 2),
    ],
    ["engine RSS idle", fmtMB(one.rssIdle), fmtMB(many.rssIdle), ""],
    ["engine RSS after setup", fmtMB(one.rssAfterSetup), fmtMB(many.rssAfterSetup), ""],
    ["  of it V8 heap in use", fmtMB(one.heapAfterSetup), fmtMB(many.heapAfterSetup), ""],
    ["  of it V8 young generation", fmtMB(one.youngAfterSetup), fmtMB(many.youngAfterSetup), ""],
    ["  of it rank indexes", fmtMB(one.indexBytesAfterSetup), fmtMB(many.indexBytesAfterSetup), ""],
    ["RSS per hunt", "", `${fmtNum(perHuntAll / 1024, 1)} KB`, ""],
    ["RSS per hunt, young generation's growth left out", "", `${fmtNum(perHunt / 1024, 1)} KB`, ""],
    ["RSS per hunt over one hunt's", "", `${fmtNum(overHunt / 1024, 1)} KB`, ""],
    ["engine RSS peak in play", fmtMB(one.rssPeak), fmtMB(many.rssPeak), ""],
    ["activations", fmtInt(one.activations), fmtInt(many.activations), ""],
    ["passivated (idle) in setup and play", fmtInt(one.passivatedInPlay), fmtInt(many.passivatedInPlay), ""],
    ["consumers left on HUNT_EVENTS", fmtInt(one.consumersLeft), fmtInt(many.consumersLeft), ""],
    ["GC pauses in play", fmtInt(one.gcCount), fmtInt(many.gcCount), ""],
  ];
  if (many.rssPassivated !== undefined) {
    rows.push(["engine RSS, every hunt passivated", "", fmtMB(many.rssPassivated), ""]);
    rows.push(["  of it V8 heap in use", "", fmtMB(many.heapPassivated), ""]);
    rows.push([`engine RSS, ${PASSIVATED_SETTLE_MS / 1000} s later`, "", fmtMB(many.rssPassivatedLater), ""]);
    rows.push(["  of it V8 heap in use", "", fmtMB(many.heapPassivatedLater), ""]);
    rows.push(["hunts still live after passivation", "", fmtInt(many.liveAfterPassivation), ""]);
  }
  console.log("");
  console.log(table(["", "1 hunt", `${fmtInt(hunts)} hunts`, "ratio"], rows));
  const goals: GoalResult[] = [
    {
      goal: "sustained rate ≥ 90% of one hunt's",
      measured: fmtNum(many.sustained / one.sustained, 2),
      pass: many.sustained >= 0.9 * one.sustained,
    },
    {
      goal: "p99 ≤ 1.5× one hunt's",
      measured: fmtNum(many.p99Ms / one.p99Ms, 2),
      pass: many.p99Ms <= 1.5 * one.p99Ms,
    },
    { goal: "engine RSS ≤ 400 MB", measured: fmtMB(many.rssPeak), pass: many.rssPeak <= 400 * 2 ** 20 },
    {
      goal: "≤ 10 KB per small active hunt",
      measured: `${fmtNum(perHunt / 1024, 1)} KB`,
      pass: perHunt <= 10 * 1024,
    },
    {
      // A hunt idle for --idle-after during play is passivated and comes back with its next event.
      goal: "one activation per hunt (and per idle passivation)",
      measured:
        many.passivatedInPlay > 0
          ? `${fmtInt(many.activations)} for ${fmtInt(hunts)} hunts, ${fmtInt(many.passivatedInPlay)} passivated`
          : fmtInt(many.activations),
      pass: many.activations <= hunts + many.passivatedInPlay,
    },
    {
      goal: "no consumer left by activations",
      measured: fmtInt(many.consumersLeft),
      pass: many.consumersLeft === 0,
    },
  ];
  console.log("");
  console.log(goalLines(goals));
  if (values.json !== undefined) {
    writeJson(values.json, {
      benchmark: "hunts",
      date: new Date().toISOString(),
      params: { hunts, players, rate, seconds, index, partitions, passivate },
      one,
      many,
      perHuntBytes: perHunt,
      perHuntYoungIncludedBytes: perHuntAll,
      perHuntOverOneBytes: overHunt,
      goals,
    });
  }
  return received(one) && received(many) ? 0 : 1;
}

/** Whether a phase measured anything (its latency has samples). */
function received(p: PhaseResult): boolean {
  return Number.isFinite(p.p99Ms);
}
