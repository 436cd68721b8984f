// `cairn bench soak`: a steady load against one engine process for minutes, watching that memory and lag
// stay bounded. Prints one line per interval (elapsed, engine RSS, lag, events/s, p99 of the interval) and,
// at the end, whether RSS and lag stayed bounded: the last third's maxima against the middle third's, and
// the backlog back to 0 once the load stops. With --json FILE or --chart FILE it also draws p50/p99 and RSS
// over time as an SVG.
import { cpus } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type EngineProcess, startEngineProcess } from "../bin/engine-process.ts";
import { choiceFlag, numberFlag } from "../bin/flags.ts";
import { FINDS_AND_ADJUSTMENTS, GameSimulator } from "../bin/game-simulator.ts";
import { connect, EVENTS_STREAM } from "../streams/index.ts";
import { type Chart, svgChart } from "./chart.ts";
import { EngineWatch, type FreshNats, sleep, startFreshNats, waitHandled } from "./harness.ts";
import { chartTarget, fmtInt, fmtMB, fmtMs, parseBenchFlags, writeChart, writeJson } from "./report.ts";

export const usage = `usage: cairn bench soak [flags]

  --minutes N     minutes of load (default 10)
  --rate N        events/s (default 20000)
  --players N     joined players (default 200000)
  --active N      players who play (default 10000)
  --index KIND    auto, native, js (default auto)
  --every S       seconds between progress lines (default 10)
  --json [FILE]   write every figure as JSON to FILE (stdout without FILE); with FILE, also the chart
                  beside it (FILE with .svg for .json)
  --chart FILE    write the chart to FILE: p50/p99 latency and engine RSS per interval, as SVG
  --smoke         about 5 s: 2,000 players, 500 active, 2,000 events/s, a line per second`;

interface Sample {
  t: number;
  rss: number;
  engineLag: number;
  backlog: number;
  sentPerSec: number;
  rankPerSec: number;
  p50Ms: number;
  p99Ms: number;
  gcCount: number;
  gcMajor: number;
}

