// Connects to NATS with Cairn's defaults (fast, reconnecting forever) and checks the server is new enough.
import { readFileSync } from "node:fs";
import {
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
  connect as natsConnect,
  nkeyAuthenticator,
} from "@nats-io/transport-node";
import { isJetStreamUnavailable, NatsConnectError, ServerVersionError } from "./errors.ts";

/** The URL used when neither an option nor NATS_URL names one. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

/** The oldest server Cairn runs on: the JetStream consumers API needs 2.9.4. */
export const MIN_SERVER_VERSION = "2.9.4";

/** How to reach NATS. */
export interface ConnectOptions {
  /** Server URL(s); default NATS_URL, then nats://127.0.0.1:4222. */
  servers?: string | string[];
  /** Connection name shown by the server's monitoring. */
  name?: string;
  /**
   * Prefix of this connection's reply subjects (default NATS_INBOX_PREFIX, then `_INBOX`). Users of a shared
   * account may subscribe only to their own prefix (deploy/nats/permissions.conf), so they must connect with it.
   */
  inboxPrefix?: string;
  /** User for user/password auth. */
  user?: string;
  /** Password for user/password auth. */
  pass?: string;
  /** Token auth. */
  token?: string;
  /** Path of a .creds file (JWT + nkey seed). */
  credsFile?: string;
  /** Path of a file holding an nkey seed (SU...). */
  nkeySeedFile?: string;
  /** TLS files; any of them turns TLS on. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Reconnect attempts, -1 = forever (default). */
  maxReconnectAttempts?: number;
  /** Wait between reconnect attempts in ms (default 250). */
  reconnectTimeWaitMs?: number;
  /** Time-out of the first connection in ms (default 5000). */
  timeoutMs?: number;
  /** Skip the server version check (tests of old servers only). */
  skipVersionCheck?: boolean;
}

/** Parses "2.9.10" / "v2.10.0-beta" into comparable numbers. */
function parseVersion(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  if (!m) return [0, 0, 0];
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** True when version `a` >= `b`. */
export function versionAtLeast(a: string, b: string): boolean {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i]! !== y[i]!) return x[i]! > y[i]!;
  return true;
}

