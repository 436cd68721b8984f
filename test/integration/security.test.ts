// deploy/nats/accounts.conf attacked on a real nats-server with the real engine: no role but the operator can
// purge, forge or eavesdrop, not even through a reply subject, and each role can still do its job.
//
// Roles and how they connect (the example users of accounts.conf):
//   publisher  cairn-publisher  account PUBLISHERS   inboxPrefix _INBOX.cairn-publisher
//   subscriber cairn-subscriber account SUBSCRIBERS  inboxPrefix _INBOX.cairn-subscriber
//   viewer     (anonymous)      account VIEWERS      over WebSocket only, inboxPrefix _INBOX.viewer
//   engine     cairn-engine     account CAIRN        (the real engine, startEngine)
//   operator   cairn-operator   account CAIRN        reads stream states before and after each attack
//
// Each attack below passes only when it is refused AND every stream of CAIRN (messages, first and last
// sequence, consumers) is what it was before, as the operator reads it after a round-trip barrier.
// Role       | request                                                            | result
// -----------|--------------------------------------------------------------------|---------------------------
// subscriber | pub hunt.nohunt.query.state, reply $JS.API.STREAM.PURGE.HUNT_EVENTS | engine answers _R_.…; the answer lands in SUBSCRIBERS (no JetStream); nothing purged
// viewer     | pub hunt.nohunt.public.state, reply $JS.API.STREAM.PURGE.HUNT_EVENTS| same, in VIEWERS
// publisher  | pub hunt.nohunt.query.state, reply $JS.API.STREAM.PURGE.HUNT_EVENTS | same, in PUBLISHERS
// publisher  | pub hunt.<h>.events (an event), reply $JS.API.STREAM.PURGE.HUNT_EVENTS | event stored (its job), PubAck goes to PUBLISHERS; nothing purged
// all three  | a query / public query / event with reply hunt.victim.ranks        | HUNT_RANKS unchanged; nothing reaches hunt.victim.ranks in CAIRN
// all three  | the same with reply cairn.snapshot.x.meta                          | CAIRN_SNAPSHOTS unchanged
// all three  | the same with reply $KV.CAIRN_OWNERS.p.0                           | the CAIRN_OWNERS bucket unchanged
// all three  | the same with reply hunt.victim.events                             | HUNT_EVENTS unchanged (the publisher's own event only)
// all three  | sub _INBOX.>, sub >, sub another role's inbox prefix               | permissions violation
// all three  | pub $JS.API.STREAM.DELETE.HUNT_EVENTS                              | permissions violation; stream kept
// all three  | $JS.API.CONSUMER.CREATE.HUNT_RANKS with a deliver_subject          | refused; no consumer made
// all three  | pub $KV.CAIRN_OWNERS.p.0, pub cairn.snapshot.x.meta                | permissions violation; nothing stored
// publisher  | pub hunt.<h>.ranks (forged rank), also as an acked publish         | permissions violation; not stored
// subscriber | pub hunt.<h>.events                                                | permissions violation; not stored
// viewer     | pub hunt.x.events, request hunt.x.query.state, sub hunt.x.ranks     | permissions violations
// viewer     | plain TCP, with no credentials or as "viewer"                      | authorization violation
//
// What stays possible (deploy/nats/permissions.conf says why): inside one role account a reply subject can
// still name a subject that other users of that same account follow, so a subscriber can make the engine's
// answer arrive live on hunt.<id>.ranks for the other subscribers of its account (never stored), and a viewer
// likewise on hunt.<id>.top for other viewers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { wsconnect } from "@nats-io/nats-core";
import {
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  PermissionViolationError,
} from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type Engine, OWNERS_BUCKET, startEngine } from "../../actors/index.ts";
import {
  connect,
  type EmbeddedNats,
  EVENTS_STREAM,
  queryHunt,
  RANKS_STREAM,
  SnapshotStore,
} from "../../streams/index.ts";
import { ACCOUNTS_USERS, cloudEvent, startAccountsLayout, waitFor } from "../support/nats.ts";

