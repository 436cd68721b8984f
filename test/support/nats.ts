// Test helpers: a private nats-server per suite (temp store, free port) and a deadline-bound waitFor.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll } from "vitest";
import {
  type Competitor,
  type Engine,
  type EngineConfig,
  type FoldInput,
  LedgerFold,
  startEngine,
} from "../../actors/index.ts";
import { JsRankIndex } from "../../native/index.ts";
import type { LedgerEntry } from "../../schemas/index.ts";
import {
  connect,
  type EmbeddedNats,
  EventLog,
  ensureStreams,
  freePort,
  partitionMappingConfig,
  queryHunt,
  startEmbeddedNats,
} from "../../streams/index.ts";

/** A suite's own nats-server. */
export interface TestNats extends EmbeddedNats {
  /** Stops the server and deletes its store directory. */
  cleanup(): Promise<void>;
}

/** Starts `nats-server -js` on a free port with a fresh temp store; call cleanup() in afterAll. */
export async function startTestNats(options: { args?: string[]; storeDir?: string } = {}): Promise<TestNats> {
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), "cairn-test-nats-"));
  const opts: Parameters<typeof startEmbeddedNats>[0] = { storeDir };
  if (options.args) opts.args = options.args;
  const server = await startEmbeddedNats(opts);
  return {
    ...server,
    async cleanup() {
      await server.stop();
      if (!options.storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `nats-server -js` with the server mapping of `partitions` partitions (what `cairn serve
 * --partitions` needs), the streams, and a client; call cleanup() in afterAll.
 */
export async function startPartitionedNats(
  partitions: number,
): Promise<{ nats: TestNats; client: TestClient; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "cairn-partitioned-"));
  const configFile = join(dir, "nats.conf");
  writeFileSync(configFile, partitionMappingConfig(partitions));
  const server = await startEmbeddedNats({ storeDir: join(dir, "store"), configFile });
  const nats: TestNats = {
    ...server,
    async cleanup() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const client = await connectTest(nats.url).catch(async (err: unknown) => {
    await nats.cleanup();
    throw err;
  });
  await ensureStreams(client.jsm).catch(async (err: unknown) => {
    await client.nc.close();
    await nats.cleanup();
    throw err;
  });
  return {
    nats,
    client,
    async cleanup() {
      await client.nc.close().catch(() => {});
      await nats.cleanup();
    },
  };
}

/** The example credentials and inbox prefixes written in deploy/nats/accounts.conf. */
export const ACCOUNTS_USERS = {
  ENGINE: { user: "cairn-engine", pass: "engine-example-password" },
  OPERATOR: { user: "cairn-operator", pass: "operator-example-password" },
  PUBLISHER: {
    user: "cairn-publisher",
    pass: "publisher-example-password",
    inboxPrefix: "_INBOX.cairn-publisher",
  },
  SUBSCRIBER: {
    user: "cairn-subscriber",
    pass: "subscriber-example-password",
    inboxPrefix: "_INBOX.cairn-subscriber",
  },
};

const ACCOUNTS_FILE = resolve(import.meta.dirname, "../../deploy/nats/accounts.conf");

/**
 * A nats-server running deploy/nats/accounts.conf (store and config under `dir`), with the viewers'
 * WebSocket listener moved to a free port.
 */
export async function startAccountsLayout(dir: string): Promise<{ server: EmbeddedNats; wsUrl: string }> {
  // nats-server 2.9 joins an include path onto the including file's directory, so it must be relative.
  // The shipped WebSocket block listens on a fixed port; this later block replaces it with a free one.
  const wsPort = await freePort();
  const config = join(dir, "server.conf");
  writeFileSync(
    config,
    `include "${relative(dir, ACCOUNTS_FILE)}"\n` +
      `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true, no_auth_user: "viewer" }\n`,
  );
  const server = await startEmbeddedNats({ storeDir: join(dir, "store"), configFile: config });
  return { server, wsUrl: `ws://127.0.0.1:${wsPort}` };
}

/** A connection plus JetStream handles to a test server. */
export interface TestClient {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** A nats-server, an engine and a client of one suite; filled in before its tests run. */
export interface EngineSuite {
  nats: TestNats;
  engine: Engine;
  client: TestClient;
}

/**
 * Starts a fresh nats-server, an engine on it (no metrics port, silent) and a client before a suite's
 * tests, then `ready` (to publish a hunt, say), and stops them all after the suite.
 */
export function engineSuite(
  options: Partial<EngineConfig> = {},
  ready?: (suite: EngineSuite) => Promise<void>,
): EngineSuite {
  const suite = {} as EngineSuite;
  beforeAll(async () => {
    suite.nats = await startTestNats();
    suite.engine = await startEngine({
      nats: { servers: suite.nats.url },
      metricsPort: null,
      logger: pino({ level: "silent" }),
      ...options,
    });
    suite.client = await connectTest(suite.nats.url);
    await ready?.(suite);
  });
  afterAll(async () => {
    await suite.client?.nc.close();
    await suite.engine?.stop();
    await suite.nats?.cleanup();
  });
  return suite;
}

/**
 * Publishes events (CloudEvent objects) to a hunt in order, each with its id as `Nats-Msg-Id`, 200
 * acks awaited at a time (one connection sends them in order, so they are stored in order).
 */
export async function publishEvents(
  client: TestClient,
  huntId: string,
  events: readonly Record<string, unknown>[],
): Promise<void> {
  for (let i = 0; i < events.length; i += 200) {
    await Promise.all(
      events
        .slice(i, i + 200)
        .map((e) => client.js.publish(`hunt.${huntId}.events`, JSON.stringify(e), { msgID: e.id as string })),
    );
  }
}

/** A competitor's whole ledger, folded by the ledger module from the hunt's log as stored. */
export async function storedLedger(
  client: TestClient,
  huntId: string,
  competitor: Competitor,
): Promise<LedgerEntry[]> {
  const fold = new LedgerFold(huntId, new JsRankIndex(), competitor);
  const entries: LedgerEntry[] = [];
  for await (const batch of new EventLog(client.js, client.jsm).readBatches(huntId, 1)) {
    fold.feed(batch, (_input, entry) => {
      if (entry) entries.push(entry);
    });
  }
  return entries;
}

/** Connects to a test server (fast reconnects so restart tests stay quick). */
export async function connectTest(url: string): Promise<TestClient> {
  const nc = await connect({ servers: url, name: "cairn-test", reconnectTimeWaitMs: 100 });
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

/** True while a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `cond` until it is truthy or the deadline passes (then throws `message`); never a blind sleep. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  {
    timeoutMs = 10_000,
    intervalMs = 20,
    message = "condition",
  }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${message}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`,
      );
    }
    await new Promise((res) => setTimeout(res, intervalMs));
  }
}

/** A CloudEvent for tests. */
export function cloudEvent(
  id: string,
  type: string,
  data?: Record<string, unknown>,
): Record<string, unknown> {
  const e: Record<string, unknown> = { specversion: "1.0", id, source: "test", type };
  if (data !== undefined) e.data = data;
  return e;
}

/**
 * Publishes a hunt's log messages (seq 1.. on a fresh server), checking each lands at its seq, and
 * waits until the engine has handled them all.
 */
export async function publishHunt(client: TestClient, huntId: string, msgs: FoldInput[]): Promise<void> {
  for (const msg of msgs) {
    const ack = await client.js.publish(`hunt.${huntId}.events`, msg.data, { msgID: msg.msgId! });
    if (ack.seq !== msg.seq) throw new Error(`event stored at seq ${ack.seq}, expected ${msg.seq}`);
  }
  await waitFor(
    async () => (await queryHunt<{ seq: number }>(client.nc, huntId, "state")).seq >= msgs.length,
    { timeoutMs: 30_000, message: "the engine to handle every event" },
  );
}
