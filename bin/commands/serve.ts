// `cairn serve`: runs the engine until SIGTERM/SIGINT, then stops gracefully.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { getHeapSpaceStatistics, getHeapStatistics } from "node:v8";
import { EngineStartError, startEngine } from "../../actors/index.ts";
import type { RankIndexKind } from "../../native/index.ts";
import {
  type Command,
  durationFlag,
  intFlag,
  NATS_FLAGS,
  NATS_FLAGS_USAGE,
  natsOptionsFromFlags,
  parseFlags,
  RuntimeError,
  SERVE_STATE_FILE,
  UsageError,
} from "../cli.ts";
import { tuneEngineHeap } from "../engine-process.ts";
import { createLogger } from "../logger.ts";
import { SIGNING_KEY_USAGE, signingKeyFlag } from "../signing-key.ts";

/** The longest a graceful stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 10_000;

const FLAGS = {
  ...NATS_FLAGS,
  "store-dir": { type: "string" },
  "metrics-port": { type: "string" },
  index: { type: "string" },
  batch: { type: "string" },
  "snapshot-every": { type: "string" },
  "snapshot-interval": { type: "string" },
  "idle-after": { type: "string" },
  "ledger-page": { type: "string" },
  "activation-timeout": { type: "string" },
  "top-n": { type: "string" },
  "top-interval": { type: "string" },
  durable: { type: "string" },
  "filter-subject": { type: "string" },
  replicas: { type: "string" },
  "ranks-max-age": { type: "string" },
  "duplicate-window": { type: "string" },
  partitions: { type: "string" },
  "engine-id": { type: "string" },
  lease: { type: "string" },
  "log-level": { type: "string" },
  "viewer-ws": { type: "string" },
  "signing-key": { type: "string" },
} as const;

export const command: Command = {
  summary: "run the engine (embedded NATS unless --nats or NATS_URL)",
  usage: [
    "usage: cairn serve [flags]",
    "",
    "Consumes hunt.<id>.events, folds each hunt, publishes hunt.<id>.ranks/.top/.rejected and answers",
    "hunt.<id>.query.<op>. With neither --nats nor NATS_URL it starts nats-server -js on a free",
    "loopback port with its store under --store-dir, and stops it on exit.",
    "",
    NATS_FLAGS_USAGE,
    "  --store-dir DIR       embedded server's store (default .cairn/nats)",
    "  --metrics-port N      /metrics and /healthz port, 0 = any free port, off = none (default 9464)",
    "  --index KIND          rank index: auto (native if built), native or js (default auto)",
    "  --batch N             messages per pull (default 1000)",
    "  --snapshot-every N    snapshot a hunt after N events (default 500000)",
    "  --snapshot-interval D snapshot changed hunts at least every D (default 60s)",
    "  --idle-after D        passivate hunts idle for D (default 10m)",
    "  --activation-timeout D  longest a hunt's activation (snapshot + log tail) may take before it is",
    "                        abandoned and tried again (default 2m)",
    "  --ledger-page D       longest a ledger query replays the log before it replies with the entries",
    "                        found so far and a cursor to go on (default 1.5s)",
    "  --top-n N             entries in hunt.<id>.top (default 10)",
    "  --top-interval D      publish changed tops (hunt.<id>.top) in rounds every D, each hunt's at",
    "                        most once a round (default 100ms)",
    "  --durable NAME        durable consumer name (default cairn-engine)",
    "  --filter-subject S    consume only this subject (partitioned ownership)",
    "  --replicas N          stream replicas: 1 on one node, 3 on a cluster (default 1)",
    "  --ranks-max-age D     how long HUNT_RANKS keeps rank changes (default 24h)",
    "  --duplicate-window D  JetStream duplicate window of the streams (default 2m)",
    "  --partitions N        share hunts with other engines over N partitions; the server must map",
    "                        hunt.*.events to hunt.{{wildcard(1)}}.events.{{partition(N,1)}} (deploy/nats)",
    "  --engine-id ID        this engine's id among those sharing partitions (default host-pid)",
    "  --lease D             partition lease: a dead engine's hunts move after about this (default 3s)",
    "  --log-level L         trace, debug, info, warn, error (env CAIRN_LOG_LEVEL; default info)",
    "  --viewer-ws URL       NATS WebSocket URL the viewer pages connect to (wss://… in production); default",
    "                        the embedded server's loopback listener. The pages are served on --metrics-port",
    SIGNING_KEY_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("serve", argv, FLAGS);
    tuneEngineHeap();
    const index = values.index ?? "auto";
    if (!["auto", "native", "js"].includes(index)) {
      throw new UsageError(
        `--index must be auto, native or js, got "${values.index}"`,
        "omit it to use auto",
      );
    }
    const metricsPort =
      values["metrics-port"] === "off"
        ? null
        : intFlag("serve", "metrics-port", values["metrics-port"], 9464, 0, 65535);
    const viewerWs = values["viewer-ws"];
    if (viewerWs !== undefined && !/^wss?:\/\/[^/\s]+/.test(viewerWs)) {
      throw new UsageError(
        `--viewer-ws must be a ws:// or wss:// URL, got "${viewerWs}"`,
        "for example --viewer-ws wss://nats.example.org:443",
      );
    }
    const signer = signingKeyFlag("serve", values["signing-key"]);
    const logger = createLogger("cairn-engine", values["log-level"]);
    // Listen for stop signals before anything starts, so a SIGTERM during start-up (or right after
    // the ready message) still stops. A stop that cannot finish (NATS gone, a stuck call) ends the
    // process anyway after STOP_DEADLINE_MS; a second signal ends it at once.
    let stopping = false;
    let deadline: NodeJS.Timeout | undefined;
    const stopRequested = new Promise<void>((resolve) => {
      const stop = (why: string, isSignal: boolean) => {
        if (stopping) {
          if (!isSignal) return;
          console.error(`cairn serve: ${why} again; exiting now without a graceful stop`);
          process.exit(130);
        }
        stopping = true;
        logger.info({ signal: why }, "stopping");
        deadline = setTimeout(() => {
          console.error(
            `cairn serve: the graceful stop did not finish within ${STOP_DEADLINE_MS / 1000} s; exiting without it`,
          );
          console.error(
            "cairn serve: nothing is lost: the next start resumes from the last acknowledged event and snapshot",
          );
          process.exit(1);
        }, STOP_DEADLINE_MS).unref();
        resolve();
      };
      process.on("SIGTERM", () => stop("SIGTERM", true));
      process.on("SIGINT", () => stop("SIGINT", true));
      process.once("disconnect", () => stop("parent gone", false));
    });
    const engine = await startEngine({
      nats: natsOptionsFromFlags(values),
      storeDir: values["store-dir"],
      metricsPort,
      indexKind: index as RankIndexKind,
      batchSize: intFlag("serve", "batch", values.batch, 1000, 1, 100_000),
      snapshotEvery: intFlag("serve", "snapshot-every", values["snapshot-every"], 500_000, 1),
      snapshotIntervalMs: durationFlag("serve", "snapshot-interval", values["snapshot-interval"], 60_000),
      idleMs: durationFlag("serve", "idle-after", values["idle-after"], 600_000),
      activationTimeoutMs: durationFlag("serve", "activation-timeout", values["activation-timeout"], 120_000),
      ledgerPageMs: durationFlag("serve", "ledger-page", values["ledger-page"], 1500),
      topN: intFlag("serve", "top-n", values["top-n"], 10, 1, 1000),
      topIntervalMs: durationFlag("serve", "top-interval", values["top-interval"], 100),
      durable: values.durable,
      partitions: intFlag("serve", "partitions", values.partitions, 0, 0, 1024),
      engineId: values["engine-id"] ?? `${hostname()}-${process.pid}`,
      leaseMs: durationFlag("serve", "lease", values.lease, 3000),
      filterSubject: values["filter-subject"],
      viewerWsUrl: viewerWs,
      signer,
      streams: {
        replicas: intFlag("serve", "replicas", values.replicas, 1, 1, 5),
        ranksMaxAgeMs: durationFlag("serve", "ranks-max-age", values["ranks-max-age"], 24 * 3_600_000),
        duplicateWindowMs: durationFlag("serve", "duplicate-window", values["duplicate-window"], 120_000),
      },
      logger,
    }).catch((err: unknown) => {
      if (err instanceof EngineStartError) throw new RuntimeError(err.code, err.message, err.hint);
      throw err;
    });
    if (engine.embedded) {
      mkdirSync(dirname(SERVE_STATE_FILE), { recursive: true });
      writeFileSync(SERVE_STATE_FILE, JSON.stringify({ url: engine.url, pid: process.pid }));
    }
    // Under a parent with an IPC channel (the demo, benchmarks), report live figures to it.
    let reporter: NodeJS.Timeout | undefined;
    if (process.send) {
      let lastApplied = 0;
      reporter = setInterval(async () => {
        const applied = (await engine.metrics.applied.get()).values[0]?.value ?? 0;
        const index = engine.host.indexStats();
        process.send?.({
          type: "engine-stats",
          applied,
          appliedDelta: applied - lastApplied,
          lag: engine.host.lag,
          rss: process.memoryUsage.rss(),
          gc: engine.metrics.takeGcWindow(),
          loopDelay: engine.metrics.takeLoopDelayWindow(),
          indexAllocations: index.allocations,
          indexBytes: index.bytes,
          heapUsed: getHeapStatistics().used_heap_size,
          youngGeneration: getHeapSpaceStatistics().find((s) => s.space_name === "new_space")
            ?.physical_space_size,
        });
        lastApplied = applied;
      }, 250);
      process.send({
        type: "engine-ready",
        url: engine.url,
        metricsPort: engine.metricsPort,
        viewerUrl: engine.viewerUrl,
      });
    }
    console.error(
      `cairn serve: engine running on ${engine.url}${engine.metricsPort ? `, metrics on :${engine.metricsPort}` : ""}; Ctrl-C stops it`,
    );
    if (engine.viewerUrl) console.error(`cairn serve: watch the hunts at ${engine.viewerUrl}`);
    if (signer) console.error(`cairn serve: signing checkpoints with public key ${signer.publicKey}`);
    await stopRequested;
    if (reporter) clearInterval(reporter);
    await engine.stop();
    clearTimeout(deadline);
    if (engine.embedded) rmSync(SERVE_STATE_FILE, { force: true });
    // An open IPC channel would keep the process alive after the engine stopped.
    if (process.connected) process.disconnect();
    return 0;
  },
};
