// One live copy of each hunt, whatever arrives while it is being activated. The engine is restarted
// several times with events waiting, while clients hammer the hunt with queries; a query that
// started a second activation used to replace the live copy mid-stream, and that copy's rank
// messages were wrong. Every stored rank message must be the model's, once.
import fc from "fast-check";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { ensureStreams, queryHunt } from "../../streams/index.ts";
import { encode, inputArb } from "../support/hunt-arbitraries.ts";
import { HuntModel, type ModelInput } from "../support/hunt-model.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const HUNT = "race";
const RESTARTS = 10;
const QUERIERS = 4;
/** Counts the engine's "hunt activated" log lines: one per activation. */
let activations = 0;
const logger = pino(
  { level: "info" },
  {
    write(line: string) {
      if (line.includes('"msg":"hunt activated"')) activations++;
    },
  },
);

function huntLog(): ModelInput[] {
  const body = fc.sample(fc.array(inputArb, { minLength: 3000, maxLength: 3000 }), {
    seed: 20261130,
    numRuns: 1,
  })[0]!;
  return [
    {
      kind: "event",
      event: {
        id: "create",
        type: "HuntCreated",
        data: {
          title: "race",
          treasures: [
            { id: "t1", points: 5 },
            { id: "t2", points: 10 },
            { id: "t3", points: 0 },
          ],
          rules: { firstFinderBonus: [4, 2], hintPenalty: 1 },
        },
      },
    },
    { kind: "event", event: { id: "start", type: "HuntStarted" } },
    ...body,
  ];
}

describe("activation under a storm of queries", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: Engine | undefined;

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
    await ensureStreams(client.jsm);
  });

  afterAll(async () => {
    await engine?.stop();
    await client?.nc.close();
    await nats?.cleanup();
  });

  it(`activates the hunt once per start across ${RESTARTS} restarts under a storm of queries, and stores the model's rank messages`, async () => {
    const inputs = huntLog();
    const model = new HuntModel();
    for (const [i, input] of inputs.entries()) model.apply(i + 1, input);
    const msgs = encode(inputs);
    let answered = 0;
    // Queries at a steady rate, each on its own clock like a dashboard's, so that some arrive at every
    // moment of an activation, including the instant it completes.
    const storm = setInterval(() => {
      for (let q = 0; q < QUERIERS; q++) {
        queryHunt(
          client.nc,
          HUNT,
          q % 3 === 0 ? "state" : "rank",
          q % 3 === 0 ? {} : { playerId: "p1" },
          1000,
        )
          .then(() => answered++)
          .catch(() => {});
      }
    }, 1);
    const chunk = Math.ceil(msgs.length / RESTARTS);
    for (let r = 0; r < RESTARTS; r++) {
      // Half of this run's events wait for the engine, so that its start activates the hunt with a
      // batch in hand while queries arrive; the other half arrive while it runs.
      const part = msgs.slice(r * chunk, (r + 1) * chunk);
      const publish = async (from: number, to: number) => {
        for (let i = from; i < to; i += 60) {
          await Promise.all(
            part
              .slice(i, Math.min(i + 60, to))
              .map((m) => client.js.publish(`hunt.${HUNT}.events`, m.data, { msgID: m.msgId! })),
          );
        }
      };
      const half = Math.floor(part.length / 2);
      await publish(0, half);
      engine = await startEngine({
        nats: { servers: nats.url },
        metricsPort: null,
        logger,
        snapshotEvery: 300,
        batchSize: 40,
      });
      await publish(half, part.length);
      const last = part[part.length - 1]!.seq;
      await waitFor(
        async () =>
          (await queryHunt<{ seq: number }>(client.nc, HUNT, "rank", { playerId: "p1" })).seq >= last,
        { timeoutMs: 30_000, message: `the engine to reach seq ${last} in run ${r + 1}` },
      );

      await engine.stop();
      engine = undefined;
    }
    clearInterval(storm);
    expect(answered).toBeGreaterThan(0);
    // One activation per start: a query never starts a second copy.
    expect(activations).toBe(RESTARTS);
    const ranks = await readSubject(client.js, client.jsm, "HUNT_RANKS", `hunt.${HUNT}.ranks`);
    const expected = model.outputs.filter((o) => o.kind === "rank").map(({ kind, ...o }) => o);
    const wrong = ranks.filter((r, i) => JSON.stringify(r.body) !== JSON.stringify(expected[i]));
    expect({ stored: ranks.length, wrong: wrong.length }).toEqual({ stored: expected.length, wrong: 0 });
  });
});
