// `cairn publish` against a real nats-server and engine: the whole file is validated before anything is
// published, --skip-invalid and --dry-run, and the engine's rejections reported by code and line.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { main } from "../../bin/cairn.ts";
import { EventLog, ensureStreams } from "../../streams/index.ts";
import { cloudEvent, connectTest, startTestNats, type TestClient, type TestNats } from "../support/nats.ts";

let server: TestNats;
let client: TestClient;
let engine: Engine;

beforeAll(async () => {
  server = await startTestNats();
  client = await connectTest(server.url);
  await ensureStreams(client.jsm);
  engine = await startEngine({
    nats: { servers: server.url },
    metricsPort: null,
    logger: pino({ level: "silent" }),
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await engine?.stop();
  await client?.nc.close();
  await server?.cleanup();
});

const created = (id: string) =>
  cloudEvent(id, "HuntCreated", { title: "t", treasures: [{ id: "t-1", points: 5 }] });

/** Writes one event (or raw text) per line into a file in the server's temp directory. */
function ndjson(name: string, lines: Array<Record<string, unknown> | string>): string {
  const file = join(server.storeDir, name);
  writeFileSync(file, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n"));
  return file;
}

/** Runs `cairn publish ...args` in this process; resolves to its exit code and what it printed. */
async function publish(args: string[], nats = server.url) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  try {
    return { code: await main(["publish", ...args, "--nats", nats]), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

async function storedIds(huntId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const m of new EventLog(client.js, client.jsm).read(huntId, 1)) {
    ids.push(JSON.parse(new TextDecoder().decode(m.data)).id);
  }
  return ids;
}

describe("cairn publish", () => {
  it("publishes nothing when a line is invalid, and says which", async () => {
    const file = ndjson("bad-first.ndjson", [
      cloudEvent("a-1", "HuntCreated", { title: "t", treasures: [] }),
      cloudEvent("a-2", "HuntStarted"),
      "",
      cloudEvent("a-3", "PlayerJoined", { playerId: "p-1" }),
    ]);
    const run = await publish(["--hunt", "all-or-nothing", "--file", file]);
    expect(run.code).toBe(1);
    expect(run.err[0]).toMatch(/^cairn publish: line 1 \(event "a-1"\): data\.treasures/);
    expect(run.err.at(-2)).toBe(
      "cairn publish: 1 of 4 lines are invalid (listed above): nothing was published",
    );
    expect(run.err.at(-1)).toContain("--skip-invalid");
    expect(await storedIds("all-or-nothing")).toEqual([]);
  });

  it("treats an event id repeated in the file as invalid: JetStream would drop it", async () => {
    const file = ndjson("repeat.ndjson", [created("r-1"), cloudEvent("r-2", "HuntStarted"), created("r-1")]);
    const run = await publish(["--hunt", "repeat", "--file", file]);
    expect(run.code).toBe(1);
    expect(run.err[0]).toBe(
      `cairn publish: line 3 (event "r-1"): the id repeats line 1's, so JetStream would drop this event as a duplicate`,
    );
    expect(await storedIds("repeat")).toEqual([]);
  });

  it("--skip-invalid publishes the valid lines, and still exits 1", async () => {
    const file = ndjson("skip.ndjson", [
      created("s-1"),
      cloudEvent("s-2", "PlayerJoined", { playerId: "" }),
      cloudEvent("s-3", "HuntStarted"),
    ]);
    const run = await publish(["--hunt", "skip", "--file", file, "--skip-invalid"]);
    expect(run.code).toBe(1);
    expect(run.err[0]).toBe('cairn publish: line 2 (event "s-2"): data.playerId: must be a non-empty string');
    expect(run.out[0]).toMatch(/^cairn publish: 2 published, 0 duplicate, 1 invalid skipped \(3 lines\)/);
    expect(run.out).toContain("cairn publish: the engine handled all 2: none rejected");
    expect(await storedIds("skip")).toEqual(["s-1", "s-3"]);
  });

  it("--dry-run validates and publishes nothing, without NATS", async () => {
    const good = ndjson("dry-good.ndjson", [created("d-1"), cloudEvent("d-2", "HuntStarted")]);
    const ok = await publish(["--hunt", "dry", "--file", good, "--dry-run"], "nats://127.0.0.1:1");
    expect(ok.code).toBe(0);
    expect(ok.out).toEqual(["cairn publish: dry run: 2 valid, 0 invalid (2 lines); nothing published"]);
    const bad = ndjson("dry-bad.ndjson", [created("d-1"), "{not json"]);
    const failed = await publish(["--hunt", "dry", "--file", bad, "--dry-run"], "nats://127.0.0.1:1");
    expect(failed.code).toBe(1);
    expect(failed.err[0]).toMatch(/^cairn publish: line 2: not valid JSON/);
    expect(await storedIds("dry")).toEqual([]);
  });

  it("waits for the engine and reports its rejections by code and line", async () => {
    const file = ndjson("rejected.ndjson", [
      created("x-1"),
      cloudEvent("x-2", "HuntStarted"),
      cloudEvent("x-3", "PlayerJoined", { playerId: "p-1" }),
      cloudEvent("x-4", "TreasureFound", { playerId: "p-2", treasureId: "t-1" }),
      cloudEvent("x-5", "TreasureFound", { playerId: "p-1", treasureId: "t-9" }),
      cloudEvent("x-6", "HuntStarted"),
      cloudEvent("x-7", "TreasureFound", { playerId: "p-1", treasureId: "t-1" }),
    ]);
    const run = await publish(["--hunt", "rejects", "--file", file]);
    expect(run.code).toBe(1);
    expect(run.out[0]).toMatch(/^cairn publish: 7 published, 0 duplicate \(7 lines\)/);
    expect(run.out).toContain(
      "cairn publish: rejected by code: unknown_player 1, unknown_treasure 1, invalid_state 1",
    );
    expect(
      run.out.some((l) => /^cairn publish: line 4 \(event "x-4"\), seq \d+: unknown_player: /.test(l)),
    ).toBe(true);
    expect(
      run.out.some((l) => /^cairn publish: line 5 \(event "x-5"\), seq \d+: unknown_treasure: /.test(l)),
    ).toBe(true);
    expect(
      run.out.some((l) => /^cairn publish: line 6 \(event "x-6"\), seq \d+: invalid_state: /.test(l)),
    ).toBe(true);
    expect(run.out).toContain("cairn publish: the engine handled all 7: 3 rejected");
    expect(run.err).toEqual([
      "cairn publish: the engine rejected 3 of the 7 published events (listed above)",
      "cairn publish: fix those lines and publish them with new event ids: a re-sent id within the duplicate window is dropped",
    ]);
    // A second hunt's clean file: nothing of the first hunt's rejections leaks into its report.
    const clean = ndjson("clean.ndjson", [created("c-1"), cloudEvent("c-2", "HuntStarted")]);
    const ok = await publish(["--hunt", "clean", "--file", clean]);
    expect(ok.err).toEqual([]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("cairn publish: the engine handled all 2: none rejected");
  });

  it("says so when no engine answers, and points to cairn watch --rejected", async () => {
    const bare = await startTestNats();
    try {
      const c = await connectTest(bare.url);
      await ensureStreams(c.jsm, { snapshots: false });
      await c.nc.close();
      const file = ndjson("absent.ndjson", [created("n-1")]);
      const run = await publish(["--hunt", "absent", "--file", file], bare.url);
      expect(run.code).toBe(0);
      expect(run.err[0]).toMatch(
        /^cairn publish: the events are stored, but no engine answered for hunt absent/,
      );
      expect(run.err[1]).toContain("cairn watch --hunt absent --rejected --from-start");
    } finally {
      await bare.cleanup();
    }
  });

  it("fails with one clear line when NATS is unreachable, and rejects a bad hunt id", async () => {
    const file = ndjson("unreachable.ndjson", [created("u-1")]);
    const run = await publish(["--hunt", "h", "--file", file], "nats://127.0.0.1:1");
    expect(run.code).toBe(1);
    expect(run.err[0]).toMatch(/^cairn publish: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    expect(run.err[1]).toMatch(/nats-server -js|--nats URL/);
    expect((await publish(["--hunt", "bad.id"])).code).toBe(2);
  });
});
