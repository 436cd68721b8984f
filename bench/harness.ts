// Shared plumbing of the end-to-end benchmarks (e2e, replay, soak, ledger, hunts, huge): a fresh embedded
// nats-server per run, engine children and what they report over IPC (and their settled RSS), waiting for
// an engine to handle a seq, timed restarts, queries timed while something else runs, CPU time of
// processes from /proc, and a Redis probe.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { type EngineProcess, type EngineStats, startEngineProcess } from "../bin/engine-process.ts";
import type { RankReply, StateReply } from "../schemas/index.ts";
import {
  type EmbeddedNats,
  EVENTS_STREAM,
  lastOutputSeq,
  partitionMappingConfig,
  queryHunt,
  startEmbeddedNats,
} from "../streams/index.ts";
import { fmtInt, fmtMs } from "./report.ts";

/** A nats-server with a store of its own, wiped on stop. */
export interface FreshNats extends EmbeddedNats {
  /** Stops the server and deletes its store. */
  dispose(): Promise<void>;
}

/**
 * Starts `nats-server -js` on a free port with a new, empty store under the OS temp dir; with
 * `partitions` > 0 the server maps hunts' events to that many partitions, as `cairn serve
 * --partitions` needs.
 */
export async function startFreshNats(label: string, partitions = 0): Promise<FreshNats> {
  const dir = mkdtempSync(join(tmpdir(), `cairn-bench-${label}-`));
  const options: Parameters<typeof startEmbeddedNats>[0] = { storeDir: join(dir, "store") };
  if (partitions > 0) {
    options.configFile = join(dir, "nats.conf");
    writeFileSync(options.configFile, partitionMappingConfig(partitions));
  }
  const nats = await startEmbeddedNats(options);
  return {
    ...nats,
    stop: () => nats.stop(),
    async dispose() {
      await nats.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The resolution both engines give monitorEventLoopDelay. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/** What an engine reported during one phase of a run. */
export interface PhaseStats {
  /** Seconds from start to end of the phase. */
  seconds: number;
  samples: number;
  peakRss: number;
  gcCount: number;
  gcMajor: number;
  gcTotalMs: number;
  gcMaxMs: number;
  maxLag: number;
  applied: number;
  /** CPU seconds used in the phase by the engine and by nats-server (from /proc), and by this process. */
  engineCpuSec: number;
  natsCpuSec: number;
  selfCpuSec: number;
  /** CPU seconds used by everything else on the machine (other work running alongside skews the figures). */
  otherCpuSec: number;
}

interface OpenPhase {
  stats: PhaseStats;
  started: number;
  engineCpu0: number;
  natsCpu0: number;
  selfCpu0: number;
  machine0: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; 0 if unreadable. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds all CPUs have been busy (not idle or iowait) so far, from /proc/stat; 0 if unreadable. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - (f[3] ?? 0) - (f[4] ?? 0)) / 100;
  } catch {
    return 0;
  }
}

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Watches an engine child: its `engine-stats` messages go into every open phase, and its event-loop delay
 * is read from /metrics (the Cairn engine, started with `--metrics-port`) or asked over IPC (the no-op engine).
 */
export class EngineWatch {
  latest: EngineStats | undefined;
  private readonly open = new Set<OpenPhase>();

  constructor(
    readonly engine: EngineProcess,
    private readonly natsPid: number | undefined,
    /** The port of the engine's /metrics, or undefined to ask over IPC. */
    private readonly metricsPort: number | undefined,
  ) {
    engine.child.on("message", (m: { type?: string } & EngineStats) => {
      if (m.type !== "engine-stats") return;
      this.latest = m;
      for (const p of this.open) {
        const s = p.stats;
        s.samples++;
        s.peakRss = Math.max(s.peakRss, m.rss);
        s.gcCount += m.gc.count;
        s.gcMajor += m.gc.major;
        s.gcTotalMs += m.gc.totalMs;
        s.gcMaxMs = Math.max(s.gcMaxMs, m.gc.maxMs);
        s.maxLag = Math.max(s.maxLag, m.lag);
        s.applied += m.appliedDelta;
      }
    });
  }

  get pid(): number | undefined {
    return this.engine.child.pid;
  }

  /** Starts accumulating a phase; `end()` closes it and returns the figures. */
  phase(): { stats: PhaseStats; end(): PhaseStats } {
    const p: OpenPhase = {
      stats: {
        seconds: 0,
        samples: 0,
        peakRss: 0,
        gcCount: 0,
        gcMajor: 0,
        gcTotalMs: 0,
        gcMaxMs: 0,
        maxLag: 0,
        applied: 0,
        engineCpuSec: 0,
        natsCpuSec: 0,
        selfCpuSec: 0,
        otherCpuSec: 0,
      },
      started: performance.now(),
      engineCpu0: cpuSeconds(this.pid),
      natsCpu0: cpuSeconds(this.natsPid),
      selfCpu0: selfCpuSeconds(),
      machine0: machineBusySeconds(),
    };
    this.open.add(p);
    return {
      stats: p.stats,
      end: () => {
        this.open.delete(p);
        p.stats.seconds = (performance.now() - p.started) / 1000;
        p.stats.engineCpuSec = cpuSeconds(this.pid) - p.engineCpu0;
        p.stats.natsCpuSec = cpuSeconds(this.natsPid) - p.natsCpu0;
        p.stats.selfCpuSec = selfCpuSeconds() - p.selfCpu0;
        p.stats.otherCpuSec = Math.max(
          0,
          machineBusySeconds() - p.machine0 - p.stats.engineCpuSec - p.stats.natsCpuSec - p.stats.selfCpuSec,
        );
        return p.stats;
      },
    };
  }

  /**
   * Event-loop delay p99 (ms) since the previous call (the first call starts the window); undefined if unknown.
   * Both engines sample with monitorEventLoopDelay({resolution: 10}), which on Node 20 records the whole
   * timer interval (an idle loop reads 10.1 ms), so the 10 ms resolution is subtracted here.
   */
  async takeLoopDelayP99(): Promise<number | undefined> {
    const raw = await this.rawLoopDelayP99();
    // The engine samples the delay itself (/metrics); the no-op engine reports Node 20's
    // monitorEventLoopDelay, which records whole timer intervals: take the interval off.
    if (raw === undefined || this.metricsPort !== undefined) return raw;
    return Math.max(0, raw - LOOP_DELAY_RESOLUTION_MS);
  }

  private async rawLoopDelayP99(): Promise<number | undefined> {
    if (this.metricsPort !== undefined) {
      const text = await scrapeMetrics(this.metricsPort);
      const p99 =
        text === undefined
          ? undefined
          : metricValue(text, "cairn_event_loop_delay_seconds", 'quantile="0.99"');
      return p99 === undefined ? undefined : p99 * 1000;
    }
    const child = this.engine.child;
    if (!child.connected) return undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.off("message", onMessage);
        resolve(undefined);
      }, 2000);
      const onMessage = (m: { type?: string; p99Ms?: number }) => {
        if (m.type !== "loop-delay") return;
        clearTimeout(timer);
        child.off("message", onMessage);
        resolve(m.p99Ms);
      };
      child.on("message", onMessage);
      child.send({ type: "take-loop-delay" });
    });
  }
}

