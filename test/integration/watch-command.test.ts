// `cairn watch --rejected` through the real command line: rank changes and rejections come from two
// streams, yet the lines it prints follow the log (non-decreasing seq), live and from the start, and
// it exits at once on SIGINT or SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { exitWithin } from "../support/process.ts";

const CLI = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "cairn.js");
const HUNT = "watched";
/** Joins alternating with invalid messages: one rank change, then one rejection, and so on. */
const PAIRS = 300;

/** A running `cairn watch`, with what it printed so far. */
interface Watch {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
}

function watch(url: string, args: string[]): Watch {
  const child = spawn(process.execPath, [CLI, "watch", "--nats", url, "--hunt", HUNT, "--json", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NATS_URL: "" },
  });
  const w: Watch = {
    child,
    lines: [],
    stderr: [],
  };
  let partial = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    w.lines.push(...parts);
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => w.stderr.push(...chunk.split("\n").filter(Boolean)));
  return w;
}

/** Stops the watch with `signal` and returns how long it took to exit (ms), failing after 3 s. */
async function stopWatch(w: Watch, signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
  const since = performance.now();
  w.child.kill(signal);
  const exit = await exitWithin(w.child, since, 3000);
  return { code: exit.code, ms: exit.ms };
}

function seqs(lines: string[]): number[] {
  return lines.map((l) => (JSON.parse(l) as { seq: number }).seq);
}

describe("cairn watch --rejected", () => {
  let nats: TestNats;
  let engine: Engine;
  let client: TestClient;
  let last = 0;

  beforeAll(async () => {
    nats = await startTestNats();
    engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: null,
      logger: pino({ level: "silent" }),
    });
    client = await connectTest(nats.url);
  });

  afterAll(async () => {
    await client?.nc.close();
    await engine?.stop();
    await nats?.cleanup();
  });

  it("prints live rank changes and rejections in log order, and stops on SIGTERM", async () => {
    const w = watch(nats.url, ["--rejected"]);
    await waitFor(() => w.stderr.some((l) => l.startsWith("watching hunt")), {
      message: "cairn watch to subscribe",
    });
    const publish = async (id: string, body: string) =>
      (await client.js.publish(`hunt.${HUNT}.events`, body, { msgID: id })).seq;
    const event = (id: string, type: string, data?: unknown) =>
      publish(id, JSON.stringify({ specversion: "1.0", id, source: "w", type, data }));
    await event("c", "HuntCreated", { title: "w", treasures: [{ id: "t", points: 1 }] });
    await event("s", "HuntStarted");
    // Published without waiting for each ack, so the engine folds them in large batches.
    const acks: Promise<number>[] = [];
    for (let i = 0; i < PAIRS; i++) {
      acks.push(
        client.js
          .publish(
            `hunt.${HUNT}.events`,
            JSON.stringify({
              specversion: "1.0",
              id: `j${i}`,
              source: "w",
              type: "PlayerJoined",
              data: { playerId: `p${i}` },
            }),
            { msgID: `j${i}` },
          )
          .then((a) => a.seq),
        client.js.publish(`hunt.${HUNT}.events`, `not json ${i}`, { msgID: `bad${i}` }).then((a) => a.seq),
      );
    }
    last = Math.max(...(await Promise.all(acks)));
    await waitFor(() => w.lines.length >= 2 * PAIRS, { timeoutMs: 20_000, message: "every output printed" });
    const stop = await stopWatch(w, "SIGTERM");
    const printed = seqs(w.lines);
    expect(printed).toHaveLength(2 * PAIRS);
    const outOfOrder = printed.findIndex((s, i) => i > 0 && s < printed[i - 1]!);
    expect(outOfOrder, `seq ${printed[outOfOrder]} printed after ${printed[outOfOrder - 1]}`).toBe(-1);
    expect(stop.code).toBe(0);
    expect(stop.ms).toBeLessThan(1500);
  });

  it("prints the stored history in log order with --from-start, and stops on SIGINT", async () => {
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, HUNT, "state")).seq >= last, {
      message: "the engine to fold the log",
    });
    const w = watch(nats.url, ["--rejected", "--from-start"]);
    await waitFor(() => w.lines.length >= 2 * PAIRS, { timeoutMs: 20_000, message: "the history printed" });
    const stop = await stopWatch(w, "SIGINT");
    const printed = seqs(w.lines);
    expect(printed).toEqual([...printed].sort((a, b) => a - b));
    expect(new Set(printed).size).toBe(2 * PAIRS);
    expect(stop.code).toBe(0);
    expect(stop.ms).toBeLessThan(1500);
  });
});
