// Runs `cairn serve` as a child process with an IPC channel: the demo, the benchmarks and the fault
// tests use it to keep the engine out of their own process (and to kill it). Also how an engine
// process sets up its node: its flags, and the heap tuning it applies when it starts.
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";

const CLI = join(fileURLToPath(new URL(".", import.meta.url)), "cairn.js");

/**
 * Node flags of every engine process: 32 MB semi-spaces, so that young garbage (decoded events,
 * output strings) dies in fewer, shorter scavenges (half the GC pauses of the default at 20k/s).
 */
export const ENGINE_NODE_ARGS = ["--max-semi-space-size=32"];

/**
 * How far V8's old generation may grow past what is live before its next full collection, in
 * percent: 100 lets it double, where V8 lets a busy process grow it up to fourfold. With 10,000 small
 * hunts live (77 MB of live heap) that room was most of the engine's RSS. It costs 2.5-3 times as
 * many full collections, each a few milliseconds, mostly marked incrementally ("Benchmarks").
 */
export const HEAP_GROWING_PERCENT = 100;

/**
 * Sets HEAP_GROWING_PERCENT in this process, as every engine process does when it starts (`cairn
 * serve`, the benchmarks' peer engines), unless node was started with `--heap-growing-percent` of its
 * own (NODE_OPTIONS cannot carry it). V8 reads it at every full collection, so setting it at start-up
 * takes effect.
 */
export function tuneEngineHeap(): void {
  if (process.execArgv.some(isHeapGrowingArg)) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** Whether a node argument is `--heap-growing-percent=N` (V8 also takes it with underscores). */
function isHeapGrowingArg(arg: string): boolean {
  return arg.replaceAll("_", "-").startsWith("--heap-growing-percent");
}

/**
 * Node arguments an engine process takes from the process that starts it, beside ENGINE_NODE_ARGS:
 * a heap growth it was given, and CAIRN_ENGINE_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 * to profile every engine started (the benchmarks' peer engines included, so that a ceiling runs as
 * its engine does), or "--trace-gc-nvp" to see each collection (the engines' stdout then shows).
 */
export function inheritedEngineArgs(): string[] {
  return [
    ...process.execArgv.filter(isHeapGrowingArg),
    ...(process.env.CAIRN_ENGINE_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
  ];
}

/** Live figures the engine process reports over IPC every 250 ms. */
export interface EngineStats {
  applied: number;
  appliedDelta: number;
  lag: number;
  rss: number;
  gc: { count: number; major: number; totalMs: number; maxMs: number };
  /** Event-loop delay over the last 250 ms. */
  loopDelay: { p99Ms: number; maxMs: number };
  /** Allocations made by the rank indexes so far (every native one in the process). */
  indexAllocations: number;
  /** Bytes the rank indexes hold now (native memory: every native index in the process). */
  indexBytes?: number;
  /** V8 heap in use (live objects and garbage not yet collected). */
  heapUsed?: number;
  /**
   * Bytes of memory V8's young generation (new space) holds: it grows under load up to what
   * `--max-semi-space-size` allows, as large with one hunt as with thousands.
   */
  youngGeneration?: number;
}

/** A `cairn serve` child process. */
export interface EngineProcess {
  child: ChildProcess;
  /** The NATS URL it uses (its embedded server's when started without one). */
  url: string;
  /** Its viewer's index page, when its HTTP port serves one. */
  viewerUrl?: string;
  /** The last lines it wrote to stderr. */
  stderr: string[];
  /** SIGTERM (graceful), then SIGKILL after 15 s. */
  stop(): Promise<void>;
  /** SIGKILL at once; resolves when it has exited. */
  kill(): Promise<void>;
}

/**
 * Starts `cairn serve --nats url ...args` (with an embedded server when `url` is undefined) and
 * resolves once it consumes (its `engine-ready` message). `nodeArgs` go to this engine's node alone
 * (e.g. `--cpu-prof`).
 */
export function startEngineProcess(
  url: string | undefined,
  args: string[] = [],
  options: { nodeArgs?: string[] } = {},
): Promise<EngineProcess> {
  const natsArgs = url === undefined ? [] : ["--nats", url];
  return forkEngine(CLI, ["serve", ...natsArgs, "--metrics-port", "off", "--log-level", "warn", ...args], {
    execArgv: [
      ...process.execArgv.filter((a) => !a.startsWith("--max-semi-space-size") && !isHeapGrowingArg(a)),
      ...ENGINE_NODE_ARGS,
      ...inheritedEngineArgs(),
      ...(options.nodeArgs ?? []),
    ],
    fallbackUrl: url,
  });
}

/**
 * Forks a module that speaks the engine's IPC protocol (`engine-ready`, then `engine-stats`) and
 * resolves once it is ready. `cairn serve` is one; the benchmarks' no-op engine is another.
 */
export async function forkEngine(
  modulePath: string,
  args: string[],
  options: { execArgv: string[]; cwd?: string; fallbackUrl?: string; label?: string },
): Promise<EngineProcess> {
  const label = options.label ?? "the engine";
  const stderr: string[] = [];
  const child = fork(modulePath, args, {
    // An engine's stdout is shown only when it was given node flags of its own (CAIRN_ENGINE_NODE_ARGS),
    // so that V8's tracing flags (`--trace-gc`, `--trace-gc-nvp`) print.
    stdio: ["ignore", process.env.CAIRN_ENGINE_NODE_ARGS ? "inherit" : "ignore", "pipe", "ipc"],
    execArgv: options.execArgv,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr.push(...chunk.split("\n").filter(Boolean));
    if (stderr.length > 100) stderr.splice(0, stderr.length - 100);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const done = () => child.exitCode !== null || child.signalCode !== null;
  let viewerUrl: string | undefined;
  const readyUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label} did not start within 30 s: ${stderr.slice(-5).join(" | ")}`)),
      30_000,
    );
    child.on("message", (m: { type?: string; url?: string; viewerUrl?: string }) => {
      if (m.type === "engine-ready") {
        clearTimeout(timer);
        viewerUrl = m.viewerUrl;
        resolve(m.url ?? options.fallbackUrl ?? "");
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with code ${code}: ${stderr.slice(-5).join(" | ")}`));
    });
  });
  return {
    child,
    url: readyUrl,
    viewerUrl,
    stderr,
    async stop() {
      if (done()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!done()) child.kill("SIGKILL");
      await exited;
    },
  };
}
