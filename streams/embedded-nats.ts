// Starts a private `nats-server -js` on a free loopback port, under a watchdog so it never outlives its parent.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { delimiter, join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { NatsServerNotFoundError, NatsServerStartError } from "./errors.ts";

/** How to start the embedded server. */
export interface EmbeddedNatsOptions {
  /** JetStream store directory (created); default `.cairn/nats` under the current directory. */
  storeDir?: string;
  /** Client port; default a free loopback port. */
  port?: number;
  /** A nats-server config file passed with `-c`. */
  configFile?: string;
  /** Extra nats-server arguments. */
  args?: string[];
  /** Receives each line the server logs (default: kept, shown only if start-up fails). */
  log?: (line: string) => void;
  /** How long to wait for "Server is ready", ms (default 15000). */
  readyTimeoutMs?: number;
  /**
   * Also open a loopback WebSocket listener for browser viewers (port 0 or unset: a free one). Connections
   * without credentials over TCP keep every right, as without this option; over WebSocket they are the
   * read-only `viewer` of deploy/nats/permissions.conf. Not with `configFile`.
   */
  viewers?: { port?: number };
}

/** A running embedded server. */
export interface EmbeddedNats {
  /** nats://127.0.0.1:<port> */
  url: string;
  /** Client port. */
  port: number;
  /** JetStream store directory. */
  storeDir: string;
  /** The nats-server process id. */
  pid: number;
  /** ws://127.0.0.1:<port> of the viewers' WebSocket listener, when `viewers` was asked for. */
  wsUrl?: string;
  /** Stops it: SIGTERM, then SIGKILL after a deadline. Safe to call twice. */
  stop(): Promise<void>;
}

/** The store directory `cairn serve` uses when it starts its own server. */
export function defaultStoreDir(cwd: string = process.cwd()): string {
  return join(cwd, ".cairn", "nats");
}

/** Finds the nats-server binary: NATS_SERVER_BIN, then PATH, then /usr/sbin and /usr/local/bin. */
export function findNatsServer(
  env: NodeJS.ProcessEnv = process.env,
  fallbackDirs: string[] = ["/usr/sbin", "/usr/local/bin"],
): string {
  const candidates: string[] = [];
  if (env.NATS_SERVER_BIN) candidates.push(env.NATS_SERVER_BIN);
  for (const dir of (env.PATH ?? "").split(delimiter)) if (dir) candidates.push(join(dir, "nats-server"));
  for (const dir of fallbackDirs) candidates.push(join(dir, "nats-server"));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  throw new NatsServerNotFoundError(["NATS_SERVER_BIN", "PATH", ...fallbackDirs]);
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

// The watchdog: a tiny sh that starts the server, prints its pid, then blocks reading its stdin (a pipe from
// this process). When the pipe closes, because we called stop() or because this process died (even by
// kill -9), it sends SIGTERM, waits, and sends SIGKILL after 5 s. `read` is a builtin: no extra process.
// The server logs on fd 3, which sh closes for itself, so EOF on fd 3 means the server has exited.
const WATCHDOG = [
  // A hang-up or Ctrl-C reaches the whole process group: the watchdog must outlive it to stop the
  // server (which takes SIGHUP as "reload config" and would otherwise be left behind).
  "trap '' HUP INT",
  "exec 4>&3 3>&-",
  '"$0" "$@" </dev/null >&4 2>&4 4>&- &',
  "child=$!",
  "exec 4>&-",
  'echo "$child"',
  "while read -r _; do :; done",
  'kill -TERM "$child" 2>/dev/null',
  '( sleep 5; kill -KILL "$child" 2>/dev/null ) </dev/null >/dev/null 2>&1 &',
  "timer=$!",
  'wait "$child"',
  'kill "$timer" 2>/dev/null',
  "exit 0",
].join("\n");

/** Starts `nats-server -js -a 127.0.0.1 -p <port> -sd <storeDir>` and resolves once it is ready. */
export async function startEmbeddedNats(options: EmbeddedNatsOptions = {}): Promise<EmbeddedNats> {
  const bin = findNatsServer();
  const storeDir = resolve(options.storeDir ?? defaultStoreDir());
  mkdirSync(storeDir, { recursive: true });
  const explicitPort = options.port !== undefined;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    let opts = options;
    let wsUrl: string | undefined;
    if (options.viewers) {
      if (options.configFile)
        throw new Error("startEmbeddedNats: `viewers` cannot be combined with `configFile`");
      const wsPort = options.viewers.port || (await freePort());
      wsUrl = `ws://127.0.0.1:${wsPort}`;
      opts = { ...options, configFile: writeViewersConfig(storeDir, wsPort) };
    }
    try {
      const server = await startOnce(bin, port, storeDir, opts);
      return wsUrl ? { ...server, wsUrl } : server;
    } catch (err) {
      // Another process may grab the free port between our probe and the server's bind: try another one.
      if (!explicitPort && attempt < 3 && /address already in use/i.test((err as Error).message)) continue;
      throw err;
    }
  }
}

