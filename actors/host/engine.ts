// Assembles one engine process: NATS (given or embedded), streams, the actor host, metrics, and a
// graceful stop. `cairn serve`, the demo and the integration tests all start the engine here.
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  type ConnectOptions,
  connect,
  type EmbeddedNats,
  ensureStreams,
  type StreamSetupOptions,
  startEmbeddedNats,
} from "../../streams/index.ts";
import { DEFAULT_TOP_N } from "../hunt/index.ts";
import { ActorHost, type HostOptions } from "./host.ts";
import { EngineMetrics } from "./metrics.ts";
import { viewerRoutes } from "./viewer-http.ts";

/** Everything `startEngine` needs; NATS is embedded when no server is named. */
export interface EngineConfig extends Omit<HostOptions, "logger" | "metrics"> {
  /** NATS connection options; when `servers` is unset (and NATS_URL too), an embedded server is started. */
  nats?: ConnectOptions;
  /** Store directory of the embedded server. */
  storeDir?: string;
  /** Stream settings (replicas, retention). */
  streams?: StreamSetupOptions;
  /** Port of /metrics and /healthz; null turns the endpoint off. Default 9464. */
  metricsPort?: number | null;
  /** Lag above which /healthz reports not ready. Default 10,000 messages. */
  readyLag?: number;
  /**
   * The NATS WebSocket URL that the viewer pages on the HTTP port connect to; default the embedded
   * server's own loopback listener. With neither, the HTTP port serves no viewer.
   */
  viewerWsUrl?: string;
  logger: Logger;
}

/** A running engine. */
export interface Engine {
  host: ActorHost;
  nc: NatsConnection;
  metrics: EngineMetrics;
  /** The embedded server, when one was started. */
  embedded: EmbeddedNats | undefined;
  /** The URL of the NATS server in use. */
  url: string;
  /** The port /metrics listens on, when it does. */
  metricsPort: number | undefined;
  /** The viewer's index page (http://127.0.0.1:<port>/), when the HTTP port serves one. */
  viewerUrl: string | undefined;
  /** Graceful stop: finish the batch in hand, ack, snapshot, close, stop the embedded server. */
  stop(): Promise<void>;
}

/** The engine could not start; `hint` says what to do. */
export class EngineStartError extends Error {
  constructor(
    /** Stable error code. */
    readonly code: string,
    message: string,
    /** One line telling the user what to do. */
    readonly hint: string,
  ) {
    super(message);
    this.name = "EngineStartError";
  }
}

/**
 * Starts an engine and resolves once it is consuming. The HTTP port is taken first, so a port in use
 * fails the start before anything else runs; whatever fails later stops what had started.
 */
export async function startEngine(config: EngineConfig): Promise<Engine> {
  const { logger } = config;
  let host: ActorHost | undefined;
  let conn: NatsConnection | undefined;
  const metrics = new EngineMetrics({
    connected: () => conn !== undefined && !conn.isClosed(),
    lag: () => host?.lag ?? 0,
    huntsActive: () => host?.huntsActive ?? 0,
    indexBytes: () => host?.indexStats().bytes ?? 0,
    unconfirmed: () => host?.unconfirmedOutputs ?? { count: 0, oldestMs: 0 },
  });
  let metricsPort: number | undefined;
  // The viewer is known once NATS is (its WebSocket URL may be the embedded server's); until then its paths are 404.
  let viewer: ReturnType<typeof viewerRoutes> | undefined;
  const readyLag = config.readyLag ?? 10_000;
  if (config.metricsPort !== null) {
    const port = config.metricsPort ?? 9464;
    try {
      metricsPort = await metrics.listen(
        port,
        () => health(conn, host, readyLag),
        undefined,
        (req, res) => viewer?.(req, res) ?? false,
      );
    } catch (err) {
      await metrics.close();
      const inUse = (err as NodeJS.ErrnoException).code === "EADDRINUSE";
      throw new EngineStartError(
        inUse ? "port_in_use" : "http_listen_failed",
        inUse
          ? `the metrics port ${port} is already in use`
          : `cannot serve /metrics on port ${port}: ${(err as Error).message}`,
        "pass --metrics-port with a free port (0 picks one), or --metrics-port off",
      );
    }
    logger.info({ port: metricsPort }, "serving /metrics and /healthz");
  }
  const servers = config.nats?.servers ?? process.env.NATS_URL;
  let embedded: EmbeddedNats | undefined;
  try {
    if (!servers) {
      embedded = await startEmbeddedNats({ storeDir: config.storeDir, viewers: {} });
      logger.info(
        { url: embedded.url, wsUrl: embedded.wsUrl, storeDir: embedded.storeDir, pid: embedded.pid },
        "embedded nats-server started",
      );
    }
    const url = embedded?.url ?? (Array.isArray(servers) ? servers.join(",") : (servers as string));
    const nc = await connect({ name: "cairn-engine", ...config.nats, servers: url });
    conn = nc;
    const jsm = await jetstreamManager(nc);
    const setup = await ensureStreams(jsm, config.streams);
    logger.info({ server: nc.info?.version, ...setup }, "streams ready");
    host = new ActorHost(nc, {
      ...config,
      replicas: config.streams?.replicas,
      inboxPrefix: config.nats?.inboxPrefix ?? process.env.NATS_INBOX_PREFIX,
      logger,
      metrics,
    });
    await host.start();
    const wsUrl = config.viewerWsUrl ?? embedded?.wsUrl;
    const liveHost = host;
    let viewerUrl: string | undefined;
    if (metricsPort !== undefined && wsUrl) {
      viewer = viewerRoutes({
        wsUrl,
        topN: config.topN ?? DEFAULT_TOP_N,
        hunts: () => liveHost.publicHunts(),
      });
      viewerUrl = `http://127.0.0.1:${metricsPort}/`;
      logger.info({ page: viewerUrl, wsUrl }, "serving the viewer");
    }
    let stopped: Promise<void> | undefined;
    const engineHost = host;
    return {
      host,
      nc,
      metrics,
      embedded,
      url,
      metricsPort,
      viewerUrl,
      stop() {
        stopped ??= (async () => {
          await engineHost.stop();
          await metrics.close();
          // A drain waits for the server; with NATS gone, close instead of waiting for it.
          await Promise.race([
            nc.drain().catch(() => {}),
            new Promise((resolve) => setTimeout(resolve, 2000).unref()),
          ]);
          if (!nc.isClosed()) await nc.close().catch(() => {});
          await embedded?.stop();
          logger.info("engine stopped");
        })();
        return stopped;
      },
    };
  } catch (err) {
    await host?.stop(2_000).catch(() => {});
    await conn?.close().catch(() => {});
    await metrics.close();
    await embedded?.stop();
    throw err;
  }
}

/** Ready when connected, caught up within `readyLag`, and making progress (see ActorHost.health). */
function health(conn: NatsConnection | undefined, host: ActorHost | undefined, readyLag: number) {
  const connected = conn !== undefined && !conn.isClosed() && host !== undefined;
  const lag = host?.lag ?? 0;
  const progress = host?.health() ?? { ok: false, problems: ["starting"] };
  const problems = [...progress.problems];
  if (!connected) problems.push("not connected to NATS");
  if (lag > readyLag) problems.push(`${lag} events behind (more than ${readyLag})`);
  return {
    ok: problems.length === 0,
    detail: { connected, lag, hunts: host?.huntsActive ?? 0, problems },
  };
}