/** Builds nats.js options from ours (exported for tests). */
export function natsOptions(options: ConnectOptions = {}): NodeConnectionOptions {
  const servers = options.servers ?? process.env.NATS_URL ?? DEFAULT_NATS_URL;
  const opts: NodeConnectionOptions = {
    servers: typeof servers === "string" ? servers.split(",").map((s) => s.trim()) : servers,
    name: options.name ?? "cairn",
    noAsyncTraces: true, // measured: doubles acked publish throughput (NATS-NOTES)
    maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
    reconnectTimeWait: options.reconnectTimeWaitMs ?? 250,
    timeout: options.timeoutMs ?? 5000,
  };
  const inboxPrefix = options.inboxPrefix ?? process.env.NATS_INBOX_PREFIX;
  if (inboxPrefix) opts.inboxPrefix = inboxPrefix;
  if (options.user !== undefined) opts.user = options.user;
  if (options.pass !== undefined) opts.pass = options.pass;
  if (options.token !== undefined) opts.token = options.token;
  if (options.credsFile) opts.authenticator = credsAuthenticator(readFileSync(options.credsFile));
  else if (options.nkeySeedFile) {
    const seed = readFileSync(options.nkeySeedFile, "utf8").trim();
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  if (options.tls && (options.tls.caFile || options.tls.certFile || options.tls.keyFile)) {
    opts.tls = {};
    if (options.tls.caFile) opts.tls.caFile = options.tls.caFile;
    if (options.tls.certFile) opts.tls.certFile = options.tls.certFile;
    if (options.tls.keyFile) opts.tls.keyFile = options.tls.keyFile;
  }
  return opts;
}

/**
 * Connects to NATS (servers from options, NATS_URL, or nats://127.0.0.1:4222) and refuses servers older than
 * 2.9.4. Throws NatsConnectError (one clear line) when the server cannot be reached.
 */
export async function connect(options: ConnectOptions = {}): Promise<NatsConnection> {
  const opts = natsOptions(options);
  let nc: NatsConnection;
  try {
    nc = await natsConnect(opts);
  } catch (err) {
    const servers = Array.isArray(opts.servers) ? opts.servers.join(",") : String(opts.servers);
    throw new NatsConnectError(servers, (err as Error).message);
  }
  if (!options.skipVersionCheck) {
    const version = nc.info?.version ?? "0.0.0";
    if (!versionAtLeast(version, MIN_SERVER_VERSION)) {
      await nc.close().catch(() => {});
      throw new ServerVersionError(version, MIN_SERVER_VERSION);
    }
  }
  return nc;
}

/** Which server features Cairn may use on this connection's server. */
export interface ServerFeatures {
  /** Server version string. */
  version: string;
  /** JetStream is enabled on the server. */
  jetstream: boolean;
  /** js.consumers API, ordered/pull consumers with consume() (2.9.4). */
  consumersApi: boolean;
  /** Consumer `filter_subjects` arrays (2.10); on older servers pass one `filter_subject` string. */
  filterSubjects: boolean;
  /** Stream metadata, first_seq, subject transforms, compression (2.10). */
  streamMetadata: boolean;
  /** jetstream { sync_interval } server option (2.10). */
  syncInterval: boolean;
  /** Direct batch get (2.11). */
  directBatchGet: boolean;
  /** Per-message TTL and KV marker TTL (2.11; silently ignored before). */
  perMessageTtl: boolean;
  /** Consumer pause (2.11). */
  consumerPause: boolean;
  /** Atomic batch publish (2.12; older servers store a partial batch then fail). */
  atomicBatch: boolean;
}

/** Tells which 2.10+/2.11+/2.12+ features are usable; on 2.9 none of them are, so never send them. */
export function serverFeatures(nc: NatsConnection): ServerFeatures {
  const version = nc.info?.version ?? "0.0.0";
  const at = (v: string) => versionAtLeast(version, v);
  return {
    version,
    jetstream: nc.info?.jetstream === true,
    consumersApi: at("2.9.4"),
    filterSubjects: at("2.10.0"),
    streamMetadata: at("2.10.0"),
    syncInterval: at("2.10.0"),
    directBatchGet: at("2.11.0"),
    perMessageTtl: at("2.11.0"),
    consumerPause: at("2.11.0"),
    atomicBatch: at("2.12.0"),
  };
}

/** How long JetStream may keep refusing through one server before the client moves to another. */
const MOVE_AFTER_MS = 5_000;
/** Refusals further apart than this are not one outage. */
const REFUSAL_GAP_MS = 6_000;
const refusals = new WeakMap<NatsConnection, { first: number; last: number; moved: number }>();

/**
 * Notes a failed JetStream request. A cluster node just restarted can keep answering "not enabled"
 * or "temporarily unavailable" for tens of seconds while the other nodes serve; a client connected
 * to it then cannot renew a lease nor create a consumer. When refusals have gone on for
 * MOVE_AFTER_MS and the server named other servers of its cluster, the client reconnects (at most
 * once per MOVE_AFTER_MS), which moves it to the next server of its list, and says so to `logger`.
 * Returns whether it did.
 */
export function noteJetStreamFailure(
  nc: NatsConnection,
  err: unknown,
  logger?: { warn(obj: object, msg?: string): void },
  now = performance.now(),
): boolean {
  if (!isJetStreamUnavailable(err) || nc.isClosed()) return false;
  let r = refusals.get(nc);
  if (!r || now - r.last > REFUSAL_GAP_MS) {
    r = { first: now, last: now, moved: r?.moved ?? Number.NEGATIVE_INFINITY };
    refusals.set(nc, r);
  }
  r.last = now;
  if (now - r.first < MOVE_AFTER_MS || now - r.moved < MOVE_AFTER_MS) return false;
  if ((nc.info?.connect_urls?.length ?? 0) < 2) return false;
  r.moved = now;
  r.first = now;
  logger?.warn({ server: nc.getServer() }, "JetStream keeps refusing through this server; moving to another");
  nc.reconnect().catch(() => {});
  return true;
}