const { ENGINE, OPERATOR, PUBLISHER, SUBSCRIBER } = ACCOUNTS_USERS;
const VIEWER_INBOX = "_INBOX.viewer";
const HUNT = "sec-hunt";
const quiet = pino({ level: "silent" });

// nats.js's WebSocket transport uses the global WebSocket, which Node 20 lacks.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

type Role = "publisher" | "subscriber" | "viewer";
const ROLES: Role[] = ["publisher", "subscriber", "viewer"];

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

/** What the operator sees of every stream in CAIRN: enough to tell that nothing was stored, purged or added. */
type StoreState = Record<
  string,
  { messages: number; first_seq: number; last_seq: number; consumer_count: number }
>;

describe("deploy/nats/accounts.conf under attack", () => {
  let dir: string;
  let server: EmbeddedNats;
  let engine: Engine;
  let operator: NatsConnection;
  let publisher: NatsConnection;
  let subscriber: NatsConnection;
  let viewer: NatsConnection;
  let standIn: NatsConnection;
  let wsUrl: string;
  const errors = {} as Record<Role, PermissionViolationError[]>;
  const conn = (role: Role) => ({ publisher, subscriber, viewer })[role];
  // What each role's query subject is: publishers and subscribers ask live queries, viewers public ones.
  const querySubject = (role: Role, hunt: string) =>
    role === "viewer" ? `hunt.${hunt}.public.state` : `hunt.${hunt}.query.state`;
  // Messages that reach the real output subjects in CAIRN (a forgery would show up here).
  const inCairn: Msg[] = [];
  // The reply subjects of the public queries as they reach the engine's account (seen by an observer).
  const publicReplies: string[] = [];
  let eventIds = 0;

  async function storeState(): Promise<StoreState> {
    const jsm = await jetstreamManager(operator);
    const state: StoreState = {};
    for await (const si of jsm.streams.list()) {
      const { messages, first_seq, last_seq, consumer_count } = si.state;
      state[si.config.name] = { messages, first_seq, last_seq, consumer_count };
    }
    return state;
  }

  /**
   * Proves that whatever `role` sent before has been handled: its connection is flushed, a request over the same
   * path is answered (so the engine saw the earlier one), and the engine's own connection is flushed (so its
   * earlier answers reached the server).
   */
  async function barrier(role: Role): Promise<void> {
    const nc = conn(role);
    await nc.flush();
    const reply = await nc.request(querySubject(role, HUNT), "{}", { timeout: 5000 });
    expect(reply.json<{ error?: unknown }>().error).toBeUndefined();
    await engine.nc.flush();
    await standIn.flush();
    await operator.flush();
  }

  /**
   * The publisher's own event for the attacks: it pauses or resumes the running hunt, which the engine accepts
   * without writing any output, so every other stream (and the engine's consumers) stays as it was.
   */
  function ownEvent(): { subject: string; body: string; hdrs: MsgHdrs; id: string } {
    const id = `sec-${++eventIds}`;
    const hdrs = headers();
    hdrs.set("Nats-Msg-Id", id);
    const e = cloudEvent(id, eventIds % 2 === 1 ? "HuntPaused" : "HuntResumed");
    return { subject: `hunt.${HUNT}.events`, body: JSON.stringify(e), hdrs, id };
  }

  /** Sends a message with a reply subject of the attacker's choice along each path that role has. */
  async function aimReplyAt(role: Role, reply: string): Promise<number> {
    const nc = conn(role);
    nc.publish(querySubject(role, "nohunt"), "{}", { reply });
    nc.publish(querySubject(role, HUNT), "{}", { reply });
    if (role !== "publisher") {
      await barrier(role);
      return 0;
    }
    const e = ownEvent();
    nc.publish(e.subject, e.body, { reply, headers: e.hdrs });
    await barrier(role);
    // An acked publish after it: its PubAck means the stream has stored everything this connection sent before.
    const last = ownEvent();
    await jetstream(publisher).publish(last.subject, last.body, { msgID: last.id });
    return 2;
  }

  /** The state after an attack that stored nothing, or only `events` new events of the publisher's own. */
  function expectUnchanged(before: StoreState, after: StoreState, events = 0): void {
    const expected = structuredClone(before);
    const log = expected[EVENTS_STREAM]!;
    log.messages += events;
    log.last_seq += events;
    expect(after).toEqual(expected);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-test-sec-"));
    ({ server, wsUrl } = await startAccountsLayout(dir));
    engine = await startEngine({
      nats: { servers: server.url, ...ENGINE },
      metricsPort: null,
      logger: quiet,
      topIntervalMs: 20,
      // No snapshot may be written on a timer while the attacks compare CAIRN_SNAPSHOTS.
      snapshotIntervalMs: 3_600_000,
    });
    operator = await connect({ servers: server.url, name: "sec-operator", ...OPERATOR });
    // The partition leases' bucket, so that attacks on it have something to change.
    const owners = await new Kvm(operator).create(OWNERS_BUCKET, { history: 1, replicas: 1 });
    await owners.put("sec-probe", "operator");
    operator.subscribe("hunt.victim.*", {
      callback: (_e, m) => {
        inCairn.push(m);
      },
    });
    // An observer in the engine's account (it answers nothing: the engine does) sees what reply
    // subject a viewer's public query carries there.
    standIn = await connect({ servers: server.url, name: "sec-public-observer", ...ENGINE });
    standIn.subscribe("hunt.*.public.*", {
      callback: (_e, m) => {
        if (m.reply) publicReplies.push(m.reply);
      },
    });
    await standIn.flush();
    publisher = await connect({ servers: server.url, name: "sec-publisher", ...PUBLISHER });
    subscriber = await connect({ servers: server.url, name: "sec-subscriber", ...SUBSCRIBER });
    viewer = await wsconnect({ servers: wsUrl, inboxPrefix: VIEWER_INBOX, maxReconnectAttempts: 0 });
    for (const role of ROLES) errors[role] = violations(conn(role));
    // A running hunt, so that queries have something to answer.
    const js = jetstream(publisher);
    const events = [
      cloudEvent("c", "HuntCreated", { title: "sec", treasures: [{ id: "t1", points: 3 }] }),
      cloudEvent("s", "HuntStarted"),
    ];
    for (const e of events)
      await js.publish(`hunt.${HUNT}.events`, JSON.stringify(e), { msgID: String(e.id) });
    await waitFor(async () => (await queryHunt<{ seq: number }>(operator, HUNT, "state")).seq === 2, {
      message: "the engine to handle the hunt's first events",
    });
  });

  afterAll(async () => {
    for (const nc of [publisher, subscriber, viewer, standIn, operator]) await nc?.close().catch(() => {});
    await engine?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("each role does its job", () => {
    it("refuses connections without credentials or with a wrong password, and viewers over plain TCP", async () => {
      const url = server.url;
      await expect(connect({ servers: url, maxReconnectAttempts: 0 })).rejects.toThrow();
      await expect(
        connect({ servers: url, maxReconnectAttempts: 0, user: PUBLISHER.user, pass: "wrong" }),
      ).rejects.toThrow();
      await expect(
        connect({ servers: url, maxReconnectAttempts: 0, user: "viewer", pass: "" }),
      ).rejects.toThrow();
    });

    it("a game server's acked publish is stored and acked with its sequence; ranks reach the subscriber", async () => {
      const received: { seq: number; playerId: string; rank: number }[] = [];
      const sub = subscriber.subscribe(`hunt.${HUNT}.ranks`, {
        callback: (_e, m) => {
          received.push(m.json());
        },
      });
      await subscriber.flush();
      const js = jetstream(publisher);
      const events = [
        cloudEvent("j1", "PlayerJoined", { playerId: "ann" }),
        cloudEvent("j2", "PlayerJoined", { playerId: "bob" }),
        cloudEvent("f1", "TreasureFound", { playerId: "bob", treasureId: "t1" }),
      ];
      const first = (await storeState())[EVENTS_STREAM]!.last_seq + 1;
      for (const [i, e] of events.entries()) {
        const ack = await js.publish(`hunt.${HUNT}.events`, JSON.stringify(e), { msgID: String(e.id) });
        expect(ack).toMatchObject({ stream: EVENTS_STREAM, seq: first + i, duplicate: false });
      }
      await waitFor(() => received.length >= 3, { message: "three rank messages at the subscriber" });
      sub.unsubscribe();
      const jsm = await jetstreamManager(operator);
      await waitFor(async () => (await jsm.streams.info(RANKS_STREAM)).state.messages === 3, {
        message: "three rank messages stored in HUNT_RANKS",
      });
      expect(received.map((r) => [r.seq, r.playerId, r.rank])).toEqual([
        [first, "ann", 1],
        [first + 1, "bob", 2],
        [first + 2, "bob", 1],
      ]);
      // `cairn publish` checks the stream through the two read-only API subjects PUBLISHERS imports.
      const info = await (await jetstreamManager(publisher)).streams.info(EVENTS_STREAM);
      expect(info.state.last_seq).toBe(first + 2);
      expect(errors.publisher).toEqual([]);
    });

    it("a subscriber queries the engine and reads HUNT_RANKS by Direct Get, history included", async () => {
      // A state reply may be one computed a moment earlier (hashing is budgeted): ask until it is current.
      await waitFor(
        async () =>
          (await queryHunt<{ seq: number; players: number }>(subscriber, HUNT, "state")).players === 2,
        { message: "the state to count both players" },
      );
      const jsm = await jetstreamManager(subscriber);
      const last = await jsm.direct.getMessage(RANKS_STREAM, { last_by_subj: `hunt.${HUNT}.ranks` });
      expect(last?.json<{ playerId: string; rank: number }>()).toMatchObject({ playerId: "bob", rank: 1 });
      // The stored history, without a consumer: next_by_subj from sequence 1 until there is no next.
      const history: string[] = [];
      for (let seq = 1; ; ) {
        const m = await jsm.direct.getMessage(RANKS_STREAM, { seq, next_by_subj: `hunt.${HUNT}.ranks` });
        if (!m) break;
        history.push(m.json<{ playerId: string }>().playerId);
        seq = m.seq + 1;
      }
      expect(history).toEqual(["ann", "bob", "bob"]);
      expect((await jsm.streams.info(RANKS_STREAM)).state.last_seq).toBe(last?.seq);
      expect(errors.subscriber).toEqual([]);
    });

    it("a viewer over WebSocket follows hunt.<id>.top and asks public queries, answered through _R_ replies", async () => {
      const top = await new Promise<{ entries: { playerId: string }[] }>((res) => {
        viewer.subscribe(`hunt.${HUNT}.top`, { max: 1, callback: (_e, m) => res(m.json()) });
        // The engine publishes top only when it changes: a new player makes it change.
        void viewer
          .flush()
          .then(() =>
            jetstream(publisher).publish(
              `hunt.${HUNT}.events`,
              JSON.stringify(cloudEvent("j3", "PlayerJoined", { playerId: "cy" })),
              { msgID: "j3" },
            ),
          );
      });
      expect(top.entries.map((e) => e.playerId)).toContain("cy");
      const reply = await viewer.request(`hunt.${HUNT}.public.state`, "{}", { timeout: 5000 });
      expect(reply.json()).toMatchObject({ status: "running" });
      expect(publicReplies.at(-1)).toMatch(/^_R_\./);
      expect(errors.viewer).toEqual([]);
      // cy's rank message is stored before the attacks below compare stream states.
      const jsm = await jetstreamManager(operator);
      await waitFor(async () => (await jsm.streams.info(RANKS_STREAM)).state.messages === 4, {
        message: "the fourth rank message in HUNT_RANKS",
      });
    });
  });

  describe("confused deputy: replies aimed at the JetStream API and at stored subjects", () => {
    for (const role of ROLES) {
      it(`${role}: reply $JS.API.STREAM.PURGE.HUNT_EVENTS purges nothing`, async () => {
        const before = await storeState();
        const events = await aimReplyAt(role, `$JS.API.STREAM.PURGE.${EVENTS_STREAM}`);
        expectUnchanged(before, await storeState(), events);
      });

      it(`${role}: reply hunt.victim.ranks stores no rank and reaches no CAIRN subscriber`, async () => {
        const before = await storeState();
        const seen = inCairn.length;
        const events = await aimReplyAt(role, "hunt.victim.ranks");
        expectUnchanged(before, await storeState(), events);
        expect(inCairn.slice(seen)).toEqual([]);
      });

      it(`${role}: reply hunt.victim.top reaches no CAIRN subscriber`, async () => {
        const seen = inCairn.length;
        await aimReplyAt(role, "hunt.victim.top");
        expect(inCairn.slice(seen)).toEqual([]);
      });

      it(`${role}: reply cairn.snapshot.x.meta overwrites no snapshot`, async () => {
        const before = await storeState();
        const events = await aimReplyAt(role, "cairn.snapshot.x.meta");
        expectUnchanged(before, await storeState(), events);
      });

      it(`${role}: reply $KV.CAIRN_OWNERS.p.0 writes no lease`, async () => {
        const before = await storeState();
        const events = await aimReplyAt(role, `$KV.${OWNERS_BUCKET}.p.0`);
        expectUnchanged(before, await storeState(), events);
      });

      it(`${role}: reply hunt.victim.events appends no event`, async () => {
        const before = await storeState();
        const events = await aimReplyAt(role, "hunt.victim.events");
        expectUnchanged(before, await storeState(), events);
        const jsm = await jetstreamManager(operator);
        expect(
          await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: "hunt.victim.events" }),
        ).toBeNull();
      });
    }
  });

  describe("direct attacks on the JetStream API, the bucket and the snapshots", () => {
    for (const role of ROLES) {
      it(`${role}: stream delete, KV and snapshot writes are permission violations and change nothing`, async () => {
        const before = await storeState();
        const nc = conn(role);
        const subjects = [
          `$JS.API.STREAM.DELETE.${EVENTS_STREAM}`,
          `$JS.API.STREAM.PURGE.${EVENTS_STREAM}`,
          `$KV.${OWNERS_BUCKET}.p.0`,
          "cairn.snapshot.x.meta",
        ];
        for (const s of subjects) nc.publish(s, "{}");
        await barrier(role);
        await waitFor(() => subjects.every((s) => errors[role].some((e) => e.subject === s)), {
          message: `a permissions violation for each of ${subjects.join(", ")}`,
        });
        expect(await storeState()).toEqual(before);
      });

      it(`${role}: cannot create a consumer (its deliver_subject could redirect stored messages)`, async () => {
        const before = await storeState();
        const nc = conn(role);
        const request = JSON.stringify({
          stream_name: RANKS_STREAM,
          config: { deliver_subject: "hunt.victim.events", ack_policy: AckPolicy.None },
        });
        await expect(
          nc.request(`$JS.API.CONSUMER.CREATE.${RANKS_STREAM}`, request, { timeout: 2000 }),
        ).rejects.toThrow();
        await barrier(role);
        expect(await storeState()).toEqual(before);
      });
    }
  });

  describe("eavesdropping: no role reads another's inbox", () => {
    for (const role of ROLES) {
      it(`${role}: may not subscribe to _INBOX.>, to >, or to another role's inbox prefix`, async () => {
        const nc = conn(role);
        const own = {
          publisher: PUBLISHER.inboxPrefix,
          subscriber: SUBSCRIBER.inboxPrefix,
          viewer: VIEWER_INBOX,
        };
        const others = Object.values(own).filter((p) => p !== own[role]);
        const subjects = ["_INBOX.>", ">", ...others.map((p) => `${p}.>`)];
        const got: Msg[] = [];
        for (const s of subjects)
          nc.subscribe(s, {
            callback: (err, m) => {
              if (!err) got.push(m);
            },
          });
        await barrier(role);
        await waitFor(
          () =>
            subjects.every((s) =>
              errors[role].some((e) => e.operation === "subscription" && e.subject === s),
            ),
          { message: `subscription violations for ${subjects.join(", ")}` },
        );
        // Traffic to the engine and to the other roles meanwhile: none of it may arrive.
        const e = ownEvent();
        await jetstream(publisher).publish(e.subject, e.body, { msgID: e.id });
        const back = ownEvent();
        await jetstream(publisher).publish(back.subject, back.body, { msgID: back.id });
        await barrier("subscriber");
        await barrier("viewer");
        await barrier(role);
        expect(got.map((m) => `${m.subject} ${m.sid}`)).toEqual([]);
      });
    }
  });

  describe("roles stay in their lane", () => {
    it("a publisher's forged rank is a permissions violation and is not stored, acked or not", async () => {
      const before = await storeState();
      const forged = { seq: 99, playerId: "mallory", score: 1_000_000, rank: 1, previousRank: 0, players: 3 };
      publisher.publish(`hunt.${HUNT}.ranks`, JSON.stringify(forged));
      await barrier("publisher");
      await waitFor(() => errors.publisher.find((e) => e.subject === `hunt.${HUNT}.ranks`), {
        message: "the server's permissions violation for the forged publish",
      });
      await expect(
        jetstream(publisher).publish(`hunt.${HUNT}.ranks`, JSON.stringify(forged), { timeout: 1000 }),
      ).rejects.toThrow();
      expect(publisher.isClosed()).toBe(false);
      expect(await storeState()).toEqual(before);
    });

    it("a subscriber's event is a permissions violation and is not stored", async () => {
      const before = await storeState();
      subscriber.publish(`hunt.${HUNT}.events`, JSON.stringify(cloudEvent("x", "HuntEnded")));
      await barrier("subscriber");
      await waitFor(() => errors.subscriber.find((e) => e.subject === `hunt.${HUNT}.events`), {
        message: "the server's permissions violation for the subscriber's event",
      });
      expect(await storeState()).toEqual(before);
    });

    it("a viewer may not publish events, ask live queries or follow stored outputs", async () => {
      const before = await storeState();
      viewer.publish("hunt.x.events", JSON.stringify(cloudEvent("v", "HuntEnded")));
      await expect(viewer.request("hunt.x.query.state", "{}", { timeout: 2000 })).rejects.toThrow();
      viewer.subscribe("hunt.x.ranks");
      await barrier("viewer");
      await waitFor(
        () =>
          ["hunt.x.events", "hunt.x.query.state", "hunt.x.ranks"].every((s) =>
            errors.viewer.some((e) => e.subject === s),
          ),
        { message: "permissions violations for the viewer's event, live query and ranks subscription" },
      );
      expect(await storeState()).toEqual(before);
    });

    it("a publisher may not read outputs or serve queries", async () => {
      publisher.subscribe(`hunt.${HUNT}.ranks`);
      publisher.subscribe(`hunt.${HUNT}.query.*`);
      await barrier("publisher");
      await waitFor(
        () =>
          [`hunt.${HUNT}.ranks`, `hunt.${HUNT}.query.*`].every((s) =>
            errors.publisher.some((e) => e.operation === "subscription" && e.subject === s),
          ),
        { message: "subscription violations for the publisher" },
      );
    });
  });

  describe("the engine runs on its own grants", () => {
    it("stores a snapshot on a graceful stop, and a restarted engine reads it", async () => {
      // The attacks above end with events of the publisher's own: the state compared is the one after
      // the last of them, or the restarted engine would fold what this one had not yet.
      const jsm = await jetstreamManager(operator);
      const last = (await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: `hunt.${HUNT}.events` }))
        ?.seq;
      await waitFor(async () => (await queryHunt<{ seq: number }>(subscriber, HUNT, "state")).seq === last, {
        message: "the engine folded the hunt's last event",
      });
      const before = await queryHunt<{ seq: number; stateHash: string }>(subscriber, HUNT, "state");
      await engine.stop();
      engine = await startEngine({
        nats: { servers: server.url, ...ENGINE },
        metricsPort: null,
        logger: quiet,
        snapshotIntervalMs: 3_600_000,
      });
      const snapshot = await new SnapshotStore(engine.nc).get(HUNT);
      expect(snapshot?.length).toBeGreaterThan(0);
      expect(await queryHunt(subscriber, HUNT, "state")).toEqual(before);
    });

    it("takes its partition leases in the CAIRN_OWNERS bucket", async () => {
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
});
