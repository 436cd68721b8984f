// kill -9 of the engine around a hunt's deadline, at several moments before and after it: the engine
// started next ends the hunt, and the log holds exactly one HuntEnded, the engine's own, applied once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EngineProcess, startEngineProcess } from "../../bin/engine-process.ts";
import { ensureStreams, queryHunt } from "../../streams/index.ts";
import {
  cloudEvent,
  connectTest,
  startTestNats,
  type TestClient,
  type TestNats,
  waitFor,
} from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const DURATION_MS = 1_500;
/** When the engine is killed, relative to the deadline (ms): before it fires (250 ms after), about then, after it. */
const KILL_AT = [0, 260, 600];

describe("an engine killed around a hunt's deadline", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: EngineProcess | undefined;

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
    await ensureStreams(client.jsm);
  });

  afterAll(async () => {
    await engine?.kill();
    await client?.nc.close();
    await nats?.cleanup();
  });

  const start = () => startEngineProcess(nats.url, ["--metrics-port", "0"]);

  it.each(KILL_AT)("killed %i ms from the deadline: one HuntEnded, applied once", async (offset) => {
    const huntId = `tuc${offset < 0 ? "m" : "p"}${Math.abs(offset)}`;
    const publish = (id: string, type: string, data?: Record<string, unknown>) =>
      client.js.publish(`hunt.${huntId}.events`, JSON.stringify(cloudEvent(`${huntId}-${id}`, type, data)), {
        msgID: `${huntId}-${id}`,
      });
    engine = await start();
    await publish("c", "HuntCreated", {
      title: "t",
      treasures: [{ id: "t", points: 5 }],
      rules: { durationMs: DURATION_MS },
    });
    const started = await publish("s", "HuntStarted");
    const stored = await client.jsm.streams.getMessage("HUNT_EVENTS", { seq: started.seq });
    const deadline = stored!.time.getTime() + DURATION_MS;
    await waitFor(
      async () => (await queryHunt<{ seq: number }>(client.nc, huntId, "state")).seq >= started.seq,
      {
        message: "the start to be handled",
      },
    );
    // The moment of the fault, not a synchronisation: the kill lands at `offset` from the deadline.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline + offset - Date.now())));
    await engine.kill();
    engine = await start();
    await waitFor(
      async () => (await queryHunt<{ status: string }>(client.nc, huntId, "state")).status === "ended",
      { timeoutMs: 20_000, message: "the restarted engine to end the hunt" },
    );
    const events = await readSubject<{ type: string; data?: { reason?: string } }>(
      client.js,
      client.jsm,
      "HUNT_EVENTS",
      `hunt.${huntId}.events`,
    );
    const ended = events.filter((e) => e.body.type === "HuntEnded");
    expect(ended.map((e) => [e.msgId, e.body.data?.reason])).toEqual([[`${huntId}:time-up`, "time_up"]]);
    const rejected = await readSubject<{ type: string }>(
      client.js,
      client.jsm,
      "HUNT_REJECTED",
      `hunt.${huntId}.rejected`,
    );
    expect(rejected).toEqual([]);
    await engine.stop();
    engine = undefined;
  });
});