async function startOnce(
  bin: string,
  port: number,
  storeDir: string,
  options: EmbeddedNatsOptions,
): Promise<EmbeddedNats> {
  const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir];
  if (options.configFile) args.push("-c", options.configFile);
  if (options.args) args.push(...options.args);
  const child: ChildProcess = spawn("sh", ["-c", WATCHDOG, bin, ...args], {
    stdio: ["pipe", "pipe", "inherit", "pipe"],
  });
  const stdin = child.stdin as Writable;
  stdin.on("error", () => {}); // EPIPE when the watchdog is already gone
  const pidOut = child.stdout as Readable;
  const logs = child.stdio[3] as Readable;
  const recent: string[] = [];
  let serverExited = false;
  let ready = false;
  let pid = 0;

  const exited = new Promise<void>((res) => {
    logs.on("close", () => {
      serverExited = true;
      res();
    });
  });
  const watchdogExited = new Promise<void>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    else child.once("exit", () => res());
  });

  let readyResolve!: () => void;
  const readyLine = new Promise<void>((res) => {
    readyResolve = res;
  });
  let buf = "";
  logs.setEncoding("utf8");
  logs.on("data", (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      recent.push(line);
      if (recent.length > 40) recent.shift();
      options.log?.(line);
      if (line.includes("Server is ready")) readyResolve();
      nl = buf.indexOf("\n");
    }
  });
  const pidLine = new Promise<number>((res) => {
    let s = "";
    pidOut.setEncoding("utf8");
    pidOut.on("data", (c: string) => {
      s += c;
      const m = /^(\d+)\n/.exec(s);
      if (m) res(Number(m[1]));
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stdin.end(); // the watchdog sends SIGTERM, then SIGKILL after 5 s
      const deadline = new Promise<"late">((res) => setTimeout(() => res("late"), 8000).unref());
      if ((await Promise.race([Promise.all([exited, watchdogExited]), deadline])) === "late") {
        if (pid) killQuietly(pid, "SIGKILL");
        child.kill("SIGKILL");
        await Promise.race([exited, new Promise((res) => setTimeout(res, 1000).unref())]);
      }
    })();
    return stopping;
  };

  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  pid = await Promise.race([pidLine, exited.then(() => 0)]);
  // Ready when the server says so, or (when a config file sends logs elsewhere) when the port accepts.
  const tcpReady = (async () => {
    while (!ready && !serverExited && Date.now() < deadline) {
      if (options.configFile && (await canConnect(port))) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    if (!ready) await new Promise(() => {}); // never: the other branches decide
  })();
  const timer = new Promise<"timeout">((res) => setTimeout(() => res("timeout"), timeoutMs).unref());
  const outcome = await Promise.race([
    readyLine.then(() => "ready" as const),
    tcpReady.then(() => "ready" as const),
    exited.then(() => "exited" as const),
    timer,
  ]);
  if (outcome !== "ready") {
    await stop();
    const tail = recent.slice(-8).join("\n");
    throw new NatsServerStartError(
      outcome === "exited"
        ? `nats-server exited during start-up on port ${port}:\n${tail}`
        : `nats-server was not ready after ${timeoutMs} ms on port ${port}:\n${tail}`,
    );
  }
  ready = true;
  // Keep draining the logs so the server never blocks on a full pipe.
  return { url: `nats://127.0.0.1:${port}`, port, storeDir, pid, stop };
}

/**
 * The dev server's config for viewers, written next to its store: one account, as without a config, so an
 * existing store keeps its streams. A client with no credentials is `cairn-local` over TCP (every right, as
 * before: the listener is loopback only) and `viewer` over WebSocket, with the viewer's grants of
 * deploy/nats/permissions.conf. `cairn-local` has a random password nobody is told and takes no WebSocket
 * connections, so a browser cannot become it. Unlike the shipped accounts layout, viewers share the account
 * with the engine; the engine answers only inbox reply subjects, and a viewer may subscribe only to its own
 * `_INBOX.viewer.>`, so it can neither aim answers at the log nor read anyone else's.
 */
function writeViewersConfig(storeDir: string, wsPort: number): string {
  const file = join(storeDir, "viewers.conf");
  const password = randomBytes(18).toString("base64url");
  writeFileSync(
    file,
    [
      "# Written by cairn for its embedded server (streams/embedded-nats.ts); rewritten at every start.",
      "authorization {",
      "  users = [",
      `    { user: "cairn-local", password: "${password}", allowed_connection_types: ["STANDARD"] }`,
      '    { user: "viewer", password: "", allowed_connection_types: ["WEBSOCKET"],',
      '      permissions: { publish: { allow: ["hunt.*.public.*"] },',
      '                     subscribe: { allow: ["hunt.*.top", "hunt.*.teams.top", "_INBOX.viewer.>"] } } }',
      "  ]",
      "}",
      'no_auth_user: "cairn-local"',
      `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true, no_auth_user: "viewer" }`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return file;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {}
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = new Socket();
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => {
      s.destroy();
      res(false);
    });
    s.connect(port, "127.0.0.1");
  });
}
