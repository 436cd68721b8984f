// The partition lease loop on its own: two engines' leases share the partitions, and the loop's ticks
// are plain requests. A tick that made a consumer (as listing a bucket's keys does) would make one
// through the cluster's meta group several times a second per engine, and its push delivery can hang
// across a node restart, stopping the engine's heartbeat while it holds partitions.
import { Kvm } from "@nats-io/kv";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNERS_BUCKET, PartitionOwnership } from "../../actors/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";

const PARTITIONS = 8;

describe("partition leases", () => {
  let nats: TestNats;
  let client: TestClient;
  const owners: PartitionOwnership[] = [];

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
  });

  afterAll(async () => {
    for (const o of owners) await o.stop();
    await client?.nc.close();
    await nats?.cleanup();
  });

  it("are shared by two engines; a tick makes no consumer, and the bucket keeps live engines only", async () => {
    const consumerRequests: string[] = [];
    const sub = client.nc.subscribe("$JS.API.CONSUMER.>", {
      callback: (_err, msg) => {
        if (msg.subject.includes(`KV_${OWNERS_BUCKET}`)) consumerRequests.push(msg.subject);
      },
    });
    await client.nc.flush();
    // What an engine stopped by an earlier release left: a delete marker for its heartbeat.
    const kv = await new Kvm(client.nc).create(OWNERS_BUCKET, { history: 1 });
    await kv.put("engine.gone", "1");
    await kv.delete("engine.gone");
    const held: Record<string, Set<number>> = { a: new Set(), b: new Set() };
    for (const id of ["a", "b"]) {
      const ownership = new PartitionOwnership(client.nc, {
        partitions: PARTITIONS,
        engineId: id,
        leaseMs: 1500,
        logger: pino({ level: "silent" }),
        onAcquire: async (p) => void held[id]!.add(p),
        onRelease: async (p) => void held[id]!.delete(p),
      });
      owners.push(ownership);
      await ownership.start();
    }
    await waitFor(
      () =>
        held.a!.size > 0 &&
        held.b!.size > 0 &&
        held.a!.size + held.b!.size === PARTITIONS &&
        [...held.a!].every((p) => !held.b!.has(p)),
      { timeoutMs: 10_000, intervalMs: 20, message: "the partitions shared by a and b" },
    );
    // Several more ticks of each engine: each writes its heartbeat (its monotonic time) once a tick.
    const seen: Record<string, Set<string>> = { a: new Set(), b: new Set() };
    await waitFor(
      async () => {
        for (const id of ["a", "b"]) seen[id]!.add((await kv.get(`engine.${id}`))?.string() ?? "");
        return seen.a!.size > 5 && seen.b!.size > 5;
      },
      { timeoutMs: 20_000, intervalMs: 50, message: "five more ticks of each engine" },
    );
    await client.nc.flush();
    sub.unsubscribe();
    expect(consumerRequests).toEqual([]);
    expect(owners.map((o) => o.partitions.length).reduce((a, b) => a + b)).toBe(PARTITIONS);
    // The bucket keeps the heartbeats of live engines only: the marker went, and a stopped engine's
    // heartbeat goes with it.
    const heartbeats = async () =>
      Object.keys(
        (
          await client.jsm.streams.info(`KV_${OWNERS_BUCKET}`, {
            subjects_filter: `$KV.${OWNERS_BUCKET}.engine.>`,
          })
        ).state.subjects ?? {},
      ).sort();
    expect(await heartbeats()).toEqual([`$KV.${OWNERS_BUCKET}.engine.a`, `$KV.${OWNERS_BUCKET}.engine.b`]);
    await owners.pop()!.stop();
    expect(await heartbeats()).toEqual([`$KV.${OWNERS_BUCKET}.engine.a`]);
  });
});
