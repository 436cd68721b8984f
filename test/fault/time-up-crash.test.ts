// kill -9 of the engine around a hunt's deadline, at three moments: with the deadline armed, with its
// HuntEnded just stored, and once it is folded. The engine started next ends the hunt, and the log
// holds exactly one HuntEnded, the engine's own, applied once.
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEADLINES_BUCKET } from "../../actors/index.ts";
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
/** When the engine is killed: deadline armed (not fired), its HuntEnded stored, its HuntEnded folded. */
const KILL_AT = ["armed", "appended", "folded"] as const;

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

  /** Whether the hunt's log ends with the engine's own HuntEnded. */
  async function timeUpStored(huntId: string): Promise<boolean> {
    const last = await client.jsm.direct.getMessage("HUNT_EVENTS", { last_by_subj: `hunt.${huntId}.events` });
    return last?.header?.get("Nats-Msg-Id") === `${huntId}:time-up`;
  }

  it.each(KILL_AT)("killed with the deadline %s: one HuntEnded, applied once", async (moment) => {
    const huntId = `tuc-${moment}`;
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
    await publish("s", "HuntStarted");
    const deadlines = await new Kvm(client.nc).open(DEADLINES_BUCKET);
    const ready = {
      // Recorded when the engine arms it, which it does on folding the start (the fire comes later).
      armed: async () => (await deadlines.get(huntId))?.operation === "PUT" && !(await timeUpStored(huntId)),
      appended: () => timeUpStored(huntId),
      folded: async () =>
        (await queryHunt<{ status: string }>(client.nc, huntId, "state")).status === "ended",
    }[moment];
    await waitFor(ready, { timeoutMs: 10_000, intervalMs: 5, message: `the deadline to be ${moment}` });
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
