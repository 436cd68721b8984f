// Cairn on a 3-node JetStream cluster (deploy/nats/cluster) with R3 streams. Mid-publish, kill -9 the node that
// leads HUNT_EVENTS and HUNT_RANKS (not the engine's own server) and keep publishing. Then check that no acked
// event and no rank message is lost or doubled, while the node is down and after it is back.
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { connect, EVENTS_STREAM, queryHunt, RANKS_STREAM, REJECTED_STREAM } from "../../streams/index.ts";
import { type ClusterNode, publishAcked, startTestCluster, type TestCluster } from "../support/cluster.ts";
import { cloudEvent, waitFor } from "../support/nats.ts";

const HUNT = "cluster-hunt";
const PLAYERS = 20;
const ADJUSTMENTS = 280;
const KILL_AT = 100; // the index of the event published right after the kill
// CAIRN_TEST_LOG=info shows the engine's log (failover, reconnects, activations) when this test fails.
const quiet = pino({ level: process.env.CAIRN_TEST_LOG ?? "silent" });

/** The hunt: create, start, PLAYERS joins, then non-zero ScoreAdjusted. Every event after the first two yields one rank message. */
function huntEvents(): { id: string; body: Record<string, unknown>; ranks: boolean }[] {
  const events = [
    {
      id: "create",
      body: cloudEvent("create", "HuntCreated", { title: "cluster", treasures: [{ id: "t1", points: 1 }] }),
      ranks: false,
    },
    { id: "start", body: cloudEvent("start", "HuntStarted"), ranks: false },
  ];
  for (let p = 0; p < PLAYERS; p++) {
    const id = `join-${p}`;
    events.push({ id, body: cloudEvent(id, "PlayerJoined", { playerId: `p${p}` }), ranks: true });
  }
  for (let i = 0; i < ADJUSTMENTS; i++) {
    const id = `adj-${i}`;
    // Deterministic, never zero: deltas from -3..+5 without 0.
    const delta = ((i * 7) % 8) - 3 || 5;
    const data = { playerId: `p${(i * 13) % PLAYERS}`, delta, reason: "test" };
    events.push({ id, body: cloudEvent(id, "ScoreAdjusted", data), ranks: true });
  }
  return events;
}

