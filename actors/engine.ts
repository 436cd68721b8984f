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
} from "../streams/index.ts";
import { ActorHost, type HostOptions } from "./actor-host.ts";
import { EngineMetrics } from "./engine-metrics.ts";

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
  /** Graceful stop: finish the batch in hand, ack, snapshot, close, stop the embedded server. */
  stop(): Promise<void>;
}

/** Starts an engine and resolves once it is consuming. */
export async function startEngine(config: EngineConfig): Promise<Engine> {
  const { logger } = config;
  const servers = config.nats?.servers ?? process.env.NATS_URL;
  let embedded: EmbeddedNats | undefined;
  if (!servers) {
    embedded = await startEmbeddedNats({ storeDir: config.storeDir });
    logger.info(
      { url: embedded.url, storeDir: embedded.storeDir, pid: embedded.pid },
      "embedded nats-server started",
    );
  }
  const url = embedded?.url ?? (Array.isArray(servers) ? servers.join(",") : (servers as string));
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ name: "cairn-engine", ...config.nats, servers: url });
    const jsm = await jetstreamManager(nc);
    const setup = await ensureStreams(jsm, config.streams);
    logger.info({ server: nc.info?.version, ...setup }, "streams ready");

    let host: ActorHost | undefined;
    const conn = nc;
    const metrics = new EngineMetrics({
      connected: () => !conn.isClosed(),
      lag: () => host?.lag ?? 0,
      huntsActive: () => host?.huntsActive ?? 0,
      indexBytes: () => host?.indexBytes() ?? 0,
    });
    host = new ActorHost(nc, { ...config, replicas: config.streams?.replicas, logger, metrics });
    await host.start();

    let metricsPort: number | undefined;
    if (config.metricsPort !== null) {
      const readyLag = config.readyLag ?? 10_000;
      const h = host;
      metricsPort = await metrics.listen(config.metricsPort ?? 9464, () => {
        const connected = !conn.isClosed() && conn.info !== undefined;
        return {
          ok: connected && h.lag <= readyLag,
          detail: { connected, lag: h.lag, hunts: h.huntsActive },
        };
      });
      logger.info({ port: metricsPort }, "serving /metrics and /healthz");
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
      stop() {
        stopped ??= (async () => {
          await engineHost.stop();
          await metrics.close();
          await conn.drain().catch(() => {});
          await embedded?.stop();
          logger.info("engine stopped");
        })();
        return stopped;
      },
    };
  } catch (err) {
    await nc?.close().catch(() => {});
    await embedded?.stop();
    throw err;
  }
}