/**
 * Waits until the engine answering the hunt's queries has handled `seq`; resolves to the seq it has
 * handled, and throws after `timeoutMs`.
 */
export async function waitHandled(
  nc: NatsConnection,
  huntId: string,
  seq: number,
  options: {
    timeoutMs?: number;
    onWait?: (handled: number | undefined) => void;
    pollMs?: number;
    /** The engine process: waiting stops with its last stderr lines if it exits. */
    engine?: EngineProcess;
  } = {},
): Promise<number> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let lastSay = Date.now();
  for (;;) {
    // `rank` rather than `state`: state hashes the whole hunt (a 200,000-player encode) on every call, which
    // would load the engine being measured. Both reply with the hunt's last handled seq.
    // An engine whose queries time out under load is followed through its stored outputs.
    const state = await queryHunt<RankReply>(nc, huntId, "rank", { playerId: "p-0" }, 2000).catch(
      async () => {
        const stored = await lastOutputSeq(nc, huntId).catch(() => 0);
        return stored > 0 ? { seq: stored } : undefined;
      },
    );
    if (state && state.seq >= seq) return state.seq;
    const child = options.engine?.child;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      const last = options.engine!.stderr.filter((l) => /error|Error/.test(l)).slice(-2);
      throw new Error(
        `the engine exited (${child.exitCode ?? child.signalCode}) at seq ${state?.seq ?? "?"}: ${(last.length ? last : options.engine!.stderr.slice(-2)).join(" | ")}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the engine had not handled seq ${seq} after ${options.timeoutMs ?? 120_000} ms (at ${state?.seq ?? "?"})`,
      );
    }
    if (Date.now() - lastSay >= 2000) {
      lastSay = Date.now();
      options.onWait?.(state?.seq);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
  }
}

