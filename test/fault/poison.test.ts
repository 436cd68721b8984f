// A poison flood: arbitrary bytes, arbitrary JSON, near-miss CloudEvents, hostile hunt definitions
// and bad hunt ids are published into the log. The engine never crashes or stalls, and every message
// is rejected with a reason.
import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const HUNT = "poisoned";
const TYPES = [
  "HuntCreated",
  "HuntStarted",
  "PlayerJoined",
  "PlayerLeft",
  "TreasureFound",
  "HintTaken",
  "ScoreAdjusted",
  "Nope",
];

/** Messages that must all be rejected for a hunt that was never created. */
const poison = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.json().map((j) => new TextEncoder().encode(j)),
  fc
    .record(
      {
        specversion: fc.oneof(fc.constant("1.0"), fc.string()),
        id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        source: fc.oneof(fc.string(), fc.constant("")),
        type: fc.constantFrom(...TYPES),
        data: fc.oneof(fc.object(), fc.anything(), fc.constant(undefined)),
      },
      { requiredKeys: [] },
    )
    .map((e) => new TextEncoder().encode(JSON.stringify(e))),
);

describe("poison flood", () => {
  let nats: TestNats;
  let engine: Engine;
  let client: TestClient;

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

  it("rejects every message with a code and a message, and keeps serving", async () => {
    const messages = fc.sample(poison, { seed: 7, numRuns: 1500 });
    const enc = new TextEncoder();
    // Hostile hunt definitions: 40k treasures (4× the limit, under NATS's 1 MiB), huge strings.
    // 100k treasures do not even reach the log: NATS refuses a payload over max_payload.
    const treasures = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `${i}`, points: 1 }));
    await expect(
      client.js.publish(
        `hunt.${HUNT}.events`,
        JSON.stringify({
          specversion: "1.0",
          id: "h0",
          source: "x",
          type: "HuntCreated",
          data: { title: "t", treasures: treasures(100_000) },
        }),
      ),
    ).rejects.toThrow(/max_payload/);
    const hostile = [
      enc.encode(
        JSON.stringify({
          specversion: "1.0",
          id: "h1",
          source: "x",
          type: "HuntCreated",
          data: { title: "t", treasures: treasures(40_000) },
        }),
      ),
      enc.encode(
        JSON.stringify({
          specversion: "1.0",
          id: "h2",
          source: "x",
          type: "HuntCreated",
          data: { title: "x".repeat(500_000), treasures: [{ id: "t", points: 1 }] },
        }),
      ),
      enc.encode(
        JSON.stringify({
          specversion: "1.0",
          id: "h3",
          source: "x",
          type: "PlayerJoined",
          data: { playerId: "p".repeat(100_000) },
        }),
      ),
      enc.encode(
        JSON.stringify({
          specversion: "1.0",
          id: "h4",
          source: "x",
          type: "HuntCreated",
          data: {
            title: "dup",
            treasures: [
              { id: "t", points: 1 },
              { id: "t", points: 2 },
            ],
          },
        }),
      ),
      enc.encode(
        JSON.stringify({
          specversion: "1.0",
          id: "h5",
          source: "x",
          type: "HuntCreated",
          data: { title: "neg", treasures: [{ id: "t", points: -5 }] },
        }),
      ),
    ];
    let last = 0;
    for (const [i, body] of [...messages, ...hostile].entries()) {
      // A trailing counter keeps JetStream's dedup (no Nats-Msg-Id here) out of the picture.
      last = (await client.js.publish(`hunt.${HUNT}.events`, body, { msgID: `poison-${i}` })).seq;
    }
    const total = messages.length + hostile.length;
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, HUNT, "state")).seq >= last, {
      timeoutMs: 30_000,
      message: "the engine to get through the flood",
    });
    const rejected = await readSubject<{ seq: number; code: string; message: string }>(
      client.js,
      client.jsm,
      "HUNT_REJECTED",
      `hunt.${HUNT}.rejected`,
    );
    expect(rejected.length).toBe(total);
    for (const { body } of rejected) {
      expect(["invalid_event", "invalid_state"]).toContain(body.code);
      expect(body.message.length).toBeGreaterThan(0);
    }
    const hostileCodes = rejected.slice(-hostile.length).map((r) => r.body.code);
    expect(hostileCodes).toEqual([
      "invalid_event",
      "invalid_event",
      "invalid_event",
      "invalid_event",
      "invalid_event",
    ]);
    const state = await queryHunt<{ status: string; players: number }>(client.nc, HUNT, "state");
    expect(state).toMatchObject({ status: "none", players: 0 });
  });

  it("rejects events on subjects whose hunt id breaks the contract, where its hunt's rejections go", async () => {
    const badId = "x".repeat(80);
    const ack = await client.js.publish(
      `hunt.${badId}.events`,
      JSON.stringify({ specversion: "1.0", id: "b1", source: "t", type: "HuntStarted" }),
    );
    const rejected = await waitFor(
      async () => {
        const r = await readSubject<{ seq: number; code: string; message: string }>(
          client.js,
          client.jsm,
          "HUNT_REJECTED",
          `hunt.${badId}.rejected`,
        );
        return r.length > 0 ? r : undefined;
      },
      { message: "the bad hunt id to be rejected" },
    );
    expect(rejected?.[0]?.body).toMatchObject({ seq: ack.seq, code: "invalid_event" });
    expect(rejected?.[0]?.body.message).toContain("hunt id");
  });
});