/** Runs the benchmark; resolves to the exit code (1 when RSS or lag did not stay bounded). */
export async function run(argv: string[]): Promise<number> {
  const values = parseBenchFlags("soak", argv, {
    minutes: { type: "string" },
    rate: { type: "string" },
    players: { type: "string" },
    active: { type: "string" },
    index: { type: "string" },
    every: { type: "string" },
    chart: { type: "string" },
  });
  const chartFile = chartTarget(values.json, values.chart);
  const smoke = values.smoke === true;
  const seconds = smoke ? 5 : numberFlag("bench soak", "minutes", values.minutes, 10, 0.05) * 60;
  const rate = numberFlag("bench soak", "rate", values.rate, smoke ? 2000 : 20_000, 1);
  const players = numberFlag("bench soak", "players", values.players, smoke ? 2000 : 200_000, 1);
  const active = Math.min(
    players,
    numberFlag("bench soak", "active", values.active, smoke ? 500 : 10_000, 1),
  );
  const every = numberFlag("bench soak", "every", values.every, smoke ? 1 : 10, 0.25);
  const index = choiceFlag("index", values.index, ["auto", "native", "js"], "auto");
  const say = (s: string) => console.log(`[soak] ${s}`);
  console.log(
    `bench soak: ${fmtInt(rate)} events/s for ${(seconds / 60).toFixed(seconds < 60 ? 2 : 0)} min, ${fmtInt(players)} players (${fmtInt(active)} active), index ${index}; ${cpus().length} CPUs`,
  );

  let nats: FreshNats | undefined;
  let engine: EngineProcess | undefined;
  let nc: NatsConnection | undefined;
  let gen: GameSimulator | undefined;
  try {
    nats = await startFreshNats("soak");
    engine = await startEngineProcess(nats.url, ["--index", index]);
    const watch = new EngineWatch(engine, nats.pid, undefined);
    nc = await connect({ servers: nats.url, name: "cairn-bench-soak" });
    const huntId = `soak-${Date.now().toString(36)}`;
    gen = new GameSimulator(nc, {
      huntId,
      players,
      activePlayers: active,
      treasures: 100,
      rate,
      durationSec: seconds,
      ...FINDS_AND_ADJUSTMENTS,
    });
    await gen.setup();
    const setupSeq = (await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM)).state.last_seq;
    await waitHandled(nc, huntId, setupSeq, { timeoutMs: 300_000, engine });
    say(`setup done: ${fmtInt(players)} players joined; engine RSS ${fmtMB(watch.latest?.rss)}`);
    gen.listen();

    const samples: Sample[] = [];
    const whole = watch.phase();
    let window = watch.phase();
    let last = 0;
    await gen.run((elapsed) => {
      if (elapsed - last < every - 0.01) return;
      const secs = elapsed - last;
      last = elapsed;
      const w = gen!.takeWindow();
      const g = window.end();
      window = watch.phase();
      const s: Sample = {
        t: elapsed,
        rss: watch.latest?.rss ?? 0,
        engineLag: watch.latest?.lag ?? 0,
        backlog: gen!.backlog,
        sentPerSec: w.sent / secs,
        rankPerSec: w.rankMessages / secs,
        p50Ms: w.p50Ms,
        p99Ms: w.p99Ms,
        gcCount: g.gcCount,
        gcMajor: g.gcMajor,
      };
      samples.push(s);
      say(
        `t=${elapsed.toFixed(0).padStart(4)} s  rss ${fmtMB(s.rss).padStart(6)}  lag ${fmtInt(s.engineLag).padStart(6)}  backlog ${fmtInt(s.backlog).padStart(6)}  ` +
          `events/s ${fmtInt(s.sentPerSec).padStart(7)}  ranks/s ${fmtInt(s.rankPerSec).padStart(7)}  p50 ${fmtMs(s.p50Ms).padStart(8)}  p99 ${fmtMs(s.p99Ms).padStart(8)}  gc ${s.gcCount} (${s.gcMajor} major)`,
      );
    });
    window.end();
    const t = performance.now();
    await waitHandled(nc, huntId, gen.lastPlaySeq, { timeoutMs: 300_000, engine });
    const drainMs = performance.now() - t;
    await sleep(3000); // the engine refreshes its lag reading every few seconds
    const lagAfter = watch.latest?.lag ?? 0;
    const backlogAfter = gen.backlog;
    const total = whole.end();

    const third = Math.max(1, Math.floor(samples.length / 3));
    const middle = samples.slice(third, Math.max(third + 1, samples.length - third));
    const lastThird = samples.slice(-third);
    const max = (xs: Sample[], f: (s: Sample) => number) => Math.max(0, ...xs.map(f));
    const rssMiddle = max(middle, (s) => s.rss);
    const rssLast = max(lastThird, (s) => s.rss);
    const backlogMiddle = max(middle, (s) => s.backlog);
    const backlogLast = max(lastThird, (s) => s.backlog);
    const rssBound = rssMiddle * 1.1 + 16 * 2 ** 20;
    const rssBounded = rssLast <= rssBound;
    // A backlog that keeps growing is not bounded, however it compares with itself: the last third may
    // exceed the middle third's maximum by a tenth, or by half a second of load when both are small.
    const lagBounded =
      backlogLast <= Math.max(1.1 * backlogMiddle, rate / 2) && backlogAfter <= 0 && lagAfter === 0;
    const p99s = samples.map((s) => s.p99Ms).sort((a, b) => a - b);
    console.log("");
    say(
      `RSS: middle third max ${fmtMB(rssMiddle)}, last third max ${fmtMB(rssLast)}, peak ${fmtMB(total.peakRss)} → ${rssBounded ? "bounded" : "GROWING"}`,
    );
    say(
      `lag: backlog middle third max ${fmtInt(backlogMiddle)}, last third max ${fmtInt(backlogLast)}; after the load stopped: drained in ${fmtMs(drainMs)}, ` +
        `backlog ${fmtInt(backlogAfter)}, engine lag ${fmtInt(lagAfter)} → ${lagBounded ? "bounded" : "NOT BOUNDED"}`,
    );
    say(
      `GC: ${total.gcCount} pauses (${total.gcMajor} major) in ${total.seconds.toFixed(0)} s, longest ${fmtMs(total.gcMaxMs)}; ` +
        `window p99 median ${fmtMs(p99s[Math.floor(p99s.length / 2)])}, worst ${fmtMs(p99s[p99s.length - 1])}; overall p99 ${fmtMs(gen.total.count ? gen.total.percentile(99) / 1e6 : undefined)}`,
    );
    const summary = `soak ${fmtInt(rate)}/s ${(seconds / 60).toFixed(1)} min: RSS ${rssBounded ? "bounded" : "growing"} (peak ${fmtMB(total.peakRss)}), lag ${lagBounded ? "bounded" : "not bounded"} (drained in ${fmtMs(drainMs)}), p99 ${fmtMs(gen.total.count ? gen.total.percentile(99) / 1e6 : undefined)}`;
    console.log("");
    console.log(summary);
    if (values.json !== undefined) {
      writeJson(values.json, {
        benchmark: "soak",
        date: new Date().toISOString(),
        params: { seconds, rate, players, active, index, every },
        samples,
        rss: { middleMax: rssMiddle, lastMax: rssLast, peak: total.peakRss, bounded: rssBounded },
        lag: {
          backlogMiddleMax: backlogMiddle,
          backlogLastMax: backlogLast,
          drainMs,
          backlogAfter,
          lagAfter,
          bounded: lagBounded,
        },
        gc: { count: total.gcCount, major: total.gcMajor, maxMs: total.gcMaxMs, totalMs: total.gcTotalMs },
        summary,
      });
    }
    if (chartFile !== undefined) {
      const title = `cairn bench soak: ${fmtInt(rate)} events/s for ${fmtDuration(seconds)}, ${fmtInt(players)} players (${fmtInt(active)} active), index ${index}, a sample every ${every} s`;
      writeChart(chartFile, svgChart(soakChart(title, summary, samples, rssBound)));
    }
    return rssBounded && lagBounded ? 0 : 1;
  } catch (err) {
    if (engine?.stderr.length) console.error(engine.stderr.slice(-10).join("\n"));
    throw err;
  } finally {
    gen?.close();
    await nc?.close().catch(() => {});
    await engine?.kill();
    await nats?.dispose();
  }
}

