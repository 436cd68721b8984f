// The ceiling of `cairn bench e2e`: an engine whose fold does nothing. It consumes HUNT_EVENTS through the
// same durable batch consumer as the engine (consumeBatches), and publishes one rank message per event that
// names a player, on hunt.<id>.ranks, in the engine's JSON shape and through the same OutputPublisher
// (Nats-Msg-Id, stored by HUNT_RANKS). What it measures is therefore the NATS path alone: the latency floor
// and the highest rate this machine carries for this message pattern.
//
// As a child (forked by startNoopEngine with `--import tsx`) it speaks the engine's IPC protocol:
// `engine-ready`, then `engine-stats` every 250 ms; it also answers `hunt.<id>.query.<op>` with `{seq}` so
// callers can wait for it exactly as for the engine (any op gets the same answer), and `{type: "take-loop-delay"}` over IPC with the
// event-loop delay p99 since the previous request.
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { ENGINE_NODE_ARGS, type EngineProcess, forkEngine } from "../bin/engine-process.ts";
import {
  type BatchConsumer,
  connect,
  consumeBatches,
  ensureStreams,
  type LogMessage,
  OutputPublisher,
} from "../streams/index.ts";

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Starts the no-op engine as a child process; resolves once it consumes. */
export function startNoopEngine(
  url: string,
  options: { batch?: number; execArgv?: string[] } = {},
): Promise<EngineProcess> {
  return forkEngine(SELF, ["--nats", url, "--batch", String(options.batch ?? 1000)], {
    cwd: ROOT, // where `--import tsx` resolves
    execArgv: ["--import", "tsx", ...ENGINE_NODE_ARGS, ...(options.execArgv ?? [])],
    fallbackUrl: url,
    label: "the no-op engine",
  });
}

const PLAYER_KEY = new TextEncoder().encode('"playerId":"');
const encoder = new TextEncoder();

/** The value of the first `"playerId":"…"` in a JSON body, without parsing it; undefined when absent. */
function playerIdOf(data: Uint8Array): string | undefined {
  const first = PLAYER_KEY[0]!;
  const n = PLAYER_KEY.length;
  outer: for (let i = 0; i + n <= data.length; i++) {
    if (data[i] !== first) continue;
    for (let j = 1; j < n; j++) if (data[i + j] !== PLAYER_KEY[j]) continue outer;
    const from = i + n;
    let end = from;
    while (end < data.length && data[end] !== 0x22) end++;
    return String.fromCharCode.apply(null, data.subarray(from, end) as unknown as number[]);
  }
  return undefined;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { nats: { type: "string" }, batch: { type: "string" } },
    strict: true,
  });
  const nc = await connect({ servers: values.nats, name: "cairn-noop-engine" });
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

  const consumer: BatchConsumer = await consumeBatches(nc, {
    durable: "cairn-noop-engine",
    filterSubject: "hunt.>",
    maxMessages: Number(values.batch ?? 1000),
    onBatch(batch: LogMessage[]) {
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i]!;
        const playerId = playerIdOf(m.data);
        if (playerId !== undefined) {
          const json = `{"seq":${m.seq},"playerId":${JSON.stringify(playerId)},"score":0,"rank":1,"previousRank":1,"players":1}`;
          publisher.rankRaw(m.huntId, m.seq, 0, encoder.encode(json));
        }
        handled.set(m.huntId, m.seq);
      }
      applied += batch.length;
      position = batch[batch.length - 1]!.seq;
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
  process.send?.({ type: "engine-ready", url: values.nats });

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
  observer.disconnect();
  process.exit(0);
}

if (process.argv[1] === SELF) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  });
}
