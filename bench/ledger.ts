// `cairn bench ledger`: the `ledger` query on a long hunt, against the log's raw read rate as its
// ceiling, and what it costs the engine's other queries meanwhile.
//   1. build: a hunt of N events (10,000 players by default), each published with its Nats-Msg-Id;
//   2. raw ceilings: the hunt's log read through EventLog.readBatches (the replay's reader) and
//      EventLog.readPaced (the ledger's, a batch ahead only), counting only;
//   3. an engine process folds the whole log; then one player's ledger is asked: the first page
//      (a fold of the log from seq 1, for at most the engine's page time), the next page (the paused
//      replay resumed), then every page to the end, while `rank` queries are timed every 20 ms to
//      see the engine stay responsive.
import { cpus } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type EngineProcess, startEngineProcess } from "../bin/engine-process.ts";
import { choiceFlag, numberFlag } from "../bin/flags.ts";
import { GameSimulator } from "../bin/game-simulator.ts";
import type { RankIndexKind } from "../native/index.ts";
import type { LedgerReply } from "../schemas/index.ts";
import { connect, EventLog, ensureStreams, queryHunt } from "../streams/index.ts";
import { type FreshNats, probeWhile, publishLog, quantile, startFreshNats, waitHandled } from "./harness.ts";
import { fmtInt, fmtMs, parseBenchFlags, table, writeJson } from "./report.ts";

export const usage = `usage: cairn bench ledger [flags]

  --events N      events in the hunt's log (default 1000000)
  --players N     players who join (default 10000); the rest are finds, hints, adjustments, a few invalid
  --limit N       entries per ledger page (default 100)
  --index KIND    rank index of the engine: auto, native, js (default auto)
  --json [FILE]   write every figure as JSON to FILE (stdout without FILE)
  --smoke         tiny sizes: 20,000 events, 1,000 players, pages of 5`;

/** The latencies of `rank` queries asked every 20 ms while `during` runs. */
function probeRanksWhile<T>(nc: NatsConnection, huntId: string, during: Promise<T>) {
  return probeWhile(during, () => queryHunt(nc, huntId, "rank", { playerId: "p-1" }, 30_000));
}

