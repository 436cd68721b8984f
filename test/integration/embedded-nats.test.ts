// The embedded nats-server launcher: start, connect, stop, missing binary, and no leak when the parent is kill -9'd.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import {
  findNatsServer,
  NatsServerNotFoundError,
  serverFeatures,
  startEmbeddedNats,
} from "../../streams/index.ts";
import { alive, connectTest, waitFor } from "../support/nats.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "cairn-embedded-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("startEmbeddedNats", () => {
  it("starts a JetStream server on a free loopback port and stops it", async () => {
    const server = await startEmbeddedNats({ storeDir: tempDir() });
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(alive(server.pid)).toBe(true);
    const { nc, jsm } = await connectTest(server.url);
    const features = serverFeatures(nc);
    expect(features.jetstream).toBe(true);
    expect(features.consumersApi).toBe(true);
    expect((await jsm.getAccountInfo()).streams).toBe(0);
    await nc.close();
    await server.stop();
    await server.stop(); // twice is fine
    expect(alive(server.pid)).toBe(false);
  });

  it("throws NatsServerNotFoundError, saying how to install, when there is no binary", () => {
    const env = { NATS_SERVER_BIN: "/nonexistent/nats-server", PATH: "/nonexistent" };
    let err: unknown;
    try {
      findNatsServer(env, []);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NatsServerNotFoundError);
    expect((err as NatsServerNotFoundError).code).toBe("nats_server_not_found");
    expect((err as Error).message).toMatch(/sudo apt-get install nats-server/);
    const real = findNatsServer();
    expect(findNatsServer({ NATS_SERVER_BIN: real }, [])).toBe(real);
  });

  it("reports a start-up failure (port in use) with the server's own words", async () => {
    const first = await startEmbeddedNats({ storeDir: tempDir() });
    try {
      await expect(startEmbeddedNats({ storeDir: tempDir(), port: first.port })).rejects.toMatchObject({
        code: "nats_server_start_failed",
      });
    } finally {
      await first.stop();
    }
  });

  /** Starts embedded-child.ts (in its own process group) and returns it with its server's pid. */
  async function childWithServer() {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "../support/embedded-child.ts"), tempDir()],
      { stdio: ["ignore", "pipe", "inherit"], detached: true },
    );
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`child exited with ${code} before starting the server`)));
    });
    const { pid } = JSON.parse(line) as { pid: number };
    expect(alive(pid)).toBe(true);
    return { child, pid };
  }

  it("does not leak the server when its parent process is killed with SIGKILL", async () => {
    const { child, pid } = await childWithServer();
    child.kill("SIGKILL");
    await waitFor(() => !alive(pid), {
      timeoutMs: 10_000,
      message: `nats-server ${pid} to exit after its parent died`,
    });
  });

  it("does not leak the server when the terminal hangs up (SIGHUP to the whole process group)", async () => {
    // nats-server takes SIGHUP as "reload", so only the watchdog surviving the hang-up can stop it.
    const { child, pid } = await childWithServer();
    process.kill(-child.pid!, "SIGHUP");
    await waitFor(() => !alive(pid), {
      timeoutMs: 10_000,
      message: `nats-server ${pid} to exit after its terminal hung up`,
    });
  });
});
