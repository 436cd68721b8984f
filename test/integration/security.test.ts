// deploy/nats/accounts.conf on a real nats-server: each role can do its job and nothing more. A publisher
// cannot forge outputs, a subscriber cannot publish events, the engine runs with only its own grants.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, PermissionViolationError } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import {
  connect,
  type EmbeddedNats,
  EVENTS_STREAM,
  queryHunt,
  RANKS_STREAM,
  SnapshotStore,
  startEmbeddedNats,
} from "../../streams/index.ts";
import { cloudEvent, waitFor } from "../support/nats.ts";

const ACCOUNTS_FILE = resolve(import.meta.dirname, "../../deploy/nats/accounts.conf");
// The example credentials written in deploy/nats/accounts.conf.
const ENGINE = { user: "cairn-engine", pass: "engine-example-password" };
const PUBLISHER = { user: "cairn-publisher", pass: "publisher-example-password" };
const SUBSCRIBER = { user: "cairn-subscriber", pass: "subscriber-example-password" };
const HUNT = "sec-hunt";
const quiet = pino({ level: "silent" });

/** Collects the permission violations the server reports on a connection. */
function violations(nc: NatsConnection): PermissionViolationError[] {
  const seen: PermissionViolationError[] = [];
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError) seen.push(s.error);
    }
  })().catch(() => {});
  return seen;
}

