// The engine's Prometheus metrics (prom-client) and the /metrics + /healthz HTTP endpoint.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { constants, createHistogram, PerformanceObserver, type RecordableHistogram } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

/** What /healthz and the gauges read from the engine on each scrape. */
export interface EngineProbe {
  /** Connected to NATS. */
  connected(): boolean;
  /** Messages in the log not yet handled by this engine. */
  lag(): number;
  /** Hunts with a live actor. */
  huntsActive(): number;
  /** Bytes held by the rank indexes: every native one in the process, and the live hunts' JS ones. */
  indexBytes(): number;
  /** Outputs sent and not yet confirmed stored, and the age of the oldest (ms). */
  unconfirmed(): { count: number; oldestMs: number };
}

/** The metrics of one engine process. */
export class EngineMetrics {
  readonly registry = new Registry();
  readonly applied = new Counter({
    name: "cairn_events_applied_total",
    help: "Input events applied",
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: "cairn_events_rejected_total",
    help: "Input events rejected, by code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly applyLatency = new Histogram({
    name: "cairn_apply_latency_seconds",
    help: "From the JetStream timestamp of an event to its outputs published",
    buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2, 5],
    registers: [this.registry],
  });
  readonly batchFailures = new Counter({
    name: "cairn_batch_failures_total",
    help: "Input batches that failed and restarted their consumer",
    registers: [this.registry],
  });
  readonly huntFailures = new Counter({
    name: "cairn_hunt_failures_total",
    help: "Hunts set aside because their fold failed (see /healthz for which)",
    registers: [this.registry],
  });
  readonly outputFailures = new Counter({
    name: "cairn_output_publish_failures_total",
    help: "Outputs JetStream answered with an error instead of storing them (each is sent again), by reason",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly passivated = new Counter({
    name: "cairn_hunts_passivated_total",
    help: "Hunts passivated: idle for --idle-after (or stopped being this engine's), snapshotted and dropped",
    registers: [this.registry],
  });
  readonly activationSeconds = new Histogram({
    name: "cairn_activation_seconds",
    help: "Time to bring a hunt to life from its snapshot and log tail",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly queriesRefused = new Counter({
    name: "cairn_queries_refused_total",
    help: "Queries not answered because their reply subject was not an inbox",
    registers: [this.registry],
  });
  readonly ledgerReplays = new Counter({
    name: "cairn_ledger_replays_total",
    help: "Ledger pages read by folding a hunt's log again, by where the fold began (start: from seq 1; resumed: a paused replay)",
    labelNames: ["from"] as const,
    registers: [this.registry],
  });
  readonly ledgerInputs = new Counter({
    name: "cairn_ledger_inputs_total",
    help: "Inputs folded again to answer ledger queries",
    registers: [this.registry],
  });
  readonly ledgerRefused = new Counter({
    name: "cairn_ledger_refused_total",
    help: "Ledger queries refused busy because the most ledger replays the engine runs at once were running",
    registers: [this.registry],
  });
  readonly gcPause = new Histogram({
    name: "cairn_gc_pause_seconds",
    help: "Garbage-collector pauses, by kind",
    labelNames: ["kind"] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  /** GC pauses since the last `takeGcWindow`, for live displays. */
  private gcWindow = { count: 0, major: 0, totalMs: 0, maxMs: 0 };
  /**
   * Event-loop delay: how late a 10 ms timer fires. Sampled by hand because Node 20's
   * monitorEventLoopDelay records whole timer intervals (an idle loop reads 10 ms).
   */
  private readonly loopDelay: RecordableHistogram = createHistogram();
  /** The same since the last `takeLoopDelayWindow`, for live displays. */
  private loopDelayWindow: RecordableHistogram = createHistogram();
  private readonly loopTimer: NodeJS.Timeout;
  private readonly gcObserver: PerformanceObserver;
  private server: Server | undefined;

  constructor(probe: EngineProbe) {
    const loopDelay = this.loopDelay;
    new Gauge({
      name: "cairn_consumer_lag",
      help: "Messages in HUNT_EVENTS not yet handled by this engine",
      registers: [this.registry],
      collect() {
        this.set(probe.lag());
      },
    });
    new Gauge({
      name: "cairn_hunts_active",
      help: "Hunts with a live actor in this engine",
      registers: [this.registry],
      collect() {
        this.set(probe.huntsActive());
      },
    });
    new Gauge({
      name: "cairn_outputs_unconfirmed",
      help: "Outputs sent and not yet confirmed stored by JetStream",
      registers: [this.registry],
      collect() {
        this.set(probe.unconfirmed().count);
      },
    });
    new Gauge({
      name: "cairn_outputs_unconfirmed_oldest_seconds",
      help: "How long the oldest unconfirmed output has waited",
      registers: [this.registry],
      collect() {
        this.set(probe.unconfirmed().oldestMs / 1000);
      },
    });
    new Gauge({
      // The standard name, so dashboards made for any process find it.
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes",
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: "cairn_native_index_bytes",
      help: "Bytes held by the rank indexes: every native index in the process, and the live hunts' JS ones",
      registers: [this.registry],
      collect() {
        this.set(probe.indexBytes());
      },
    });
    new Gauge({
      name: "cairn_event_loop_delay_seconds",
      help: "Event-loop delay since the last scrape, by quantile",
      labelNames: ["quantile"] as const,
      registers: [this.registry],
      collect() {
        const seconds = (ns: number) => (loopDelay.count === 0 ? 0 : ns / 1e9);
        this.set({ quantile: "0.5" }, seconds(loopDelay.percentile(50)));
        this.set({ quantile: "0.99" }, seconds(loopDelay.percentile(99)));
        this.set({ quantile: "1" }, seconds(loopDelay.max));
        loopDelay.reset();
      },
    });
    const period = 10;
    let expected = performance.now() + period;
    this.loopTimer = setInterval(() => {
      const now = performance.now();
      const lateNs = Math.max(1, Math.round((now - expected) * 1e6));
      this.loopDelay.record(lateNs);
      this.loopDelayWindow.record(lateNs);
      expected = now + period;
    }, period);
    this.loopTimer.unref();
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind =
          GC_KINDS[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? "other";
        this.gcPause.observe({ kind }, entry.duration / 1000);
        const w = this.gcWindow;
        w.count++;
        if (kind === "major") w.major++;
        w.totalMs += entry.duration;
        if (entry.duration > w.maxMs) w.maxMs = entry.duration;
      }
    });
    this.gcObserver.observe({ entryTypes: ["gc"] });
  }

  /** GC pauses since the previous call: count, major count, total and longest pause in ms. */
  takeGcWindow(): { count: number; major: number; totalMs: number; maxMs: number } {
    const w = this.gcWindow;
    this.gcWindow = { count: 0, major: 0, totalMs: 0, maxMs: 0 };
    return w;
  }

  /** Event-loop delay since the previous call: p99 and max, ms. */
  takeLoopDelayWindow(): { p99Ms: number; maxMs: number } {
    const h = this.loopDelayWindow;
    this.loopDelayWindow = createHistogram();
    return h.count === 0 ? { p99Ms: 0, maxMs: 0 } : { p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 };
  }

  /**
   * Serves /metrics and /healthz on 127.0.0.1 or `host`; `healthy` decides readiness. `other` may answer
   * the remaining paths (the viewer's pages) and returns false for those it does not serve.
   */
  async listen(
    port: number,
    healthy: () => { ok: boolean; detail: Record<string, unknown> },
    host = "0.0.0.0",
    other?: (req: IncomingMessage, res: ServerResponse) => boolean,
  ) {
    this.server = createServer((req, res) => {
      if (req.url === "/metrics") {
        this.registry.metrics().then(
          (body) => {
            res.writeHead(200, { "content-type": this.registry.contentType });
            res.end(body);
          },
          (err: Error) => {
            res.writeHead(500);
            res.end(err.message);
          },
        );
      } else if (req.url === "/healthz") {
        const h = healthy();
        res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: h.ok, ...h.detail }));
      } else if (!other?.(req, res)) {
        res.writeHead(404);
        res.end(`not found: try /metrics or /healthz${other ? " or / for the viewer" : ""}\n`);
      }
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address();
    return typeof addr === "object" && addr ? addr.port : port;
  }

  /** Stops observing and closes the HTTP endpoint. */
  async close(): Promise<void> {
    this.gcObserver.disconnect();
    clearInterval(this.loopTimer);
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
