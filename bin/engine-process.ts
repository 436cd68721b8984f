// Runs `cairn serve` as a child process with an IPC channel: the demo, the benchmarks and the fault
// tests use it to keep the engine out of their own process (and to kill it).
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = join(fileURLToPath(new URL(".", import.meta.url)), "cairn.js");

/** Live figures the engine process reports over IPC every 250 ms. */
export interface EngineStats {
  applied: number;
  appliedDelta: number;
  lag: number;
  rss: number;
  gc: { count: number; major: number; totalMs: number; maxMs: number };
}

/** A `cairn serve` child process. */
export interface EngineProcess {
  child: ChildProcess;
  /** The last lines it wrote to stderr. */
  stderr: string[];
  /** SIGTERM (graceful), then SIGKILL after 15 s. */
  stop(): Promise<void>;
  /** SIGKILL at once; resolves when it has exited. */
  kill(): Promise<void>;
}

/** Starts `cairn serve --nats url ...args` and resolves once it consumes (its `engine-ready` message). */
export async function startEngineProcess(url: string, args: string[] = []): Promise<EngineProcess> {
  const stderr: string[] = [];
  const child = fork(CLI, ["serve", "--nats", url, "--metrics-port", "off", "--log-level", "warn", ...args], {
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr.push(...chunk.split("\n").filter(Boolean));
    if (stderr.length > 100) stderr.splice(0, stderr.length - 100);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const done = () => child.exitCode !== null || child.signalCode !== null;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the engine did not start within 30 s: ${stderr.slice(-5).join(" | ")}`)),
      30_000,
    );
    child.on("message", (m: { type?: string }) => {
      if (m.type === "engine-ready") {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the engine exited with code ${code}: ${stderr.slice(-5).join(" | ")}`));
    });
  });
  return {
    child,
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
