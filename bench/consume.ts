// Benchmark of the NATS paths: acked and un-acked publish rates, and consumeBatches throughput per batch size.
// Run: npx tsx bench/consume.ts [--events N] [--batches 100,500,1000] [--nats URL] [--smoke]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { intFlag, parseFlags, UsageError } from "../bin/flags.ts";
import {
  connect,
  consumeBatches,
  type EmbeddedNats,
  EVENTS_STREAM,
  ensureStreams,
  OutputPublisher,
  startEmbeddedNats,
} from "../streams/index.ts";

export const usage = `usage: cairn bench consume [flags]

Measures the NATS paths: acked and un-acked publish rates into HUNT_EVENTS, and consumeBatches
throughput per batch size, with and without one output published per event.

  --events N      events in the consume runs (default 200000)
  --batches LIST  batch sizes, comma-separated (default 100,250,500,1000,2000,4000)
  --nats URL      a server to use (default: a fresh nats-server in a temp directory)
  --smoke         tiny sizes: 2,000 events, batches 100,1000`;

/** Runs the benchmark; resolves to the exit code. `--smoke` means tiny sizes. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags("bench consume", argv, {
    smoke: { type: "boolean", default: false },
    events: { type: "string" },
    batches: { type: "string" },
    nats: { type: "string" },
  });
  const smoke = values.smoke === true;
  const events = intFlag("bench consume", "events", values.events, smoke ? 2000 : 200_000, 1);
  const batchList = values.batches ?? (smoke ? "100,1000" : "100,250,500,1000,2000,4000");
  const batchSizes = batchList.split(",").map(Number);
  if (!batchSizes.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new UsageError(
      `--batches must be whole numbers above 0, comma-separated, got "${batchList}"`,
      "for example --batches 100,500,1000",
    );
  }
  let server: EmbeddedNats | undefined;
  let storeDir: string | undefined;
  if (!values.nats) {
    storeDir = mkdtempSync(join(tmpdir(), "cairn-bench-consume-"));
    server = await startEmbeddedNats({ storeDir });
  }
  const url = values.nats ?? server!.url;
  const nc = await connect({ servers: url, name: "cairn-bench-consume" });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  try {
    await ensureStreams(jsm, { snapshots: false });
    const run = Date.now().toString(36);
    const body = (i: number) =>
      `{"specversion":"1.0","id":"b-${run}-${i}","source":"bench","type":"TreasureFound","data":{"playerId":"p-${i % 10_000}","treasureId":"t-${i % 100}"}}`;

    // Acked publish, pipelined (1000 in flight), as `cairn publish` and game servers do.
    const ackedN = Math.min(events, smoke ? 1000 : 50_000);
    let t = performance.now();
    const inflight: Array<Promise<unknown>> = [];
    for (let i = 0; i < ackedN; i++) {
      inflight.push(js.publish(`hunt.bench-acked-${run}.events`, body(i), { msgID: `a-${run}-${i}` }));
      if (inflight.length >= 1000) await Promise.all(inflight.splice(0));
    }
    await Promise.all(inflight);
    const ackedRate = ackedN / ((performance.now() - t) / 1000);

    // Un-acked (core) publish into the stream's subject, then wait until the stream holds them all.
    const hunt = `bench-${run}`;
    const subject = `hunt.${hunt}.events`;
    const before = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    t = performance.now();
    for (let i = 0; i < events; i++) {
      nc.publish(subject, body(i));
      if ((i & 4095) === 4095) await nc.flush(); // let the socket drain now and then
    }
    await nc.flush();
    for (;;) {
      const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: subject });
      if (info.state.last_seq - before >= events) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const coreRate = events / ((performance.now() - t) / 1000);
    const lastSeq = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;

    console.log(`nats-server ${nc.info?.version} at ${url}, ${events} events`);
    console.log(`acked publish (1000 in flight): ${fmt(ackedRate)} events/s (${ackedN} events)`);
    console.log(`core publish into the stream:  ${fmt(coreRate)} events/s`);
    console.log("");
    console.log("batch | no-op fold events/s | one output per event events/s | mean batch");
    const out = new OutputPublisher(nc);
    const results: Array<{ batch: number; noop: number; outputs: number }> = [];
    for (const batch of batchSizes) {
      const noop = await consumeOnce(batch, false);
      const outputs = await consumeOnce(batch, true);
      results.push({ batch, noop: noop.rate, outputs: outputs.rate });
      console.log(
        `${String(batch).padStart(5)} | ${fmt(noop.rate).padStart(19)} | ${fmt(outputs.rate).padStart(29)} | ${outputs.mean.toFixed(0)}`,
      );
    }
    const best = results.reduce((a, b) => (b.outputs > a.outputs ? b : a));
    console.log(`best with outputs: batch ${best.batch} (${fmt(best.outputs)} events/s)`);
    return 0;

    async function consumeOnce(batch: number, withOutputs: boolean): Promise<{ rate: number; mean: number }> {
      const durable = `bench_${run}_${batch}_${withOutputs ? "o" : "n"}`;
      let count = 0;
      let batches = 0;
      let done!: () => void;
      const finished = new Promise<void>((r) => {
        done = r;
      });
      const rank = { seq: 0, playerId: "", score: 0, rank: 1, previousRank: 2, players: 10_000 };
      const start = performance.now();
      const c = await consumeBatches(js, {
        stream: EVENTS_STREAM,
        durable,
        filterSubject: subject,
        maxMessages: batch,
        onBatch(msgs) {
          batches++;
          for (const m of msgs) {
            count++;
            if (withOutputs) {
              rank.seq = m.seq;
              rank.playerId = `p-${m.seq % 10_000}`;
              rank.score = m.seq;
              out.rank(hunt, m.seq, 0, rank);
            }
          }
          if (msgs[msgs.length - 1]!.seq >= lastSeq) done();
        },
      });
      await finished;
      const secs = (performance.now() - start) / 1000;
      await c.stop();
      await jsm.consumers.delete(EVENTS_STREAM, durable).catch(() => {});
      if (withOutputs) await out.flush();
      return { rate: count / secs, mean: count / Math.max(1, batches) };
    }
  } finally {
    await nc.close();
    await server?.stop();
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await run(process.argv.slice(2));
}
