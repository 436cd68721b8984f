// `cairn replay` on a partitioned deployment: the server stores hunt.<id>.events as hunt.<id>.events.<p>,
// and the replay must find the hunt's events there without being told the partition count.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Engine, replayHunt, startEngine } from "../../actors/index.ts";
import { main } from "../../bin/cairn.ts";
import { ensureStreams, partitionMappingConfig, partitionOf, queryHunt } from "../../streams/index.ts";
import {
  cloudEvent,
  connectTest,
  startTestNats,
  type TestClient,
  type TestNats,
  waitFor,
} from "../support/nats.ts";

const PARTITIONS = 8;
const HUNTS = ["pr-a", "pr-b"];

let configDir: string;
let server: TestNats;
let client: TestClient;
let engine: Engine;
const lastSeq = new Map<string, number>();

/** Runs the CLI in this process; resolves to its exit code and what it printed. */
async function cairn(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  try {
    return { code: await main(args), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), "cairn-replay-partitions-"));
  const config = join(configDir, "nats.conf");
  writeFileSync(config, partitionMappingConfig(PARTITIONS));
  server = await startTestNats({ args: ["-c", config] });
  client = await connectTest(server.url);
  await ensureStreams(client.jsm);
  engine = await startEngine({
    nats: { servers: server.url },
    metricsPort: null,
    logger: pino({ level: "silent" }),
    partitions: PARTITIONS,
    engineId: "replay-test",
  });
  for (const huntId of HUNTS) {
    const events = [
      cloudEvent(`${huntId}-0`, "HuntCreated", { title: huntId, treasures: [{ id: "t", points: 3 }] }),
      cloudEvent(`${huntId}-1`, "HuntStarted"),
      ...Array.from({ length: 10 }, (_, p) =>
        cloudEvent(`${huntId}-j${p}`, "PlayerJoined", { playerId: `p${p}` }),
      ),
      ...Array.from({ length: 10 }, (_, p) =>
        cloudEvent(`${huntId}-f${p}`, "TreasureFound", { playerId: `p${p}`, treasureId: "t" }),
      ),
    ];
    for (const e of events) {
      const ack = await client.js.publish(`hunt.${huntId}.events`, JSON.stringify(e), {
        msgID: e.id as string,
      });
      lastSeq.set(huntId, ack.seq);
    }
  }
});

afterAll(async () => {
  await engine?.stop();
  await client?.nc.close();
  await server?.cleanup();
  rmSync(configDir, { recursive: true, force: true });
});

describe("replay on a partitioned deployment", () => {
  it("stores the events on the partition subjects (the premise)", async () => {
    const info = await client.jsm.streams.info("HUNT_EVENTS", { subjects_filter: "hunt.pr-a.>" });
    expect(Object.keys(info.state.subjects ?? {})).toEqual([
      `hunt.pr-a.events.${partitionOf("pr-a", PARTITIONS)}`,
    ]);
  });

  it("replayHunt reads every event of the hunt without being told the partition count", async () => {
    for (const huntId of HUNTS) {
      const result = await replayHunt(client.nc, huntId);
      expect(result.events).toBe(22);
      expect(result.fold.seq).toBe(lastSeq.get(huntId));
      expect(result.fold.joined).toBe(10);
    }
  });

  it("cairn replay --verify matches the partitioned engine", async () => {
    await waitFor(
      async () => (await queryHunt<{ seq: number }>(client.nc, "pr-b", "state")).seq >= lastSeq.get("pr-b")!,
      { message: "the engine handling pr-b" },
    );
    const run = await cairn(["replay", "--hunt", "pr-b", "--verify", "--nats", server.url]);
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out).toContain(`verify: live engine matches at seq ${lastSeq.get("pr-b")}`);
  });

  it("cairn replay --partitions 0 reads the unpartitioned subject, where this hunt has nothing", async () => {
    const run = await cairn(["replay", "--hunt", "pr-a", "--partitions", "0", "--nats", server.url]);
    expect(run.code).toBe(1);
    expect(run.err[0]).toContain('hunt "pr-a" has no events on hunt.pr-a.events');
  });

  it("asks which subject to read when a hunt's events are stored under two", async () => {
    const mapped = partitionOf("pr-mixed", PARTITIONS);
    const other = (mapped + 1) % PARTITIONS;
    const created = cloudEvent("m-0", "HuntCreated", { title: "m", treasures: [{ id: "t", points: 1 }] });
    // As if published under another mapping: straight onto another partition's subject.
    await client.js.publish(`hunt.pr-mixed.events.${other}`, JSON.stringify(created), { msgID: "m-0" });
    await client.js.publish("hunt.pr-mixed.events", JSON.stringify(cloudEvent("m-1", "HuntStarted")), {
      msgID: "m-1",
    });
    const run = await cairn(["replay", "--hunt", "pr-mixed", "--nats", server.url]);
    expect(run.code).toBe(1);
    expect(run.err[0]).toContain(`hunt.pr-mixed.events.${other}: 1`);
    expect(run.err[0]).toContain(`hunt.pr-mixed.events.${mapped}: 1`);
    expect(run.err[1]).toContain("--partitions N");
    const chosen = await cairn([
      "replay",
      "--hunt",
      "pr-mixed",
      "--partitions",
      String(PARTITIONS),
      "--json",
      "--nats",
      server.url,
    ]);
    expect(chosen.code).toBe(0);
    expect(JSON.parse(chosen.out[0]!)).toMatchObject({ events: 1, status: "none" });
  });
});
