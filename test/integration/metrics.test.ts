// The operator's view: /metrics carries every metric the README lists, and /healthz says ready once
// the engine is connected and caught up.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";

describe("metrics and health endpoint", () => {
  let nats: TestNats;
  let engine: Engine;
  let client: TestClient;

  beforeAll(async () => {
    nats = await startTestNats();
    engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: 0,
      logger: pino({ level: "silent" }),
    });
    client = await connectTest(nats.url);
  });

  afterAll(async () => {
    await client?.nc.close();
    await engine?.stop();
    await nats?.cleanup();
  });

  it("exposes the engine's metrics and readiness", async () => {
    const events = [
      { id: "m1", type: "HuntCreated", data: { title: "m", treasures: [{ id: "t", points: 1 }] } },
      { id: "m2", type: "PlayerJoined", data: { playerId: "a" } },
      { id: "m3", type: "TreasureFound", data: { playerId: "a", treasureId: "t" } },
    ];
    let last = 0;
    for (const e of events)
      last = (
        await client.js.publish("hunt.m.events", JSON.stringify({ specversion: "1.0", source: "t", ...e }), {
          msgID: String(e.id),
        })
      ).seq;
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, "m", "state")).seq >= last, {
      message: "events handled",
    });

    const base = `http://127.0.0.1:${engine.metricsPort}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, connected: true });

    const body = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      "cairn_events_applied_total 2",
      'cairn_events_rejected_total{code="invalid_state"} 1',
      "cairn_apply_latency_seconds_count 3",
      "cairn_consumer_lag",
      "cairn_hunts_active 1",
      "cairn_event_loop_delay_seconds",
      "cairn_native_index_bytes",
      "process_resident_memory_bytes",
      "# TYPE cairn_gc_pause_seconds histogram",
    ]) {
      expect(body).toContain(name);
    }
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
