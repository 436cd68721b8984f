// One test per way `cairn serve` could hang instead of exiting: the real CLI as a child process, and
// a deadline on every exit. A metrics port in use is a clear start-up error; SIGTERM ends the engine
// within its bound with NATS gone, mid-activation and mid-snapshot, and a restart after each stop
// reaches the same state as a replay of the log; a second SIGINT ends it at once.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { headers } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { replayHunt, stateHash } from "../../actors/index.ts";
import { type EngineProcess, startEngineProcess } from "../../bin/engine-process.ts";
import { ensureStreams, queryHunt, SnapshotStore } from "../../streams/index.ts";
import {
  alive,
  connectTest,
  startTestNats,
  type TestClient,
  type TestNats,
  waitFor,
} from "../support/nats.ts";
import { type Exit, exitWithin as exitWithinBound } from "../support/process.ts";

const CLI = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "cairn.js");
/** `cairn serve` promises to exit within 10 s of SIGTERM; the tests allow 2 s for the process itself. */
const EXIT_BOUND_MS = 12_000;

/** Waits for the exit within the bound `cairn serve` promises, by default. */
function exitWithin(child: ChildProcess, since: number, bound = EXIT_BOUND_MS): Promise<Exit> {
  return exitWithinBound(child, since, bound);
}

/** Stderr lines that are not pino's JSON log lines: what the command itself says to the operator. */
function operatorLines(stderr: string[]): string[] {
  return stderr.filter((l) => !l.startsWith("{"));
}

/** A stack trace anywhere in stderr, log lines included (pino writes stacks with `\n    at `). */
function hasStack(stderr: string[]): boolean {
  return stderr.some((l) => /^\s+at /.test(l) || /\\n\s+at /.test(l));
}

/** True while the process runs: a killed child its parent has not reaped yet (a zombie) does not. */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    // The state follows the parenthesised command name in /proc/<pid>/stat.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Publishes `n` PlayerJoined events to the hunt without waiting for each ack, each with a Nats-Msg-Id. */
async function publishJoins(client: TestClient, huntId: string, from: number, n: number): Promise<number> {
  const subject = `hunt.${huntId}.events`;
  for (let i = from; i < from + n; i += 5000) {
    for (let j = i; j < Math.min(i + 5000, from + n); j++) {
      const h = headers();
      h.set("Nats-Msg-Id", `${huntId}-j${j}`);
      client.nc.publish(
        subject,
        JSON.stringify({
          specversion: "1.0",
          id: `${huntId}-j${j}`,
          source: "hangs",
          type: "PlayerJoined",
          data: { playerId: `player-${j}` },
        }),
        { headers: h },
      );
    }
    await client.nc.flush();
  }
  const info = () => client.jsm.streams.info("HUNT_EVENTS", { subjects_filter: subject });
  const stored = await waitFor(
    async () => {
      const s = await info();
      return (s.state.subjects?.[subject] ?? 0) >= from + n ? s : undefined;
    },
    { timeoutMs: 60_000, message: `${from + n} events of ${huntId} stored` },
  );
  return stored!.state.last_seq;
}

/** Starts a hunt: created and started, ready for joins. */
async function createHunt(client: TestClient, huntId: string): Promise<void> {
  for (const [i, e] of [
    { type: "HuntCreated", data: { title: huntId, treasures: [{ id: "t", points: 1 }] } },
    { type: "HuntStarted" },
  ].entries()) {
    await client.js.publish(
      `hunt.${huntId}.events`,
      JSON.stringify({ specversion: "1.0", id: `${huntId}-s${i}`, source: "hangs", ...e }),
      { msgID: `${huntId}-s${i}` },
    );
  }
}

/** The live state once the engine has folded up to `seq`, checked against a replay of the log. */
async function expectStateMatchesReplay(client: TestClient, huntId: string, seq: number): Promise<void> {
  const live = await waitFor(
    async () => {
      const s = await queryHunt<{ seq: number; stateHash: string }>(client.nc, huntId, "state");
      return s.seq >= seq ? s : undefined;
    },
    { timeoutMs: 40_000, message: `the restarted engine to fold ${huntId} up to ${seq}` },
  );
  const replay = await replayHunt(client.nc, huntId, { untilSeq: live!.seq });
  expect(live!.seq).toBe(seq);
  expect(stateHash(replay.fold)).toBe(live!.stateHash);
}

