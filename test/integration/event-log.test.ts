// The hunt input log against a real nats-server: append, dedup, optimistic concurrency, replay, snapshots, outputs.
import { headers } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { outputValidators } from "../../schemas/index.ts";
import {
  ConcurrencyError,
  deliveryOf,
  EVENTS_STREAM,
  EventLog,
  ensureStreams,
  InvalidHuntIdError,
  lastOutput,
  lastOutputSeq,
  msgIdOf,
  OutputPublisher,
  SnapshotStore,
} from "../../streams/index.ts";
import {
  cloudEvent,
  connectTest,
  startTestNats,
  type TestClient,
  type TestNats,
  waitFor,
} from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

let server: TestNats;
let client: TestClient;
let log: EventLog;

beforeAll(async () => {
  server = await startTestNats();
  client = await connectTest(server.url);
  await ensureStreams(client.jsm);
  log = new EventLog(client.js, client.jsm);
});

afterAll(async () => {
  await client?.nc.close();
  await server?.cleanup();
});

const decoder = new TextDecoder();

/** Appends `n` events to a hunt; returns their seqs. */
async function appendSome(huntId: string, n: number): Promise<number[]> {
  const seqs = [];
  for (let i = 1; i <= n; i++)
    seqs.push((await log.append(huntId, cloudEvent(`${huntId}-${i}`, "HuntStarted"))).seq);
  return seqs;
}

type ConsumerGet = TestClient["js"]["consumers"]["get"];

/** The test client's JetStream, each `consumers.get` of which goes through `get` (given the real one). */
function jsWithConsumers(
  get: (real: ConsumerGet, ...args: Parameters<ConsumerGet>) => ReturnType<ConsumerGet>,
): TestClient["js"] {
  return new Proxy(client.js, {
    get(target, prop) {
      if (prop !== "consumers") return Reflect.get(target, prop);
      return {
        get: (...args: Parameters<ConsumerGet>) => get((...a) => target.consumers.get(...a), ...args),
      };
    },
  });
}

