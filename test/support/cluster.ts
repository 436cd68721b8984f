// A 3-node JetStream cluster for tests: deploy/nats/cluster/node-N.conf with free loopback ports and temp stores.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { JetStreamClient } from "@nats-io/jetstream";
import {
  type EmbeddedNats,
  type EmbeddedNatsOptions,
  freePort,
  startEmbeddedNats,
} from "../../streams/index.ts";
import { waitFor } from "./nats.ts";

/** The cluster configs the tests start (the same files as a local `deploy/nats/cluster/run.sh`). */
export const CLUSTER_CONFIG_DIR = resolve(import.meta.dirname, "../../deploy/nats/cluster");

/** One node of a test cluster. */
export interface ClusterNode {
  /** server_name from its config file (cairn-n1 ...). */
  name: string;
  /** nats://127.0.0.1:<port> */
  url: string;
  /** Monitoring port (/jsz, /varz). */
  httpPort: number;
  /** The nats-server process id. */
  pid: number;
  /** False once killed. */
  alive: boolean;
  /** kill -9 the server process (no graceful shutdown, no flush), and wait until it is gone. */
  kill(): Promise<void>;
  /** Starts a killed node again on the same ports with the same store. */
  restart(): Promise<void>;
}

/** A running test cluster. */
export interface TestCluster {
  nodes: ClusterNode[];
  /** Client URLs of every node, for connections that should survive losing one. */
  urls: string[];
  /** The node named `serverName`. */
  node(serverName: string): ClusterNode;
  /** Resolves once a live node reports a JetStream meta leader and every live node as current. */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  /** Stops every node (killed ones included) and deletes the stores. Safe to call twice, and after a failed start. */
  cleanup(): Promise<void>;
}

/** Distinct free loopback ports (freePort may hand back a port it just gave). */
async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** True while `pid` runs; a killed server stays a zombie until its watchdog reaps it on stop(), so read /proc. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/**
 * A copy of a shipped node config without its `store_dir` line: startEmbeddedNats always passes `-sd`, and
 * nats-server 2.9 refuses a store directory given both ways ("Duplicate 'store_dir' configuration").
 */
function withoutStoreDir(configFile: string, dir: string, extra = ""): string {
  const text = readFileSync(configFile, "utf8");
  const lines = text.split("\n");
  const storeLines = lines.filter((l) => /^\s*store_dir\s*:/.test(l));
  if (storeLines.length !== 1)
    throw new Error(`${configFile}: expected one store_dir line, found ${storeLines.length}`);
  const copy = join(dir, configFile.split("/").pop()!);
  writeFileSync(copy, `${lines.filter((l) => !/^\s*store_dir\s*:/.test(l)).join("\n")}\n${extra}`);
  return copy;
}

/**
 * Starts node-1..node-N.conf from deploy/nats/cluster with the ports and routes overridden on the command line
 * (nats-server flags win over the file) and the store in a temp directory, so the test runs the shipped
 * configs on ports that are free. `extraConfig` is appended to every node's copy (e.g. a `mappings` block).
 * On any start-up failure the nodes already started are stopped first.
 */
export async function startTestCluster(size = 3, extraConfig = ""): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), "cairn-test-cluster-"));
  const routePorts = await distinctPorts(size * 2);
  const clusterPorts = routePorts.slice(0, size);
  const httpPorts = routePorts.slice(size);
  const routes = clusterPorts.map((p) => `nats-route://127.0.0.1:${p}`).join(",");
  const servers: EmbeddedNats[] = [];
  const nodes: ClusterNode[] = [];
  let cleaned: Promise<void> | undefined;
  const cleanup = () => {
    cleaned ??= (async () => {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(root, { recursive: true, force: true });
    })();
    return cleaned;
  };

  const options = (i: number, port?: number): EmbeddedNatsOptions => ({
    configFile: withoutStoreDir(join(CLUSTER_CONFIG_DIR, `node-${i + 1}.conf`), root, extraConfig),
    storeDir: join(root, `n${i + 1}`),
    args: [
      "-m",
      String(httpPorts[i]),
      "--cluster",
      `nats://127.0.0.1:${clusterPorts[i]}`,
      "--routes",
      routes,
    ],
    ...(port === undefined ? {} : { port }),
  });
  const started = await Promise.allSettled(
    Array.from({ length: size }, (_, i) => startEmbeddedNats(options(i))),
  );
  for (const s of started) if (s.status === "fulfilled") servers.push(s.value);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await cleanup();
    throw failed.reason;
  }

  for (const [i, first] of servers.entries()) {
    let server = first;
    const node: ClusterNode = {
      name: `cairn-n${i + 1}`,
      url: server.url,
      httpPort: httpPorts[i]!,
      pid: server.pid,
      alive: true,
      async kill() {
        process.kill(server.pid, "SIGKILL");
        node.alive = false;
        await waitFor(() => !isRunning(server.pid), { timeoutMs: 5000, message: `${node.name} to die` });
        await server.stop(); // reaps it and ends its watchdog
      },
      async restart() {
        if (node.alive) throw new Error(`${node.name} is running`);
        server = await startEmbeddedNats(options(i, server.port));
        servers.push(server);
        node.pid = server.pid;
        node.alive = true;
      },
    };
    nodes.push(node);
  }

  return {
    nodes,
    urls: nodes.map((n) => n.url),
    node(serverName) {
      const n = nodes.find((x) => x.name === serverName);
      if (!n) throw new Error(`no node named ${serverName} (have ${nodes.map((x) => x.name).join(", ")})`);
      return n;
    },
    async waitForMetaLeader(timeoutMs = 20_000) {
      return waitFor(
        async () => {
          for (const n of nodes.filter((x) => x.alive)) {
            const jsz = (await fetch(`http://127.0.0.1:${n.httpPort}/jsz`)
              .then((res) => res.json())
              .catch(() => undefined)) as
              | { meta_cluster?: { leader?: string; replicas?: { name: string; current: boolean }[] } }
              | undefined;
            if (!jsz) continue; // this node's monitoring is not up yet: ask the next one
            const meta = jsz.meta_cluster;
            const peers = meta?.replicas ?? [];
            const liveNames = new Set(nodes.filter((x) => x.alive).map((x) => x.name));
            const livePeersCurrent = peers.filter((p) => liveNames.has(p.name) && p.current).length;
            // The leader is not listed among its own replicas.
            if (meta?.leader && livePeersCurrent >= liveNames.size - 1) return meta.leader;
          }
          return ""; // not yet
        },
        { timeoutMs, intervalMs: 100, message: "a JetStream meta leader with every live node current" },
      );
    },
    cleanup,
  };
}

/**
 * Publishes with a msgID until acked or `deadlineMs` passes: while the stream elects a new leader the server
 * answers "no responders" (nats.js: "jetstream is not enabled") or times out, and a retry after a lost ack
 * is dropped by the duplicate window, so retrying never stores an event twice.
 */
export async function publishAcked(
  js: JetStreamClient,
  subject: string,
  id: string,
  body: unknown,
  deadlineMs = 30_000,
): Promise<{ seq: number; retries: number }> {
  const deadline = Date.now() + deadlineMs;
  for (let retries = 0; ; retries++) {
    try {
      const ack = await js.publish(subject, JSON.stringify(body), { msgID: id, timeout: 2000 });
      return { seq: ack.seq, retries };
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`publish of ${id} was never acked: ${(err as Error).message}`);
      await new Promise((res) => setTimeout(res, 100)); // back-off between retries, not a synchronisation
    }
  }
}
