// Test child processes: running the real `cairn` command line to completion, and waiting for a child
// to end on its exit event, with a deadline after which the test kills it and fails, so that a hung
// process fails its test instead of stalling the suite.
import { type ChildProcess, execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "cairn.js");

/** How a `cairn` run ended. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/cairn.js ...args` to completion, without NATS_URL or CAIRN_DEBUG from the test's
 * environment (a hung command fails the test by its time-out: code null).
 */
export function cairn(args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: timeoutMs, env: { ...process.env, NATS_URL: "", CAIRN_DEBUG: "" } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        resolve({ code: child.killed ? null : code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** How a child process ended, and how long after `since` (ms). */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

/** Resolves when the child exits (at once if it has already), with the time since `since`. */
function exitOf(child: ChildProcess, since: number): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode, ms: 0 });
  return new Promise((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, ms: performance.now() - since })),
  );
}

/** Waits for the exit, failing (and killing the child) if it comes later than `boundMs` after `since`. */
export async function exitWithin(child: ChildProcess, since: number, boundMs: number): Promise<Exit> {
  const exit = exitOf(child, since);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        child.kill("SIGKILL");
        reject(new Error(`the process did not exit within ${boundMs} ms; killed it`));
      },
      boundMs - (performance.now() - since),
    );
  });
  try {
    return await Promise.race([exit, hung]);
  } finally {
    clearTimeout(timer);
  }
}