describe("cairn serve never hangs", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: EngineProcess | undefined;
  const stopFigures: string[] = [];

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
    await ensureStreams(client.jsm);
  });

  afterEach(async () => {
    await engine?.kill();
    engine = undefined;
  });

  afterAll(async () => {
    await client?.nc.close();
    await nats?.cleanup();
    console.log(`stop figures:\n  ${stopFigures.join("\n  ")}`);
  });

  it("exits 1 with what and what to do when its metrics port is in use", async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const started = performance.now();
      const child = spawn(
        process.execPath,
        [CLI, "serve", "--nats", nats.url, "--metrics-port", String(port), "--log-level", "warn"],
        { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NATS_URL: "", CAIRN_DEBUG: "" } },
      );
      let stderr = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (c: string) => {
        stderr += c;
      });
      const exit = await exitWithin(child, started, 10_000);
      stopFigures.push(`metrics port in use: exit ${exit.code} after ${Math.round(exit.ms)} ms`);
      const lines = stderr.trimEnd().split("\n");
      expect(exit.code, stderr).toBe(1);
      expect(lines, stderr).toHaveLength(2);
      expect(lines[0]).toBe(`cairn serve: the metrics port ${port} is already in use`);
      expect(lines[1]).toMatch(/^cairn serve: pass --metrics-port with a free port/);
      expect(hasStack(lines), stderr).toBe(false);
      expect(stderr).not.toContain("recreate_failed");
    } finally {
      holder.close();
    }
  });

  it("exits within its bound on SIGTERM when its nats-server is gone", async () => {
    // A server of its own, so killing it leaves the others alone.
    const doomed = await startTestNats();
    try {
      engine = await startEngineProcess(doomed.url, ["--log-level", "info"]);
      const own = await connectTest(doomed.url);
      await createHunt(own, "orphan");
      const last = await publishJoins(own, "orphan", 0, 20);
      await waitFor(async () => (await queryHunt<{ seq: number }>(own.nc, "orphan", "state")).seq >= last, {
        message: "the engine to fold the hunt",
      });
      await own.nc.close();
      process.kill(doomed.pid, "SIGKILL");
      await waitFor(() => !running(doomed.pid), { message: "the nats-server to die" });
      await waitFor(() => engine!.stderr.some((l) => l.includes("disconnected from NATS")), {
        message: "the engine to notice the server is gone",
      });

      const since = performance.now();
      const before = engine.stderr.length;
      engine.child.kill("SIGTERM");
      const exit = await exitWithin(engine.child, since);
      stopFigures.push(`SIGTERM, NATS gone: exit ${exit.code} after ${Math.round(exit.ms)} ms`);
      expect(exit.signal).toBeNull();
      const said = operatorLines(engine.stderr.slice(before));
      expect(hasStack(engine.stderr), engine.stderr.join("\n")).toBe(false);
      // Whatever the exit code, the operator is told in one line why the stop was not clean.
      if (exit.code !== 0) {
        expect(said.length, said.join("\n")).toBeGreaterThan(0);
        expect(said[0]).toMatch(/^cairn serve: /);
      }
      expect(engine.stderr.join("\n")).toMatch(/NATS is not reachable|did not finish|not confirmed/);
    } finally {
      await doomed.cleanup();
    }
  });

  it("exits on SIGTERM right after ready while a large hunt activates, and restarts to the same state", async () => {
    const args = [
      "--snapshot-every",
      "100000000",
      "--snapshot-interval",
      "1h",
      "--log-level",
      "info",
      "--durable",
      "activation",
      "--filter-subject",
      "hunt.big.events",
    ];
    // A hunt of 100k events folded, then a crash: no snapshot, so the next start must activate the
    // hunt from its whole log when its next event comes.
    await createHunt(client, "big");
    const folded = await publishJoins(client, "big", 0, 100_000);
    engine = await startEngineProcess(nats.url, args);
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, "big", "state")).seq >= folded, {
      timeoutMs: 60_000,
      message: "the engine to fold the big hunt",
    });
    await engine.kill();
    expect(await new SnapshotStore(client.nc).get("big")).toBeUndefined();
    const last = await publishJoins(client, "big", 100_000, 1);

    // The activation reads the hunt's log through a consumer of its own, starting at a sequence: the
    // request that creates it says the activation has begun.
    let activating = false;
    const creates = client.nc.subscribe("$JS.API.CONSUMER.CREATE.HUNT_EVENTS.>", {
      callback: (_err, m) => {
        const config = m.json<{ config?: Record<string, unknown> }>().config ?? {};
        if (config.durable_name === undefined && config.opt_start_seq !== undefined) activating = true;
      },
    });
    await client.nc.flush();
    engine = await startEngineProcess(nats.url, args);
    await waitFor(() => activating, { message: "the activation to start reading the log" });
    creates.unsubscribe();
    const since = performance.now();
    const activatedBefore = engine.stderr.some((l) => l.includes('"hunt activated"'));
    engine.child.kill("SIGTERM");
    const exit = await exitWithin(engine.child, since);
    stopFigures.push(
      `SIGTERM mid-activation (100k events${activatedBefore ? ", activation had ended" : ""}): exit ${exit.code} after ${Math.round(exit.ms)} ms`,
    );
    expect(activatedBefore).toBe(false);
    expect(exit.signal).toBeNull();
    if (exit.code !== 0) {
      expect(exit.code).toBe(1);
      expect(operatorLines(engine.stderr)[0]).toMatch(/^cairn serve: /);
    }
    expect(hasStack(engine.stderr), engine.stderr.join("\n")).toBe(false);

    engine = await startEngineProcess(nats.url, args);
    await expectStateMatchesReplay(client, "big", last);
  });

  it("exits on SIGTERM in the middle of a snapshot, and restarts to the same state", async () => {
    const args = [
      "--snapshot-every",
      "20000",
      "--batch",
      "1000",
      "--log-level",
      "info",
      "--durable",
      "snapshot",
      "--filter-subject",
      "hunt.snap.events",
    ];
    engine = await startEngineProcess(nats.url, args);
    await createHunt(client, "snap");
    // The first chunk of a snapshot stored: the snapshot's other chunks and its meta are still to come.
    let since = 0;
    const chunks = client.nc.subscribe("cairn.snapshot.snap.*.*", {
      callback: () => {
        if (since !== 0) return;
        since = performance.now();
        engine!.child.kill("SIGTERM");
      },
    });
    const publishing = publishJoins(client, "snap", 0, 60_000);
    await waitFor(() => since !== 0, { timeoutMs: 60_000, message: "a snapshot to start" });
    const exit = await exitWithin(engine.child, since);
    chunks.unsubscribe();
    stopFigures.push(`SIGTERM mid-snapshot: exit ${exit.code} after ${Math.round(exit.ms)} ms`);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(0);
    expect(hasStack(engine.stderr), engine.stderr.join("\n")).toBe(false);
    const last = await publishing;

    engine = await startEngineProcess(nats.url, args);
    await expectStateMatchesReplay(client, "snap", last);
  });

  it("ends at once, with exit 130, on a second SIGINT during a stop that cannot finish", async () => {
    const frozen = await startTestNats();
    try {
      engine = await startEngineProcess(frozen.url, ["--log-level", "info"]);
      // A frozen server: connected but silent, so the graceful stop waits on it.
      process.kill(frozen.pid, "SIGSTOP");
      engine.child.kill("SIGINT");
      await waitFor(() => engine!.stderr.some((l) => l.includes('"msg":"stopping"')), {
        message: "the engine to start stopping",
      });
      const since = performance.now();
      engine.child.kill("SIGINT");
      const exit = await exitWithin(engine.child, since, 2_000);
      stopFigures.push(`second SIGINT: exit ${exit.code} after ${Math.round(exit.ms)} ms`);
      expect(exit.code).toBe(130);
      expect(operatorLines(engine.stderr).at(-1)).toMatch(/^cairn serve: SIGINT again; exiting now/);
    } finally {
      if (alive(frozen.pid)) process.kill(frozen.pid, "SIGCONT");
      await frozen.cleanup();
    }
  });
});