/** Pings Redis on host:port; resolves undefined when it answers +PONG, else the reason it does not. */
export function probeRedis(host = "127.0.0.1", port = 6379, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let answer = "";
    const finish = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(
      () => finish(`no answer from Redis on ${host}:${port} within ${timeoutMs} ms`),
      timeoutMs,
    );
    socket.once("error", (err) => finish(`Redis on ${host}:${port}: ${err.message}`));
    socket.connect(port, host, () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      answer += d.toString("latin1");
      if (answer.includes("\r\n"))
        finish(answer.startsWith("+PONG") ? undefined : `Redis answered ${JSON.stringify(answer.trim())}`);
    });
  });
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Publishes a hunt's log (event bodies, in order) as core publishes in flushed chunks, each with a
 * Nats-Msg-Id as every publisher must (`<hunt>-m-<n>`, n counting from `firstId`: a later part of the
 * same log goes on from the count of the parts before it), and waits until the events stream holds
 * `total` messages; returns its last seq. `progress` sees the count after each chunk.
 */
export async function publishLog(
  nc: NatsConnection,
  huntId: string,
  bodies: Iterable<string>,
  total: number,
  options: { progress?: (published: number) => void; firstId?: number } = {},
): Promise<number> {
  const subject = `hunt.${huntId}.events`;
  const firstId = options.firstId ?? 0;
  let n = 0;
  for (const body of bodies) {
    const h = headers();
    h.set("Nats-Msg-Id", `${huntId}-m-${firstId + n}`);
    nc.publish(subject, body, { headers: h });
    if (++n % 5000 === 0) {
      await nc.flush();
      options.progress?.(n);
    }
  }
  await nc.flush();
  return waitStored(nc, total);
}

/** Waits until the events stream holds `count` messages (2 minutes at most); returns its last seq. */
export async function waitStored(nc: NatsConnection, count: number): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { state } = await jsm.streams.info(EVENTS_STREAM);
    if (state.messages >= count) return state.last_seq;
    if (Date.now() > deadline) {
      throw new Error(
        `the events stream holds ${state.messages} messages after 2 minutes, expected ${count}`,
      );
    }
    await sleep(20);
  }
}

/** The engine's /metrics text, or undefined when it cannot be read. */
export async function scrapeMetrics(port: number): Promise<string | undefined> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return undefined;
  }
}

/**
 * The sum of a metric's series in /metrics text, over those whose labels contain `labels` (every
 * series when it is empty); undefined when there is none.
 */
export function metricValue(text: string, name: string, labels = ""): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(" ") || rest.startsWith("{")) || !rest.includes(labels)) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** The rank index bytes the engine reports on /metrics (cairn_native_index_bytes), if it can be read. */
export async function scrapeIndexBytes(port: number | undefined): Promise<number | undefined> {
  if (port === undefined) return undefined;
  const text = await scrapeMetrics(port);
  return text === undefined ? undefined : metricValue(text, "cairn_native_index_bytes");
}

/**
 * The engine's RSS once it has settled: two consecutive samples (`everyMs` apart, the engine reports
 * every 250 ms) within `tolerance` of each other, or the last sample when `timeoutMs` passes first.
 */
export async function settledRss(
  watch: EngineWatch,
  { tolerance = 0.02, everyMs = 500, timeoutMs = 30_000 } = {},
): Promise<{ rss: number; settled: boolean; waitedMs: number }> {
  const started = performance.now();
  let previous = watch.latest?.rss;
  for (;;) {
    await sleep(everyMs);
    const rss = watch.latest?.rss;
    const waitedMs = performance.now() - started;
    if (rss !== undefined && previous !== undefined && Math.abs(rss - previous) <= tolerance * previous) {
      return { rss, settled: true, waitedMs };
    }
    if (waitedMs > timeoutMs) return { rss: rss ?? 0, settled: false, waitedMs };
    previous = rss;
  }
}