/** "5 s", "10 min". */
function fmtDuration(seconds: number): string {
  return seconds < 120 ? `${Number(seconds.toFixed(1))} s` : `${Number((seconds / 60).toFixed(1))} min`;
}

/** The soak's chart: p50/p99 of each interval over the run, and the engine's RSS with the bound it must stay under. */
function soakChart(title: string, subtitle: string, samples: Sample[], rssBound: number): Chart {
  const at = (f: (s: Sample) => number) => samples.map((s) => [s.t, f(s)] as const);
  return {
    title,
    subtitle,
    xLabel: "time since the load started (s)",
    panels: [
      {
        yLabel: "event→rank latency (ms, log scale)",
        log: true,
        series: [
          { label: "p99", points: at((s) => s.p99Ms), color: 0 },
          { label: "p50", points: at((s) => s.p50Ms), color: 0, dashed: true },
        ],
      },
      {
        yLabel: "engine RSS (MB)",
        // 0 is "no report from the engine yet", not a reading.
        series: [
          { label: "engine RSS", points: at((s) => (s.rss > 0 ? s.rss / 2 ** 20 : Number.NaN)), color: 1 },
        ],
        rules: samples.length
          ? [{ y: rssBound / 2 ** 20, label: `bound: middle third's max × 1.1 + 16 MB = ${fmtMB(rssBound)}` }]
          : [],
      },
    ],
  };
}