describe("EventLog", () => {
  it("round-trips events with the JetStream sequence and timestamp", async () => {
    const before = Date.now();
    const a = await log.append("rt", cloudEvent("rt-1", "HuntStarted"));
    const b = await log.append(
      "rt",
      new TextEncoder().encode(JSON.stringify(cloudEvent("rt-2", "HuntPaused"))),
    );
    expect(b.seq).toBeGreaterThan(a.seq);
    const read = [];
    for await (const m of log.read("rt", 1)) read.push(m);
    expect(read.map((m) => m.seq)).toEqual([a.seq, b.seq]);
    expect(read.map((m) => JSON.parse(decoder.decode(m.data)).id)).toEqual(["rt-1", "rt-2"]);
    expect(read[0]!.huntId).toBe("rt");
    expect(read[0]!.time).toBeGreaterThanOrEqual(before - 1000);
    expect(read[0]!.time).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await log.lastSeq("rt")).toBe(b.seq);
    expect(await log.lastSeq("never-written")).toBe(0);
  });

  it("drops a re-published event id as a duplicate", async () => {
    const first = await log.append("dup", cloudEvent("dup-1", "HuntStarted"));
    const again = await log.append("dup", cloudEvent("dup-1", "HuntStarted"));
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ seq: first.seq, duplicate: true });
    expect(await log.lastSeq("dup")).toBe(first.seq);
  });

  it("enforces optimistic concurrency with expectLastSeq", async () => {
    const first = await log.append("occ", cloudEvent("occ-1", "HuntStarted"), { expectLastSeq: 0 });
    const second = await log.append("occ", cloudEvent("occ-2", "HuntPaused"), { expectLastSeq: first.seq });
    const err = await log
      .append("occ", cloudEvent("occ-3", "HuntResumed"), { expectLastSeq: first.seq })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect((err as ConcurrencyError).code).toBe("concurrency_conflict");
    expect((err as ConcurrencyError).expectedLastSeq).toBe(first.seq);
    expect((err as ConcurrencyError).actualLastSeq).toBe(second.seq);
  });

  it("replays from an arbitrary sequence up to untilSeq, ignoring other hunts", async () => {
    const seqs: number[] = [];
    for (let i = 1; i <= 50; i++) {
      seqs.push((await log.append("replay", cloudEvent(`rp-${i}`, "HuntStarted"))).seq);
      await log.append("other", cloudEvent(`ot-${i}`, "HuntStarted"));
    }
    const from = seqs[10]!;
    const until = seqs[39]!;
    const got: number[] = [];
    for await (const m of log.read("replay", from, { untilSeq: until })) got.push(m.seq);
    expect(got).toEqual(seqs.slice(10, 40));
    const tail: number[] = [];
    for await (const m of log.read("replay", seqs[45]!)) tail.push(m.seq);
    expect(tail).toEqual(seqs.slice(45));
    const none: number[] = [];
    for await (const m of log.read("replay", seqs[49]! + 1000)) none.push(m.seq);
    expect(none).toEqual([]);
  });

  it("stops at the end of the log as of when reading started", async () => {
    for (let i = 1; i <= 20; i++) await log.append("live", cloudEvent(`lv-${i}`, "HuntStarted"));
    const got: number[] = [];
    for await (const m of log.read("live", 1)) {
      if (got.length === 0) await log.append("live", cloudEvent("lv-late", "HuntStarted"));
      got.push(m.seq);
    }
    expect(got).toHaveLength(20);
  });

  it("makes no consumer for a read whose range holds none of the hunt's events, as a new hunt's activation's", async () => {
    await log.append("gap-before", cloudEvent("gap-b", "HuntStarted"));
    const first = (await log.append("gap", cloudEvent("gap-1", "HuntStarted"))).seq;
    await log.append("gap-between", cloudEvent("gap-m", "HuntStarted"));
    const second = (await log.append("gap", cloudEvent("gap-2", "HuntPaused"))).seq;
    // Every consumer API request the client sends, seen as the server does.
    const requests: string[] = [];
    const tap = client.nc.subscribe("$JS.API.CONSUMER.>", {
      callback: (_err, m) => {
        requests.push(m.subject);
      },
    });
    await client.nc.flush();
    const seqs = async (fromSeq: number, untilSeq?: number) => {
      const got: number[] = [];
      for await (const batch of log.readBatches("gap", fromSeq, untilSeq === undefined ? {} : { untilSeq }))
        got.push(...batch.map((m) => m.seq));
      await client.nc.flush();
      return got;
    };
    expect(await seqs(1, first - 1)).toEqual([]);
    expect(await seqs(first + 1, second - 1)).toEqual([]);
    expect(await seqs(second + 1)).toEqual([]);
    expect(await seqs(Number.POSITIVE_INFINITY)).toEqual([]);
    expect(requests.filter((s) => s.includes(".CREATE."))).toEqual([]);
    expect(await seqs(1)).toEqual([first, second]);
    expect(await seqs(first + 1)).toEqual([second]);
    expect(requests.filter((s) => s.includes(".CREATE.")).length).toBe(2);
    tap.unsubscribe();
  });

  it("ends with an error that says so, instead of waiting for ever, when its events are purged as it starts", async () => {
    const appended = await appendSome("purged", 5);
    // The events go between the read's sizing of its range and its consumer's start: the client this
    // log reads through purges them just before it makes the consumer.
    const purging = jsWithConsumers(async (get, ...args) => {
      await client.jsm.streams.purge(EVENTS_STREAM, { filter: "hunt.purged.events" });
      return get(...args);
    });
    const reading = async () => {
      for await (const _ of new EventLog(purging, client.jsm).readBatches("purged", 1)) {
        // nothing is left to read
      }
    };
    await expect(reading()).rejects.toThrow(
      `reading hunt "purged": its events after seq ${appended[0]! - 1} up to seq ${appended[4]} are no longer in the stream`,
    );
  });

  it("reads on when its messages are late but its events are still in the stream", async () => {
    const appended = await appendSome("late", 5);
    // The consumer's messages reach the read only once it has asked the stream twice whether its
    // events are still there (its range's own first lookup, then one idle check after another): the
    // second check shows the first found them and did not end the read, so it waits for them.
    let held: (() => void)[] | undefined = [];
    let asked = 0;
    const tap = client.nc.subscribe("$JS.API.DIRECT.GET.>", {
      callback: (_err, m) => {
        if (!m.string().includes('"next_by_subj":"hunt.late.events"') || ++asked < 3 || !held) return;
        const deliveries = held;
        held = undefined;
        for (const deliver of deliveries) deliver();
      },
    });
    await client.nc.flush();
    const late = jsWithConsumers(async (get, ...args) => {
      const consumer = await get(...args);
      return new Proxy(consumer, {
        get(c, key) {
          if (key !== "consume") return Reflect.get(c, key);
          return (opts: { callback: (m: unknown) => void }) =>
            c.consume({
              ...opts,
              callback: (m) => (held ? held.push(() => opts.callback(m)) : opts.callback(m)),
            } as Parameters<typeof c.consume>[0]);
        },
      });
    });
    const got: number[] = [];
    for await (const batch of new EventLog(late, client.jsm).readBatches("late", 1))
      got.push(...batch.map((m) => m.seq));
    tap.unsubscribe();
    expect(asked).toBeGreaterThanOrEqual(3);
    expect(got).toEqual(appended);
  });

  it("stops its idle check once every message is in, even when its reader has gone", async () => {
    await appendSome("left", 3);
    const started = vi.spyOn(globalThis, "setInterval");
    const cleared = vi.spyOn(globalThis, "clearInterval");
    try {
      const reading = log.readBatches("left", 1, { batch: 1 });
      await reading.next(); // the first batch taken; the reader then leaves without returning
      // The read's idle check is the interval it started; each tick is run here at once.
      const call = started.mock.calls.findIndex(([, ms]) => ms === 2_000);
      expect(call, "the read started its idle check").toBeGreaterThanOrEqual(0);
      const tick = started.mock.calls[call]![0] as () => void;
      const timer = started.mock.results[call]!.value;
      await waitFor(
        () => {
          tick();
          return cleared.mock.calls.some(([t]) => t === timer);
        },
        { message: "the idle check to stop once the last message came in" },
      );
    } finally {
      started.mockRestore();
      cleared.mockRestore();
    }
  });

  it("leaves no consumer on the server once a read is over, finished or abandoned", async () => {
    await log.append("tidy", cloudEvent("tidy-1", "HuntStarted"));
    await log.append("tidy", cloudEvent("tidy-2", "HuntPaused"));
    const consumers = async () => (await client.jsm.consumers.list(EVENTS_STREAM).next()).length;
    const before = await consumers();
    for (let i = 0; i < 3; i++) {
      for await (const _ of log.read("tidy", 1)) {
        // read to the end
      }
    }
    for await (const _ of log.read("tidy", 1)) break; // abandoned after the first message
    // The deletes are sent as each read ends, not awaited by the reader.
    await waitFor(async () => (await consumers()) === before, {
      message: "every read's consumer to be deleted",
    });
  });

  it("rejects bad hunt ids with a clear error", async () => {
    await expect(log.append("a.b", cloudEvent("x", "HuntStarted"))).rejects.toBeInstanceOf(
      InvalidHuntIdError,
    );
    await expect(log.lastSeq("")).rejects.toThrow(/1-64 characters/);
    await expect(log.lastSeq("x".repeat(65))).rejects.toThrow(InvalidHuntIdError);
  });
});

