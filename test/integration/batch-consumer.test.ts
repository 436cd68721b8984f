// The batch consumer against a real nats-server: batching, ack after apply, redelivery after restart, server restarts;
// and the engine's lanes over it, whose failed batches restart them after a wait that doubles only with failures in a row.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lanes } from "../../actors/host/lanes.ts";
import {
  consumeBatches,
  EVENTS_STREAM,
  ensureStreams,
  type LogMessage,
  startEmbeddedNats,
} from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";

let server: TestNats;
let client: TestClient;

beforeAll(async () => {
  server = await startTestNats();
  client = await connectTest(server.url);
  await ensureStreams(client.jsm, { snapshots: false });
});

afterAll(async () => {
  await client?.nc.close();
  await server?.cleanup();
});

/** Core-publishes n events on the hunt's subject and returns their stream sequences. */
async function publish(huntId: string, n: number, from = 0): Promise<number[]> {
  const acks = [];
  for (let i = 0; i < n; i++) {
    acks.push(
      client.js.publish(`hunt.${huntId}.events`, `{"n":${from + i}}`, { msgID: `${huntId}-${from + i}` }),
    );
  }
  return (await Promise.all(acks)).map((a) => a.seq);
}

async function ackFloor(durable: string): Promise<number> {
  return (await client.jsm.consumers.info(EVENTS_STREAM, durable)).ack_floor.stream_seq;
}