/** Runs the benchmark; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const values = parseBenchFlags("ledger", argv, {
    events: { type: "string" },
    players: { type: "string" },
    limit: { type: "string" },
    index: { type: "string" },
  });
  const smoke = values.smoke === true;
  const events = numberFlag("bench ledger", "events", values.events, smoke ? 20_000 : 1_000_000, 10);
  const players = Math.min(
    numberFlag("bench ledger", "players", values.players, smoke ? 1000 : 10_000, 2),
    events - 2,
  );
  const limit = numberFlag("bench ledger", "limit", values.limit, smoke ? 5 : 100, 1);
  const index: RankIndexKind = choiceFlag("index", values.index, ["auto", "native", "js"], "auto");
  const say = (s: string) => console.log(`[ledger] ${s}`);
  console.log(
    `bench ledger: a ${fmtInt(events)}-event hunt (${fmtInt(players)} players), pages of ${limit}, index ${index}; ${cpus().length} CPUs, node ${process.version}`,
  );
  let nats: FreshNats | undefined;
  let nc: NatsConnection | undefined;
  let engine: EngineProcess | undefined;
  try {
    nats = await startFreshNats("ledger");
    nc = await connect({ servers: nats.url, name: "cairn-bench-ledger" });
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm);
    const huntId = `ledger-${Date.now().toString(36)}`;

    // 1. Build the log: core publishes in flushed chunks, each with its Nats-Msg-Id.
    const gen = new GameSimulator(nc, {
      huntId,
      players,
      activePlayers: players,
      treasures: 100,
      rate: 1,
      durationSec: 1,
    });
    let t = performance.now();
    await publishLog(nc, huntId, gen.offlineEvents(events - 2 - players), events);
    say(`built ${fmtInt(events)} events in ${fmtMs(performance.now() - t)}`);

    // 2. Raw read ceilings.
    const log = new EventLog(nc, jsm);
    const rawRate = async (read: () => AsyncIterable<unknown[]>) => {
      const t0 = performance.now();
      let count = 0;
      for await (const batch of read()) count += batch.length;
      if (count !== events) throw new Error(`the read saw ${count} events, expected ${events}`);
      return count / ((performance.now() - t0) / 1000);
    };
    const raw = await rawRate(() => log.readBatches(huntId, 1));
    const paced = await rawRate(() => log.readPaced(huntId, 1));
    say(`raw read ${fmtInt(raw)}/s (replay's reader), ${fmtInt(paced)}/s (the ledger's paced reader)`);

    // 3. The engine, then the ledger of one player.
    engine = await startEngineProcess(nats.url, [
      "--index",
      index,
      "--snapshot-every",
      "100000000",
      "--snapshot-interval",
      "1h",
    ]);
    t = performance.now();
    await waitHandled(nc, huntId, events, { timeoutMs: 600_000, pollMs: 100, engine });
    say(`engine folded the log in ${fmtMs(performance.now() - t)}`);
    const playerId = "p-0";
    const ask = (after?: string) =>
      queryHunt<LedgerReply>(
        nc!,
        huntId,
        "ledger",
        { playerId, limit, ...(after ? { after } : {}) },
        600_000,
      );
    t = performance.now();
    const first = await probeRanksWhile(nc, huntId, ask());
    const firstMs = performance.now() - t;
    if (!first.result.next) throw new Error(`player ${playerId} has no second page of ${limit} entries`);
    t = performance.now();
    const second = await ask(first.result.next);
    const secondMs = performance.now() - t;
    // The whole ledger, page after page, from the start again (a fresh replay: the paused one has
    // moved past seq 0).
    t = performance.now();
    const whole = await probeRanksWhile(
      nc,
      huntId,
      (async () => {
        let entries = 0;
        let pages = 0;
        let slowest = 0;
        let after: string | undefined;
        do {
          const t0 = performance.now();
          const page = await ask(after);
          slowest = Math.max(slowest, performance.now() - t0);
          entries += page.entries.length;
          pages++;
          after = page.next;
        } while (after !== undefined);
        return { entries, pages, slowest };
      })(),
    );
    const wholeMs = performance.now() - t;
    const probes = [...first.ms, ...whole.ms].sort((a, b) => a - b);
    say(
      `first page: ${first.result.entries.length} entries up to seq ${fmtInt(first.result.seq)} in ${fmtMs(firstMs)}; ` +
        `next page: ${second.entries.length} entries in ${fmtMs(secondMs)}`,
    );
    console.log("");
    console.log(
      table(
        ["measure", "time", "events/s"],
        [
          ["raw read (EventLog.readBatches, count only)", "", fmtInt(raw)],
          ["raw read (EventLog.readPaced, count only)", "", fmtInt(paced)],
          [`ledger, first page of ${limit} (fold from seq 1)`, fmtMs(firstMs), ""],
          [`ledger, next page of ${limit} (paused replay resumed)`, fmtMs(secondMs), ""],
          [
            `whole ledger: ${fmtInt(whole.result.entries)} entries in ${whole.result.pages} pages, slowest page ${fmtMs(whole.result.slowest)}`,
            fmtMs(wholeMs),
            fmtInt(events / (wholeMs / 1000)),
          ],
          [
            `rank queries meanwhile (${probes.length}): p50 / p99 / max`,
            `${fmtMs(quantile(probes, 0.5))} / ${fmtMs(quantile(probes, 0.99))} / ${fmtMs(probes.at(-1))}`,
            "",
          ],
        ],
      ),
    );
    if (values.json !== undefined) {
      writeJson(values.json, {
        benchmark: "ledger",
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
        params: { events, players, limit, index },
        rawPerSec: raw,
        pacedPerSec: paced,
        firstPage: { ms: firstMs, entries: first.result.entries.length, seq: first.result.seq },
        nextPage: { ms: secondMs, entries: second.entries.length },
        wholeLedger: { ms: wholeMs, ...whole.result },
        rankProbesMs: {
          count: probes.length,
          p50: quantile(probes, 0.5),
          p99: quantile(probes, 0.99),
          max: probes.at(-1),
        },
      });
    }
    return 0;
  } catch (err) {
    if (engine?.stderr.length) console.error(engine.stderr.slice(-10).join("\n"));
    throw err;
  } finally {
    await engine?.kill();
    await nc?.close().catch(() => {});
    await nats?.dispose();
  }
}