describe("engine on a 3-node JetStream cluster, R3 streams, a node killed mid-publish", () => {
  let cluster: TestCluster;
  let engine: Engine;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let killed: ClusterNode;
  let killedRoles: string[] = [];
  const events = huntEvents();
  const acked: { seq: number; id: string }[] = [];
  let retried = 0;

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    await cluster.waitForMetaLeader();
    engine = await startEngine({
      nats: { servers: cluster.urls, reconnectTimeWaitMs: 100 },
      metricsPort: null,
      logger: quiet,
      streams: { replicas: 3 },
      topIntervalMs: 20,
    });
    nc = await connect({ servers: cluster.urls, name: "cairn-cluster-test", reconnectTimeWaitMs: 100 });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);

    for (const [i, e] of events.entries()) {
      if (i === KILL_AT) {
        // The worst case, made deterministic: the node we kill leads both the input and the output stream,
        // and the engine is connected to another node, so it sees no disconnect at all.
        await engineAt(acked[acked.length - 1]!.seq, 15_000);
        const engineServer = engine.nc.info?.server_name;
        const eventsLeader = (await jsm.streams.info(EVENTS_STREAM)).cluster?.leader;
        const target = eventsLeader && eventsLeader !== engineServer ? eventsLeader : undefined;
        killed = target
          ? cluster.node(target)
          : cluster.nodes.find((n) => n.name !== engineServer && n.name !== eventsLeader)!;
        await leadOn(killed.name, [EVENTS_STREAM, RANKS_STREAM]);
        const leaders = new Map<string, string>();
        for (const s of [EVENTS_STREAM, RANKS_STREAM, REJECTED_STREAM]) {
          leaders.set(s, (await jsm.streams.info(s)).cluster?.leader ?? "");
        }
        killedRoles = [...leaders].filter(([, l]) => l === killed.name).map(([s]) => `${s} leader`);
        if (engine.nc.info?.server_name === killed.name) killedRoles.push("the engine's server");
        await killed.kill();
      }
      const { seq, retries } = await publishAcked(js, `hunt.${HUNT}.events`, e.id, e.body);
      acked.push({ seq, id: e.id });
      retried += retries;
    }
  });

  /**
   * Every message stored on `subject` in `stream`, read with Direct Get (next_by_subj) rather than an ordered
   * consumer: on 2.9.10 an ephemeral consumer of an R3 stream can be placed on the dead peer and time out.
   */
  async function storedOn(
    stream: string,
    subject: string,
  ): Promise<{ seq: number; msgId: string | undefined }[]> {
    const out: { seq: number; msgId: string | undefined }[] = [];
    for (let from = 1; ; ) {
      // A replica may time out while the cluster is a node short: retry each read, with a deadline.
      const m = await waitFor(
        async () => ({ m: await jsm.direct.getMessage(stream, { seq: from, next_by_subj: subject }) }),
        { timeoutMs: 15_000, intervalMs: 100, message: `a direct get on ${stream}` },
      ).then((r) => r.m);
      if (!m) return out;
      out.push({ seq: m.json<{ seq: number }>().seq, msgId: m.header.get("Nats-Msg-Id") });
      from = m.seq + 1;
    }
  }

  /** Waits until the engine's state query reports `seq`. */
  async function engineAt(seq: number, timeoutMs: number) {
    await waitFor(async () => (await queryHunt<{ seq: number }>(nc, HUNT, "state")).seq >= seq, {
      timeoutMs,
      intervalMs: 50,
      message: `the engine to reach seq ${seq}`,
    });
  }

  /** Steps the streams' leaders down until `server` leads each of them (a step-down picks a random peer). */
  async function leadOn(server: string, streams: string[]) {
    for (const stream of streams) {
      await waitFor(
        async () => {
          const leader = (await jsm.streams.info(stream)).cluster?.leader;
          if (leader === server) return true;
          if (leader) await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, "", { timeout: 5000 });
          return false;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: `${server} to lead ${stream}` },
      );
    }
  }

  afterAll(async () => {
    await nc?.close().catch(() => {});
    await engine?.stop();
    await cluster?.cleanup();
  });

  it("keeps every acked event, once, in order, after the stream leader died", async () => {
    expect(killed.alive).toBe(false);
    expect(killedRoles).toEqual(
      expect.arrayContaining([`${EVENTS_STREAM} leader`, `${RANKS_STREAM} leader`]),
    );
    expect(killedRoles).not.toContain("the engine's server");
    expect(retried).toBeGreaterThan(0); // the kill really interrupted publishing
    // Each event was acked at its own, increasing sequence: a retried publish was deduplicated, not stored twice.
    expect(acked.map((a) => a.seq)).toEqual(events.map((_, i) => i + 1));
    const info = await jsm.streams.info(EVENTS_STREAM);
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.leader).not.toBe(killed.name);
    expect(info.state.messages).toBe(events.length);
    expect(info.state.last_seq).toBe(events.length);
    for (const a of acked) {
      const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq: a.seq });
      expect(m?.header.get("Nats-Msg-Id")).toBe(a.id);
      expect(m?.subject).toBe(`hunt.${HUNT}.events`);
    }
  });

  /** Waits for the engine's state query to reach the last acked seq, then for one rank message per expected seq. */
  async function expectEngineCaughtUp(timeoutMs: number) {
    const last = acked[acked.length - 1]!.seq;
    const where = `killed ${killed.name} (${killedRoles.join(", ")})`;
    let seen: unknown;
    const state = await waitFor(
      async () => {
        const s = await queryHunt<{ seq: number; status: string; players: number }>(nc, HUNT, "state");
        seen = s;
        return s.seq >= last ? s : undefined;
      },
      { timeoutMs, intervalMs: 100, message: `the engine's state query to reach seq ${last}` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer ${JSON.stringify(seen)}; ${where}`);
    });
    expect(state).toMatchObject({ seq: last, status: "running", players: PLAYERS });

    const expectedSeqs = acked.filter((_, i) => events[i]!.ranks).map((a) => a.seq);
    const subject = `hunt.${HUNT}.ranks`;
    const stored = async () =>
      (await jsm.streams.info(RANKS_STREAM, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
    // Outputs are published as the fold runs; the state query can answer before the last ones are stored.
    await waitFor(async () => (await stored()) >= expectedSeqs.length, {
      timeoutMs: 10_000,
      intervalMs: 100,
      message: `${expectedSeqs.length} rank messages on ${subject}`,
    }).catch(async (err: Error) => {
      const have = new Set((await storedOn(RANKS_STREAM, subject)).map((r) => r.seq));
      const missing = expectedSeqs.filter((s) => !have.has(s));
      throw new Error(`${err.message}; missing the outputs of input seqs ${missing.join(",")}; ${where}`);
    });
    const ranks = await storedOn(RANKS_STREAM, subject);
    // Exactly once each. Not necessarily in seq order: an output lost with the old leader is re-sent
    // when its ack does not come, and by then newer outputs may be stored (README, "Limits").
    expect(ranks.length).toBe(expectedSeqs.length);
    expect(ranks.map((r) => r.seq).sort((a, b) => a - b)).toEqual(expectedSeqs);
    for (const r of ranks) expect(r.msgId).toBe(`${HUNT}:${r.seq}:0`);
    // Stream info too can time out while the cluster is a node short: retry it, with a deadline.
    const rejected = await waitFor(
      () => jsm.streams.info(REJECTED_STREAM, { subjects_filter: `hunt.${HUNT}.rejected` }),
      { timeoutMs: 15_000, intervalMs: 100, message: `${REJECTED_STREAM} info` },
    );
    expect(rejected.state.subjects?.[`hunt.${HUNT}.rejected`] ?? 0).toBe(0);
  }

  it("lets the engine reach the last acked seq within 30 s with the node still down, one rank message per change", async () => {
    expect(killed.alive).toBe(false);
    await expectEngineCaughtUp(30_000);
  });

  it("converges once the killed node is back: every rank message stored once, the node caught up", async () => {
    await killed.restart();
    await cluster.waitForMetaLeader();
    await waitFor(
      async () => {
        const info = await jsm.streams.info(EVENTS_STREAM);
        const peers = info.cluster?.replicas ?? [];
        return peers.length === 2 && peers.every((p) => p.current && !p.offline);
      },
      {
        timeoutMs: 20_000,
        intervalMs: 100,
        message: `${killed.name} to rejoin HUNT_EVENTS as a current replica`,
      },
    );
    await expectEngineCaughtUp(30_000);
  });
});