describe("deploy/nats/accounts.conf permissions", () => {
  let dir: string;
  let server: EmbeddedNats;
  let engine: Engine;
  let publisher: NatsConnection;
  let subscriber: NatsConnection;
  let publisherErrors: PermissionViolationError[];
  let subscriberErrors: PermissionViolationError[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-test-sec-"));
    // nats-server 2.9 joins an include path onto the including file's directory, so it must be relative.
    const config = join(dir, "server.conf");
    writeFileSync(config, `include "${relative(dir, ACCOUNTS_FILE)}"\n`);
    server = await startEmbeddedNats({ storeDir: join(dir, "store"), configFile: config });
    engine = await startEngine({
      nats: { servers: server.url, ...ENGINE },
      metricsPort: null,
      logger: quiet,
      topIntervalMs: 20,
    });
    publisher = await connect({ servers: server.url, name: "sec-publisher", ...PUBLISHER });
    subscriber = await connect({ servers: server.url, name: "sec-subscriber", ...SUBSCRIBER });
    publisherErrors = violations(publisher);
    subscriberErrors = violations(subscriber);
  });

  afterAll(async () => {
    await publisher?.close().catch(() => {});
    await subscriber?.close().catch(() => {});
    await engine?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses connections without credentials or with a wrong password", async () => {
    await expect(connect({ servers: server.url, maxReconnectAttempts: 0 })).rejects.toThrow();
    await expect(
      connect({ servers: server.url, maxReconnectAttempts: 0, user: PUBLISHER.user, pass: "wrong" }),
    ).rejects.toThrow();
  });

  it("lets the engine run a hunt published by the publisher, with ranks reaching the subscriber", async () => {
    const received: { seq: number; playerId: string; rank: number }[] = [];
    const sub = subscriber.subscribe(`hunt.${HUNT}.ranks`, {
      callback: (err, m) => {
        if (!err) received.push(m.json());
      },
    });
    await subscriber.flush();
    const js = jetstream(publisher);
    const events = [
      cloudEvent("c", "HuntCreated", { title: "sec", treasures: [{ id: "t1", points: 3 }] }),
      cloudEvent("s", "HuntStarted"),
      cloudEvent("j1", "PlayerJoined", { playerId: "ann" }),
      cloudEvent("j2", "PlayerJoined", { playerId: "bob" }),
      cloudEvent("f1", "TreasureFound", { playerId: "bob", treasureId: "t1" }),
    ];
    for (const [i, e] of events.entries()) {
      const ack = await js.publish(`hunt.${HUNT}.events`, JSON.stringify(e), { msgID: String(e.id) });
      expect(ack.stream).toBe(EVENTS_STREAM);
      expect(ack.seq).toBe(i + 1);
    }
    await waitFor(() => received.length >= 3, { message: "three rank messages at the subscriber" });
    sub.unsubscribe();
    expect(received.map((r) => [r.seq, r.playerId, r.rank])).toEqual([
      [3, "ann", 1],
      [4, "bob", 2],
      [5, "bob", 1],
    ]);
    // The subscriber may query the engine, and read HUNT_RANKS through Direct Get.
    const state = await queryHunt<{ seq: number; players: number }>(subscriber, HUNT, "state");
    expect(state).toMatchObject({ seq: 5, players: 2 });
    const jsm = await jetstreamManager(subscriber);
    const last = await jsm.direct.getMessage(RANKS_STREAM, { last_by_subj: `hunt.${HUNT}.ranks` });
    expect(last?.json<{ seq: number }>().seq).toBe(5);
    expect(publisherErrors).toEqual([]);
    expect(subscriberErrors).toEqual([]);
  });

  it("refuses a publisher's forged rank message: a permissions violation, and HUNT_RANKS does not store it", async () => {
    const before = (await jetstreamManager(engine.nc)).streams.info(RANKS_STREAM);
    const storedBefore = (await before).state.messages;
    const forged = { seq: 99, playerId: "mallory", score: 1_000_000, rank: 1, previousRank: 0, players: 3 };
    publisher.publish(`hunt.${HUNT}.ranks`, JSON.stringify(forged));
    await publisher.flush();
    const err = await waitFor(() => publisherErrors.find((e) => e.subject === `hunt.${HUNT}.ranks`), {
      message: "the server's permissions violation for the forged publish",
    });
    expect(err?.operation).toBe("publish");
    // An acked publish of the same is refused too (the server never hands it to the stream).
    await expect(
      jetstream(publisher).publish(`hunt.${HUNT}.ranks`, JSON.stringify(forged), { timeout: 1000 }),
    ).rejects.toThrow();
    expect(publisher.isClosed()).toBe(false);
    const info = await (await jetstreamManager(engine.nc)).streams.info(RANKS_STREAM, {
      subjects_filter: `hunt.${HUNT}.ranks`,
    });
    expect(info.state.messages).toBe(storedBefore);
    const last = await (await jetstreamManager(engine.nc)).direct.getMessage(RANKS_STREAM, {
      last_by_subj: `hunt.${HUNT}.ranks`,
    });
    expect(last?.json<{ playerId: string }>().playerId).not.toBe("mallory");
  });

  it("refuses a subscriber's event, and its attempt to create a consumer (which could redirect stored messages)", async () => {
    const eventsBefore = (await (await jetstreamManager(engine.nc)).streams.info(EVENTS_STREAM)).state
      .messages;
    subscriber.publish(`hunt.${HUNT}.events`, JSON.stringify(cloudEvent("x", "HuntEnded")));
    await subscriber.flush();
    await waitFor(() => subscriberErrors.find((e) => e.subject === `hunt.${HUNT}.events`), {
      message: "the server's permissions violation for the subscriber's event",
    });
    const jsm = await jetstreamManager(subscriber);
    await expect(
      jsm.consumers.add(RANKS_STREAM, { deliver_subject: `hunt.${HUNT}.top`, ack_policy: AckPolicy.None }),
    ).rejects.toThrow();
    const eventsAfter = (await (await jetstreamManager(engine.nc)).streams.info(EVENTS_STREAM)).state
      .messages;
    expect(eventsAfter).toBe(eventsBefore);
    const state = await queryHunt<{ seq: number; status: string }>(subscriber, HUNT, "state");
    expect(state).toMatchObject({ seq: eventsBefore, status: "running" });
  });

  it("keeps a publisher from reading outputs and from subscribing to queries", async () => {
    publisher.subscribe(`hunt.${HUNT}.ranks`);
    publisher.subscribe(`hunt.${HUNT}.query.*`);
    await publisher.flush();
    await waitFor(
      () =>
        publisherErrors.some((e) => e.operation === "subscription" && e.subject === `hunt.${HUNT}.ranks`) &&
        publisherErrors.some((e) => e.operation === "subscription" && e.subject === `hunt.${HUNT}.query.*`),
      { message: "subscription violations for the publisher" },
    );
  });

  it("covers the engine's snapshots: a graceful stop stores one, and a restarted engine reads it", async () => {
    const before = await queryHunt<{ seq: number; stateHash: string }>(subscriber, HUNT, "state");
    await engine.stop();
    engine = await startEngine({
      nats: { servers: server.url, ...ENGINE },
      metricsPort: null,
      logger: quiet,
    });
    const snapshot = await new SnapshotStore(engine.nc).get(HUNT);
    expect(snapshot?.length).toBeGreaterThan(0);
    expect(await queryHunt(subscriber, HUNT, "state")).toEqual(before);
  });

  it("covers partition ownership: a partitioned engine takes its leases in the CAIRN_OWNERS bucket", async () => {
    const partitioned = await startEngine({
      nats: { servers: server.url, ...ENGINE },
      metricsPort: null,
      logger: quiet,
      partitions: 2,
      engineId: "sec-partitioned",
      durable: "sec-partitioned",
    });
    try {
      await waitFor(() => partitioned.host.partitionsHeld.length === 2, {
        message: "the partitioned engine to hold both partitions",
      });
    } finally {
      await partitioned.stop();
    }
  });
});
