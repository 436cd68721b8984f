// The frame of the benchmarks' peer engines (the no-op ceiling, the Redis peer): a child process
// that consumes HUNT_EVENTS through the engine's own durable batch consumer and publishes through the
// engine's OutputPublisher, speaking the engine's IPC protocol so that a benchmark drives it exactly
// like `cairn serve`: `engine-ready`, then `engine-stats` every 250 ms, `loop-delay` on
// `{type: "take-loop-delay"}`; and it answers `hunt.<id>.query.<op>` with `{seq}` (any op) so that
// callers wait for it as for the engine. Each peer supplies only its fold.
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  ENGINE_NODE_ARGS,
  type EngineProcess,
  forkEngine,
  inheritedEngineArgs,
  tuneEngineHeap,
} from "../bin/engine-process.ts";
import {
  type BatchConsumer,
  connect,
  consumeBatches,
  ensureStreams,
  type LogMessage,
  OutputPublisher,
} from "../streams/index.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Forks a peer engine module as a child process; resolves once it consumes. */
export function startPeerEngine(
  module: string,
  label: string,
  url: string,
  args: string[],
  execArgv: string[] = [],
): Promise<EngineProcess> {
  return forkEngine(module, ["--nats", url, ...args], {
    cwd: ROOT, // where `--import tsx` resolves
    execArgv: ["--import", "tsx", ...ENGINE_NODE_ARGS, ...inheritedEngineArgs(), ...execArgv],
    fallbackUrl: url,
    label,
  });
}

/** A peer's fold: handles one batch (stream order), publishing through `publisher`. */
export type PeerFold = (batch: LogMessage[], publisher: OutputPublisher) => void | Promise<void>;

/** Runs a peer engine in this process until SIGTERM, SIGINT or the parent going away. */
export async function runPeerEngine(options: {
  name: string;
  url: string;
  batch: number;
  fold: PeerFold;
  /** Called once stopped (close a Redis connection, say). */
  close?: () => Promise<void>;
}): Promise<void> {
  // The engine's heap, so that the ceiling is the same process but for its fold.
  tuneEngineHeap();
  const nc = await connect({ servers: options.url, name: options.name });
  await ensureStreams(await jetstreamManager(nc));
  const publisher = new OutputPublisher(nc);
  const handled = new Map<string, number>();
  let applied = 0;
  let position = 0;
  let lastStreamSeq = 0;

  const gc = { count: 0, major: 0, totalMs: 0, maxMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
      gc.totalMs += e.duration;
      if (e.duration > gc.maxMs) gc.maxMs = e.duration;
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();

  const querySub = nc.subscribe("hunt.*.query.*", {
    callback: (_err, msg) => {
      const huntId = msg.subject.split(".")[1] ?? "";
      msg.respond(
        JSON.stringify({ seq: handled.get(huntId) ?? 0, status: "running", players: 0, stateHash: "" }),
      );
    },
  });

  const done = (batch: LogMessage[]) => {
    for (const m of batch) handled.set(m.huntId, m.seq);
    applied += batch.length;
    position = batch[batch.length - 1]!.seq;
  };
  const consumer: BatchConsumer = await consumeBatches(nc, {
    durable: options.name,
    maxMessages: options.batch,
    onBatch(batch: LogMessage[]) {
      const folded = options.fold(batch, publisher);
      if (folded) return folded.then(() => done(batch));
      done(batch);
    },
  });

  let lastApplied = 0;
  const lagTimer = setInterval(() => {
    consumer.streamLastSeq().then(
      (s) => {
        lastStreamSeq = s;
      },
      () => {},
    );
  }, 1000);
  const reporter = setInterval(() => {
    process.send?.({
      type: "engine-stats",
      applied,
      appliedDelta: applied - lastApplied,
      lag: Math.max(0, lastStreamSeq - position),
      rss: process.memoryUsage.rss(),
      gc: { ...gc },
    });
    lastApplied = applied;
    gc.count = 0;
    gc.major = 0;
    gc.totalMs = 0;
    gc.maxMs = 0;
  }, 250);
  process.on("message", (m: { type?: string }) => {
    if (m.type === "take-loop-delay") {
      process.send?.({
        type: "loop-delay",
        p99Ms: loopDelay.percentile(99) / 1e6,
        maxMs: loopDelay.max / 1e6,
      });
      loopDelay.reset();
    }
  });
  process.send?.({ type: "engine-ready", url: options.url });

  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
    process.once("disconnect", () => resolve());
  });
  clearInterval(reporter);
  clearInterval(lagTimer);
  await consumer.stop();
  querySub.unsubscribe();
  await publisher.flush().catch(() => {});
  await nc.close();
  await options.close?.();
  observer.disconnect();
  process.exit(0);
}

/** Runs `main` when this module is the process's entry, and reports a failure on stderr. */
export function runAsMain(moduleUrl: string, main: (argv: string[]) => Promise<void>): void {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  });
}