describe("SnapshotStore", () => {
  it("puts and gets a 3 MB snapshot, replaces and deletes it", async () => {
    const store = new SnapshotStore(client.js);
    const big = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    await store.put("snap", big);
    const got = await store.get("snap");
    expect(got?.length).toBe(big.length);
    expect(Buffer.from(got!).equals(Buffer.from(big))).toBe(true);
    await store.put("snap", new Uint8Array([1, 2, 3]));
    expect(Array.from((await store.get("snap"))!)).toEqual([1, 2, 3]);
    await store.delete("snap");
    expect(await store.get("snap")).toBeUndefined();
    expect(await store.get("no-snapshot")).toBeUndefined();
    await store.delete("no-snapshot");
  });
});

describe("OutputPublisher and lastOutputSeq", () => {
  it("publishes idempotent outputs and finds the last input seq they name", async () => {
    expect(await lastOutputSeq(client.jsm, "out")).toBe(0);
    const pub = new OutputPublisher(client.nc);
    const rank = { seq: 0, playerId: "p", score: 1, rank: 1, previousRank: 0, players: 1 };
    pub.rank("out", 5, 0, { ...rank, seq: 5 });
    pub.rank("out", 7, 0, { ...rank, seq: 7 });
    pub.rank("out", 7, 1, { ...rank, seq: 7 });
    pub.rank("out", 7, 1, { ...rank, seq: 7 }); // re-published after a "crash": dropped by the window
    pub.rejected("out", 9, 0, { seq: 9, eventId: "e", type: "Foo", code: "invalid_event", message: "x" });
    pub.top("out", { seq: 9, entries: [] });
    await pub.flush();
    await waitFor(async () => (await lastOutputSeq(client.jsm, "out")) === 9, { message: "outputs stored" });
    expect(await lastOutput(client.jsm, "out")).toEqual({ seq: 9, n: 0 });
    const info = await client.jsm.streams.info("HUNT_RANKS", { subjects_filter: "hunt.out.ranks" });
    expect(info.state.messages).toBe(3);
    pub.rank("out", 12, 2, { ...rank, seq: 12 });
    await pub.flush();
    await waitFor(async () => (await lastOutput(client.jsm, "out"))?.seq === 12, { message: "rank stored" });
    expect(await lastOutput(client.jsm, "out")).toEqual({ seq: 12, n: 2 });
  });

  it("counts a team rank message on hunt.<id>.teams.ranks as an output, numbered after the player message", async () => {
    const pub = new OutputPublisher(client.nc);
    pub.rankChange("team-out", 4, "p", 3, 1, 1, 1);
    pub.teamRankChange("team-out", 4, 1, "red", 3, 1, 1, 2);
    await pub.flush();
    await waitFor(async () => (await lastOutput(client.jsm, "team-out"))?.n === 1, { message: "team rank" });
    expect(await lastOutput(client.jsm, "team-out")).toEqual({ seq: 4, n: 1 });
    // A team message alone (a team's adjustment) is its input's output 0, and the latest output.
    pub.teamRankChange("team-out", 6, 0, "red", 5, 1, 1, 2);
    await pub.flush();
    await waitFor(async () => (await lastOutput(client.jsm, "team-out"))?.seq === 6, {
      message: "team rank",
    });
    const stored = await readSubject(client.js, client.jsm, "HUNT_RANKS", "hunt.team-out.teams.ranks");
    expect(stored).toEqual([
      {
        body: { seq: 4, teamId: "red", score: 3, rank: 1, previousRank: 1, teams: 2 },
        msgId: "team-out:4:1",
      },
      {
        body: { seq: 6, teamId: "red", score: 5, rank: 1, previousRank: 1, teams: 2 },
        msgId: "team-out:6:0",
      },
    ]);
    for (const m of stored) expect(outputValidators.teamRankChange(m.body)).toBe(true);
    await pub.settle();
    pub.close();
  });
});

