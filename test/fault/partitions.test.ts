// Partitioned ownership: three engines share the hunts over 8 partitions (server subject mapping +
// KV leases). One is killed with SIGKILL mid-stream, one joins later; every hunt ends exact, and each
// partition has exactly one owner at the end.
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNERS_BUCKET } from "../../actors/index.ts";
import { type EngineProcess, startEngineProcess } from "../../bin/engine-process.ts";
import { partitionOf, queryHunt } from "../../streams/index.ts";
import { HuntModel } from "../support/hunt-model.ts";
import { startPartitionedNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";

const PARTITIONS = 8;
const HUNTS = Array.from({ length: 12 }, (_, i) => `ph-${i}`);

describe("hunts shared by several engines", () => {
  let server: Awaited<ReturnType<typeof startPartitionedNats>>;
  let nats: TestNats;
  let client: TestClient;
  const engines = new Map<string, EngineProcess>();

  beforeAll(async () => {
    server = await startPartitionedNats(PARTITIONS);
    ({ nats, client } = server);
  });

  afterAll(async () => {
    for (const e of engines.values()) await e.kill();
    await server?.cleanup();
  });

  const start = async (id: string) => {
    engines.set(
      id,
      await startEngineProcess(nats.url, [
        "--partitions",
        String(PARTITIONS),
        "--engine-id",
        id,
        "--lease",
        "1500ms",
      ]),
    );
  };

  const owners = async () => {
    const kv = await new Kvm(client.nc).open(OWNERS_BUCKET);
    const result: Record<number, string> = {};
    for (let p = 0; p < PARTITIONS; p++) {
      const entry = await kv.get(`p.${p}`);
      if (entry?.operation === "PUT" && entry.value.length > 0)
        result[p] = entry.json<{ owner: string }>().owner;
    }
    return result;
  };

  it("moves a dead engine's hunts, rebalances on join, and keeps every leaderboard exact", async () => {
    await Promise.all(["e1", "e2", "e3"].map(start));
    await waitFor(
      async () => {
        const o = await owners();
        return Object.keys(o).length === PARTITIONS && new Set(Object.values(o)).size === 3;
      },
      { timeoutMs: 20_000, message: "every partition owned, shared by the three engines" },
    );

    const models = new Map(HUNTS.map((h) => [h, new HuntModel()]));
    let n = 0;
    const publish = async (huntId: string, type: string, data?: Record<string, unknown>) => {
      const id = `${huntId}-${n++}`;
      const event = { specversion: "1.0", id, source: "test", type, ...(data ? { data } : {}) };
      const ack = await client.js.publish(`hunt.${huntId}.events`, JSON.stringify(event), { msgID: id });
      models.get(huntId)!.apply(ack.seq, { kind: "event", event });
      return ack.seq;
    };
    const lastSeq = new Map<string, number>();
    const round = async (k: number) => {
      for (const h of HUNTS)
        lastSeq.set(
          h,
          await publish(h, "ScoreAdjusted", {
            playerId: `p${(k * 7) % 20}`,
            delta: (k % 9) - 3,
            reason: "r",
          }),
        );
    };
    for (const h of HUNTS) {
      await publish(h, "HuntCreated", { title: h, treasures: [{ id: "t", points: 1 }] });
      await publish(h, "HuntStarted");
      for (let p = 0; p < 20; p++) await publish(h, "PlayerJoined", { playerId: `p${p}` });
    }
    for (let k = 0; k < 60; k++) await round(k);

    // e2 dies without a word; its partitions must move to e1 and e3.
    const victimPartitions = Object.entries(await owners())
      .filter(([, o]) => o === "e2")
      .map(([p]) => Number(p));
    expect(victimPartitions.length).toBeGreaterThan(0);
    await engines.get("e2")!.kill();
    engines.delete("e2");
    for (let k = 60; k < 120; k++) await round(k);
    await waitFor(
      async () => {
        const o = await owners();
        return (
          Object.keys(o).length === PARTITIONS && Object.values(o).every((e) => e === "e1" || e === "e3")
        );
      },
      { timeoutMs: 20_000, message: "e2's partitions to move" },
    );

    // e4 joins: it takes a share, and nothing is lost while partitions hand over.
    await start("e4");
    for (let k = 120; k < 180; k++) await round(k);
    await waitFor(async () => Object.values(await owners()).includes("e4"), {
      timeoutMs: 20_000,
      message: "e4 to take partitions",
    });

    for (const h of HUNTS) {
      await waitFor(
        async () =>
          (await queryHunt<{ seq: number }>(client.nc, h, "state", {}, 2000)).seq >= lastSeq.get(h)!,
        {
          timeoutMs: 30_000,
          message: `hunt ${h} to be handled`,
        },
      );
      const top = await queryHunt<{ entries: { playerId: string; score: number; rank: number }[] }>(
        client.nc,
        h,
        "top",
        { n: 100 },
      );
      expect(top.entries.map((e) => [e.playerId, e.score])).toEqual(
        models
          .get(h)!
          .leaderboard()
          .map((p) => [p.id, p.score]),
      );
      const info = await client.jsm.streams.info("HUNT_RANKS", { subjects_filter: `hunt.${h}.ranks` });
      expect(info.state.subjects?.[`hunt.${h}.ranks`] ?? 0).toBe(
        models.get(h)!.outputs.filter((o) => o.kind === "rank").length,
      );
    }
    const final = await owners();
    expect(Object.keys(final).length).toBe(PARTITIONS);
    expect(HUNTS.some((h) => victimPartitions.includes(partitionOf(h, PARTITIONS)))).toBe(true);
  });
});
