// kill -9 of the engine mid-stream, repeatedly: after the last restart the leaderboard is exact and
// HUNT_RANKS / HUNT_REJECTED / HUNT_CHECKPOINTS hold every output exactly once, in order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayHunt } from "../../actors/index.ts";
import { type EngineProcess, startEngineProcess } from "../../bin/engine-process.ts";
import { ensureStreams, queryHunt } from "../../streams/index.ts";
import { encode } from "../support/hunt-arbitraries.ts";
import { HuntModel, type ModelInput } from "../support/hunt-model.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const HUNT = "crash-hunt";
const PLAYERS = 150;
const EVENTS = 40_000;

/** A deterministic hunt: joins, then adjustments, finds and a few invalid messages. */
function huntLog(): ModelInput[] {
  let x = 12345;
  const rand = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  const inputs: ModelInput[] = [
    {
      kind: "event",
      event: {
        id: "c",
        type: "HuntCreated",
        data: {
          title: "crash",
          treasures: [
            { id: "t1", points: 7 },
            { id: "t2", points: 3 },
          ],
          rules: { firstFinderBonus: [5, 1] },
        },
      },
    },
    { kind: "event", event: { id: "s", type: "HuntStarted" } },
  ];
  for (let p = 0; p < PLAYERS; p++)
    inputs.push({ kind: "event", event: { id: `j${p}`, type: "PlayerJoined", data: { playerId: `p${p}` } } });
  while (inputs.length < EVENTS) {
    const r = rand();
    const playerId = `p${Math.floor(rand() * PLAYERS)}`;
    const id = `e${inputs.length}`;
    if (r < 0.01) inputs.push({ kind: "invalid", eventId: null, type: null });
    else if (r < 0.2)
      inputs.push({
        kind: "event",
        event: { id, type: "TreasureFound", data: { playerId, treasureId: rand() < 0.5 ? "t1" : "t2" } },
      });
    else
      inputs.push({
        kind: "event",
        event: {
          id,
          type: "ScoreAdjusted",
          data: { playerId, delta: Math.floor(rand() * 21) - 10, reason: "x" },
        },
      });
  }
  return inputs;
}

describe("engine killed with SIGKILL mid-stream", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: EngineProcess | undefined;

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
    // A duplicate window far shorter than a restart: recovery must not lean on JetStream's dedup.
    await ensureStreams(client.jsm, { duplicateWindowMs: 100 });
  });

  afterAll(async () => {
    await engine?.kill();
    await client?.nc.close();
    await nats?.cleanup();
  });

  it("restarts to the exact leaderboard with every output stored exactly once", async () => {
    const inputs = huntLog();
    const model = new HuntModel();
    for (const [i, input] of inputs.entries()) model.apply(i + 1, input);
    const expectedRanks = model.outputs.filter((o) => o.kind === "rank").map(({ kind, ...o }) => o);
    const expectedRejected = model.outputs.filter((o) => o.kind === "rejected").map(({ kind, ...o }) => o);
    const msgs = encode(inputs);
    const engineArgs = [
      "--duplicate-window",
      "100ms",
      "--snapshot-every",
      "700",
      "--snapshot-interval",
      "300ms",
      "--batch",
      "200",
    ];

    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i += 200) {
        const chunk = msgs.slice(i, Math.min(i + 200, to));
        const acks = await Promise.all(
          chunk.map((m) => client.js.publish(`hunt.${HUNT}.events`, m.data, { msgID: m.msgId! })),
        );
        expect(acks.map((a) => a.seq)).toEqual(chunk.map((m) => m.seq));
      }
    };
    // Half the log is waiting when the engine starts; the other half arrives while it is killed
    // and restarted, so every kill lands while it is folding, publishing and acking.
    await publish(0, msgs.length / 2);
    engine = await startEngineProcess(nats.url, engineArgs);
    const publishing = publish(msgs.length / 2, msgs.length);

    const ranksStored = async () =>
      (await client.jsm.streams.info("HUNT_RANKS", { subjects_filter: `hunt.${HUNT}.ranks` })).state
        .subjects?.[`hunt.${HUNT}.ranks`] ?? 0;
    for (const threshold of [3000, 12_000, 22_000]) {
      await waitFor(async () => (await ranksStored()) >= threshold, {
        timeoutMs: 30_000,
        message: `${threshold} rank messages`,
      });
      await engine.kill();
      expect(await ranksStored()).toBeLessThan(expectedRanks.length);
      engine = await startEngineProcess(nats.url, engineArgs);
    }
    await publishing;
    await waitFor(
      async () => (await queryHunt<{ seq: number }>(client.nc, HUNT, "state")).seq >= msgs.length,
      {
        timeoutMs: 60_000,
        message: "the restarted engine to handle the whole log",
      },
    );

    const ranks = await readSubject(client.js, client.jsm, "HUNT_RANKS", `hunt.${HUNT}.ranks`);
    const rejected = await readSubject(client.js, client.jsm, "HUNT_REJECTED", `hunt.${HUNT}.rejected`);
    expect(ranks.length).toBe(expectedRanks.length);
    expect(ranks.map((r) => r.body)).toEqual(expectedRanks);
    expect(rejected.map(({ body: { message, ...r } }) => r)).toEqual(expectedRejected);

    // 40,000 inputs: a checkpoint after every 10,000th, each stored once, as a replay of the log gives it.
    const checkpoints = await readSubject(
      client.js,
      client.jsm,
      "HUNT_CHECKPOINTS",
      `hunt.${HUNT}.checkpoints`,
    );
    const replayed = await replayHunt(client.nc, HUNT);
    replayed.fold.dispose();
    expect(replayed.checkpoints.map((c) => c.seq)).toEqual([10_000, 20_000, 30_000, 40_000]);
    expect(checkpoints.map((c) => c.body)).toEqual(replayed.checkpoints);
    expect(checkpoints.map((c) => c.msgId)).toEqual(
      replayed.checkpoints.map((c) => {
        const output =
          expectedRanks.some((r) => r.seq === c.seq) || expectedRejected.some((r) => r.seq === c.seq);
        return `${HUNT}:${c.seq}:${output ? 1 : 0}`;
      }),
    );

    const top = await queryHunt<{ entries: { playerId: string; score: number }[] }>(client.nc, HUNT, "top", {
      n: 1000,
    });
    expect(top.entries.map((e) => [e.playerId, e.score])).toEqual(
      model.leaderboard().map((p) => [p.id, p.score]),
    );
  });
});