/** A restart timed to the first answer that shows the whole log handled. */
export interface RestartTiming {
  /** From fork to `engine-ready`, ms. */
  startMs: number;
  /** From fork to the state query answering the final seq, ms. */
  readyFromForkMs: number;
  /** From `engine-ready` to that answer, ms. */
  readyFromEngineReadyMs: number;
  stateHash: string;
  /**
   * What the engine logged of the hunt's activation (snapshot read and decoded, log tail folded), when
   * it logs at info level: its time, the snapshot's seq (0 without one) and the events folded after it.
   */
  activation?: { ms: number; snapshotSeq: number; replayed: number };
}

/**
 * Starts an engine (`cairn serve` with `engineArgs`; `nodeArgs` for its node) on a log the previous one
 * left, and times it until `hunt.<id>.query.state` answers with `lastSeq` handled. The engine is left
 * running (killed if the wait fails).
 */
export async function timeRestart(
  nc: NatsConnection,
  natsUrl: string,
  huntId: string,
  lastSeq: number,
  engineArgs: string[],
  nodeArgs: string[] = [],
): Promise<{ engine: EngineProcess; timing: RestartTiming }> {
  const t0 = performance.now();
  const engine = await startEngineProcess(natsUrl, engineArgs, { nodeArgs });
  try {
    const t1 = performance.now();
    let state: StateReply | undefined;
    for (;;) {
      state = await queryHunt<StateReply>(nc, huntId, "state", {}, 300_000).catch(() => undefined);
      if (state && state.seq >= lastSeq) break;
      // A million-player hunt rebuilt from its log without a snapshot takes minutes.
      if (performance.now() - t0 > 1_800_000) {
        throw new Error(`hunt ${huntId} not ready 30 minutes after a restart`);
      }
      await sleep(5);
    }
    const t2 = performance.now();
    const timing: RestartTiming = {
      startMs: t1 - t0,
      readyFromForkMs: t2 - t0,
      readyFromEngineReadyMs: t2 - t1,
      stateHash: state.stateHash,
    };
    const logged = engine.stderr
      .filter((l) => l.includes('"hunt activated"') && l.includes(`"huntId":"${huntId}"`))
      .map((l) => {
        try {
          return JSON.parse(l) as { ms: number; snapshotSeq: number; replayed: number };
        } catch {
          return undefined;
        }
      })
      .filter((l) => l !== undefined)
      .at(-1);
    if (logged) {
      timing.activation = { ms: logged.ms, snapshotSeq: logged.snapshotSeq, replayed: logged.replayed };
    }
    return { engine, timing };
  } catch (err) {
    await engine.kill();
    const last = engine.stderr.slice(-10).join("\n");
    throw new Error(`${(err as Error).message}${last ? `\nthe engine's last lines:\n${last}` : ""}`);
  }
}

/** One line saying what a timed restart took. */
export function describeRestart(label: string, timing: RestartTiming, lastSeq: number): string {
  const a = timing.activation;
  return (
    `${label}: process start → engine-ready ${fmtMs(timing.startMs)}, → hunt answers seq ${fmtInt(lastSeq)} ${fmtMs(timing.readyFromForkMs)} ` +
    `(${fmtMs(timing.readyFromEngineReadyMs)} after engine-ready), stateHash ${timing.stateHash.slice(0, 12)}` +
    (a
      ? `; the engine logged its activation: ${fmtMs(a.ms)} (snapshot at seq ${fmtInt(a.snapshotSeq)}, ${fmtInt(a.replayed)} events folded after it)`
      : "")
  );
}

/**
 * Times `probe` over and over, one call at a time and `gapMs` apart, while `during` runs; resolves to
 * what `during` resolved to and the latencies (ms) in the order taken. `probe` is called with its count.
 */
export async function probeWhile<T>(
  during: Promise<T>,
  probe: (i: number) => Promise<unknown>,
  gapMs = 20,
): Promise<{ result: T; ms: number[] }> {
  const ms: number[] = [];
  let done = false;
  const probing = (async () => {
    while (!done) {
      const t = performance.now();
      await probe(ms.length);
      ms.push(performance.now() - t);
      await sleep(gapMs);
    }
  })();
  probing.catch(() => {}); // a failed probe is thrown below, once `during` is over, not as an unhandled rejection
  try {
    return { result: await during, ms };
  } finally {
    done = true;
    await probing;
  }
}

/** The q-quantile (0..1) of ascending `sorted`, undefined when it is empty. */
export function quantile(sorted: number[], q: number): number | undefined {
  return sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
