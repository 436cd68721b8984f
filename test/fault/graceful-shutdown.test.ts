// SIGTERM stops the engine gracefully: it exits 0 (not by the signal), snapshots what it folded,
// stops the nats-server it embedded, and a restart serves the same state without re-folding.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeHunt } from "../../actors/index.ts";
import { type EngineProcess, startEngineProcess } from "../../bin/engine-process.ts";
import { queryHunt, SnapshotStore } from "../../streams/index.ts";
import { alive, connectTest, waitFor } from "../support/nats.ts";

describe("graceful shutdown", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-graceful-"));
  let engine: EngineProcess | undefined;

  afterAll(async () => {
    await engine?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 0 on SIGTERM with a snapshot stored and its embedded nats-server stopped", async () => {
    engine = await startEngineProcess(undefined, [
      "--store-dir",
      join(dir, "nats"),
      "--snapshot-every",
      "1000000",
    ]);
    const client = await connectTest(engine.url);
    const natsPid = await serverPid(engine.url);
    const events = [
      { type: "HuntCreated", data: { title: "g", treasures: [{ id: "t", points: 3 }] } },
      { type: "HuntStarted" },
      ...Array.from({ length: 50 }, (_, i) => ({ type: "PlayerJoined", data: { playerId: `p${i}` } })),
    ];
    let last = 0;
    for (const [i, e] of events.entries()) {
      last = (
        await client.js.publish(
          "hunt.g1.events",
          JSON.stringify({ specversion: "1.0", id: `g${i}`, source: "t", ...e }),
          { msgID: `g${i}` },
        )
      ).seq;
    }
    const live = await waitFor(
      async () => {
        const s = await queryHunt<{ seq: number; stateHash: string }>(client.nc, "g1", "state");
        return s.seq >= last ? s : undefined;
      },
      { timeoutMs: 20_000, message: "the engine to handle the hunt" },
    );
    const snapshots = new SnapshotStore(client.nc);
    expect(await snapshots.get("g1")).toBeUndefined();
    await client.nc.close();

    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      engine!.child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    engine.child.kill("SIGTERM");
    expect(await exited).toEqual({ code: 0, signal: null });
    await waitFor(() => !alive(natsPid), { timeoutMs: 10_000, message: "the embedded nats-server to stop" });

    // Same store, new engine: the snapshot written on the way out holds the whole hunt.
    engine = await startEngineProcess(undefined, ["--store-dir", join(dir, "nats")]);
    const again = await connectTest(engine.url);
    const bytes = await new SnapshotStore(again.nc).get("g1");
    expect(bytes).toBeDefined();
    expect(decodeHunt("g1", bytes!).seq).toBe(last);
    expect(await queryHunt(again.nc, "g1", "state")).toEqual(live);
    await again.nc.close();
  });
});

/** The pid of the nats-server behind a URL, from its monitoring-free `ps` listing. */
async function serverPid(url: string): Promise<number> {
  const { execFileSync } = await import("node:child_process");
  const port = new URL(url).port;
  const out = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
  const line = out.split("\n").find((l) => l.includes("nats-server") && l.includes(` ${port}`));
  if (!line) throw new Error(`no nats-server process on port ${port}`);
  return Number(line.trim().split(/\s+/)[0]);
}