describe("consumeBatches", () => {
  it("hands over every message in order, in batches of at most maxMessages, acking each batch", async () => {
    const seqs = await publish("b1", 2500);
    const got: LogMessage[] = [];
    const sizes: number[] = [];
    const c = await consumeBatches(client.js, {
      stream: EVENTS_STREAM,
      durable: "b1",
      filterSubject: "hunt.b1.events",
      maxMessages: 1000,
      onBatch(batch) {
        sizes.push(batch.length);
        got.push(...batch);
      },
    });
    await waitFor(() => got.length === 2500, { message: "2500 messages" });
    expect(got.map((m) => m.seq)).toEqual(seqs);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
    expect(got[0]!.huntId).toBe("b1");
    expect(JSON.parse(new TextDecoder().decode(got[7]!.data))).toEqual({ n: 7 });
    expect(Math.abs(got[0]!.time - Date.now())).toBeLessThan(60_000);
    await waitFor(async () => (await ackFloor("b1")) === seqs[seqs.length - 1], {
      message: "ack floor at the end",
    });
    await c.stop();
    expect(c.stats).toMatchObject({ state: "stopped", messages: 2500, lastSeq: seqs[seqs.length - 1] });
  });

  it("acks only after an asynchronous onBatch completes, and keeps later batches waiting in order", async () => {
    const seqs = await publish("b2", 30);
    let release!: () => void;
    const gate = new Promise<void>((res) => {
      release = res;
    });
    const calls: number[][] = [];
    const c = await consumeBatches(client.js, {
      stream: EVENTS_STREAM,
      durable: "b2",
      filterSubject: "hunt.b2.events",
      maxMessages: 10,
      onBatch(batch) {
        calls.push(batch.map((m) => m.seq));
        if (calls.length === 1) return gate;
      },
    });
    await waitFor(() => calls.length === 1, { message: "first batch" });
    await waitFor(() => c.stats.queuedBatches > 0, { message: "later batches queued" });
    expect(calls).toHaveLength(1);
    expect(await ackFloor("b2")).toBe(0);
    release();
    await waitFor(() => c.stats.lastSeq === seqs[29], { message: "all batches" });
    expect(calls.flat()).toEqual(seqs);
    await waitFor(async () => (await ackFloor("b2")) === seqs[29], { message: "acked" });
    await c.stop();
  });

  it("redelivers an un-acked batch, in order, when the consumer restarts", async () => {
    const seqs = await publish("b3", 40);
    const first: number[] = [];
    const c1 = await consumeBatches(client.js, {
      stream: EVENTS_STREAM,
      durable: "b3",
      filterSubject: "hunt.b3.events",
      maxMessages: 10,
      onBatch(batch) {
        if (first.length >= 10) throw new Error("crash while folding");
        first.push(...batch.map((m) => m.seq));
      },
    });
    const err = await c1.closed;
    expect(err?.message).toBe("crash while folding");
    await c1.stop();
    const acked = await ackFloor("b3");
    expect(acked).toBe(first[first.length - 1]);
    const second: number[] = [];
    const c2 = await consumeBatches(client.js, {
      stream: EVENTS_STREAM,
      durable: "b3",
      filterSubject: "hunt.b3.events",
      maxMessages: 10,
      ackWaitMs: 60_000, // redelivery must not depend on the ack wait expiring
      onBatch(batch) {
        second.push(...batch.map((m) => m.seq));
      },
    });
    await waitFor(() => second.length === seqs.length - first.length, { message: "the rest redelivered" });
    expect([...first, ...second]).toEqual(seqs);
    await c2.stop();
  });

  it("starts at startSeq when asked (recovery from a snapshot)", async () => {
    const seqs = await publish("b4", 20);
    const got: number[] = [];
    const c = await consumeBatches(client.js, {
      stream: EVENTS_STREAM,
      durable: "b4",
      filterSubject: "hunt.b4.events",
      startSeq: seqs[12]!,
      onBatch(batch) {
        got.push(...batch.map((m) => m.seq));
      },
    });
    await waitFor(() => got.length === 8, { message: "tail" });
    expect(got).toEqual(seqs.slice(12));
    await c.stop();
  });

  /**
   * A lane consumes three messages of `durable` and stops; a pull whose client never acks is then left
   * ahead of the next lane's (the first lane's last one lives on until it expires; an earlier
   * engine's may never ack). A second lane starts, `more` messages are published, and it must get
   * them all, well within the ack wait (2 minutes) after which the stale pull's would come back.
   */
  async function afterStalePull(durable: string, more: number, maxAckPending?: number) {
    const seqs = await publish(durable, 3);
    const options = {
      stream: EVENTS_STREAM,
      durable,
      filterSubject: `hunt.${durable}.events`,
      ackWaitMs: 120_000,
      ...(maxAckPending ? { maxAckPending } : {}),
    };
    const got: number[] = [];
    const onBatch = (batch: LogMessage[]) => {
      got.push(...batch.map((m) => m.seq));
    };
    const first = await consumeBatches(client.js, { ...options, onBatch });
    await waitFor(() => got.length === 3, { message: "the first three" });
    await first.stop();
    await waitFor(async () => (await ackFloor(durable)) === seqs[2], { message: "the first three acked" });
    const stale = client.nc.subscribe(`stale-pull-${durable}`);
    client.nc.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.${durable}`,
      JSON.stringify({ batch: 1, expires: 60_000_000_000 }),
      { reply: `stale-pull-${durable}` },
    );
    await client.nc.flush();
    const second = await consumeBatches(client.js, { ...options, stallCheckMs: 200, onBatch });
    seqs.push(...(await publish(durable, more, 3)));
    await waitFor(() => got.length === 3 + more, { timeoutMs: 15_000, message: `all ${3 + more}` });
    expect(got).toEqual(seqs);
    expect(second.stats.resets).toBe(1);
    await second.stop();
    stale.unsubscribe();
  }

  it("re-creates its durable when it stalls: a stale pull took the only ack slot and new messages wait behind it", async () => {
    // The stale pull takes the fourth and never acks it; with one ack slot the fifth waits, pending.
    await afterStalePull("b6", 2, 1);
  });

  it("re-creates its durable when a stale pull took every message left, leaving none pending", async () => {
    // The stale pull takes the one message to come: nothing is pending, and it is delivered, unacked,
    // to a pull the lane does not own.
    await afterStalePull("b8", 1);
  });

  it("keeps the durable a timed-out re-create made, rather than deleting it and timing out again", async () => {
    const seqs = await publish("b7", 3);
    // A cluster node short answers the create of a consumer only once the new consumer has elected
    // its leader, which on a loaded 2.9 cluster can take longer than the request's time-out: the
    // durable is made, and the client is told "timeout". Here every create after the first does that.
    const jsm = await client.js.jetstreamManager();
    const add = jsm.consumers.add.bind(jsm.consumers);
    let adds = 0;
    jsm.consumers.add = async (...args: Parameters<typeof add>) => {
      const created = await add(...args);
      if (++adds > 1) throw new Error("timeout");
      return created;
    };
    const js = Object.assign(Object.create(client.js), { jetstreamManager: async () => jsm });
    const got: number[] = [];
    const c = await consumeBatches(js, {
      stream: EVENTS_STREAM,
      durable: "b7",
      filterSubject: "hunt.b7.events",
      onBatch(batch) {
        got.push(...batch.map((m) => m.seq));
      },
    });
    await waitFor(() => got.length === 3, { message: "the first three" });
    // The durable goes (as when its leader is lost for good): the consumer re-creates it after seq 3.
    await client.jsm.consumers.delete(EVENTS_STREAM, "b7");
    await waitFor(() => adds >= 2, { message: "a re-create" });
    seqs.push(...(await publish("b7", 2, 3)));
    // Re-creating again would only time out again, and again: the messages would never come.
    await waitFor(() => got.length === 5, { timeoutMs: 15_000, message: "all five" });
    expect(got).toEqual(seqs);
    await c.stop();
  });

  it("keeps consuming, without gaps or duplicates, across a nats-server restart", async () => {
    const own = await startTestNats();
    const port = own.port;
    const oc = await connectTest(own.url);
    await ensureStreams(oc.jsm, { snapshots: false });
    const pub = async (from: number, n: number) => {
      for (let i = from; i < from + n; i++)
        await oc.js.publish("hunt.r.events", `{"n":${i}}`, { msgID: `r-${i}` });
    };
    await pub(0, 100);
    const got: number[] = [];
    const c = await consumeBatches(oc.js, {
      stream: EVENTS_STREAM,
      durable: "r",
      filterSubject: "hunt.r.events",
      maxMessages: 50,
      onBatch(batch) {
        got.push(...batch.map((m) => JSON.parse(new TextDecoder().decode(m.data)).n as number));
      },
    });
    await waitFor(() => got.length === 100, { message: "first 100" });
    let reconnected = false;
    void (async () => {
      for await (const st of oc.nc.status()) if (st.type === "reconnect") reconnected = true;
    })();
    await own.stop();
    const again = await startEmbeddedNats({ storeDir: own.storeDir, port });
    try {
      await waitFor(() => reconnected, { message: "client reconnected", timeoutMs: 15_000 });
      await pub(100, 100);
      await waitFor(() => got.length >= 200, { message: "all 200 after the restart", timeoutMs: 30_000 });
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
      await c.stop();
    } finally {
      await oc.nc.close();
      await again.stop();
      await own.cleanup();
    }
  });
});

describe("a lane whose batches fail", () => {
  it("waits longer with each failure in a row, and the shortest time again after a batch went through", async () => {
    const firstMs = 20;
    let failing = 5;
    const handled: number[] = [];
    /** Each failure as the lane saw it: its place in a row and the wait before the lane restarts. */
    const failures: { inARow: number; restartInMs: number }[] = [];
    const lanes: Lanes = new Lanes(
      client.nc,
      {
        partitions: 0,
        durable: "lanes-in-a-row",
        batchSize: 10,
        filterSubject: "hunt.inarow.events",
        openTimeoutMs: 5_000,
        restartBackoff: { firstMs, maxMs: 60_000 },
        logger: pino({ level: "silent" }),
        metrics: undefined,
      },
      {
        onBatch(_lane, batch) {
          if (failing > 0) {
            failing--;
            throw new Error("this batch fails");
          }
          for (const msg of batch) handled.push(msg.seq);
        },
        onLaneLost() {
          const { inARow, restartInMs } = lanes.lastFailure!;
          failures.push({ inARow, restartInMs });
        },
      },
    );
    try {
      const first = await client.js.publish("hunt.inarow.events", "{}");
      await lanes.openSingle();
      await waitFor(() => handled.length === 1, { message: "the first event handled after five failures" });
      expect(handled).toEqual([first.seq]);
      expect(failures.map((f) => f.inARow)).toEqual([1, 2, 3, 4, 5]);

      failing = 1;
      const second = await client.js.publish("hunt.inarow.events", "{}");
      await waitFor(() => handled.length === 2, { message: "the second event handled after one failure" });
      expect(handled).toEqual([first.seq, second.seq]);
      expect(failures.map((f) => f.inARow)).toEqual([1, 2, 3, 4, 5, 1]);
      expect(lanes.batchFailures).toBe(6);

      // Each wait is the doubled one less a random half at most: the sixth is the first's again.
      const ceilings = [1, 2, 4, 8, 16, 1].map((k) => k * firstMs);
      failures.forEach(({ restartInMs }, i) => {
        expect(restartInMs).toBeGreaterThanOrEqual(ceilings[i]! / 2);
        expect(restartInMs).toBeLessThanOrEqual(ceilings[i]!);
      });
    } finally {
      await lanes.stop();
    }
  });
});