describe("reading a stored input", () => {
  it("takes its exact time and its Nats-Msg-Id from the raw message, as the decoded message says", async () => {
    const subject = "hunt.raw-read.events";
    const h = headers();
    h.set("Other", "x");
    await client.js.publish(subject, "{}", { msgID: "id-é-1" });
    await client.js.publish(subject, "{}", { headers: h });
    await client.js.publish(subject, "{}");
    const consumer = await client.js.consumers.get("HUNT_EVENTS", { filter_subjects: subject });
    const got: {
      fast: string | null;
      decoded: string | null;
      time: number;
      exact: number;
      raw: boolean;
    }[] = [];
    for await (const m of await consumer.fetch({ max_messages: 3, expires: 2000 })) {
      const d = deliveryOf(m);
      // The one-scan reading of the ack subject agrees with nats.js's own.
      expect([d.streamSequence, d.deliverySequence, d.pending]).toEqual([
        m.info.streamSequence,
        m.info.deliverySequence,
        m.info.pending,
      ]);
      got.push({
        fast: msgIdOf(m),
        decoded: m.headers?.get("Nats-Msg-Id") || null,
        time: d.timeMs,
        exact: Number(m.timestampNanos / 1_000_000n),
        // The cheap path reads nats.js's raw message: if an upgrade moves it, this says so.
        raw: (m as unknown as { msg?: { _rdata?: unknown } }).msg?._rdata instanceof Uint8Array,
      });
    }
    expect(got.map((g) => g.fast)).toEqual(["id-é-1", null, null]);
    for (const g of got) {
      expect(g.fast).toBe(g.decoded);
      expect(g.time).toBe(g.exact);
      expect(g.raw).toBe(true);
    }
  });
});
