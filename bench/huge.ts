// `cairn bench huge`: one hunt of a million players, end to end in one run, each figure beside its peer:
//   1. joins: HuntCreated, HuntStarted and N PlayerJoined published to an engine, handled joins/s
//      against the rate the same publish is stored at on a server with no engine;
//   2. plays: then 100,000 finds, hints and adjustments; the engine's RSS at its peak and once settled,
//      the rank index's bytes per player, and an estimate of what the rest of the fold holds per player;
//   3. snapshot: the engine stopped gracefully writes its final snapshot: its size, the engine's time to
//      write it (from its own log), and encodeHunt / decodeHunt timed in this process on those bytes;
//   4. restart: a new engine timed from fork to the first `state` answer at the last seq, with the
//      snapshot and then without it (deleted from CAIRN_SNAPSHOTS);
//   5. queries: `top` and `around` latency while play events flow at --rate, against an idle engine.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeHunt, encodeHunt, stateHash } from "../actors/index.ts";
import { type EngineProcess, startEngineProcess } from "../bin/engine-process.ts";
import { choiceFlag, dirFlag, intFlag, numberFlag } from "../bin/flags.ts";
import { FINDS_AND_ADJUSTMENTS, GameSimulator } from "../bin/game-simulator.ts";
import { deserializeRankIndex, type RankIndexKind } from "../native/index.ts";
import { connect, ensureStreams, freePort, queryHunt, SnapshotStore } from "../streams/index.ts";
import {
  describeRestart,
  EngineWatch,
  type FreshNats,
  type PhaseStats,
  probeWhile,
  publishLog,
  quantile,
  type RestartTiming,
  scrapeIndexBytes,
  settledRss,
  sleep,
  startFreshNats,
  timeRestart,
  waitHandled,
} from "./harness.ts";
import { fmtInt, fmtMB, fmtMs, fmtNum, parseBenchFlags, table, writeJson } from "./report.ts";
import { xorshift } from "./xorshift.ts";

export const usage = `usage: cairn bench huge [flags]

  --players N     players who join the one hunt (default 1000000)
  --plays N       play events published after the joins: finds, hints, adjustments (default 100000)
  --rate N        play events/s while the queries are timed under load (default 20000)
  --seconds S     seconds of timed queries, on the idle engine and under load each (default 15)
  --treasures N   treasures (default 100)
  --index KIND    rank index of the engine: auto, native, js (default auto)
  --restarts N    restarts from the snapshot, timed one after another; the table shows the median
                  one's figures (the lower middle one for an even N) and the range (default 3)
  --cpu-prof DIR  restart once more from the snapshot under node --cpu-prof and write that engine's
                  profile to DIR (not one of the timed restarts), and the snapshot's bytes beside it
  --json [FILE]   write every figure as JSON to FILE (stdout without FILE)
  --smoke         a few seconds: 5,000 players, 2,000 plays, 2,000 events/s for 2 s

Prints one table: each figure, and beside it its peer or ceiling (the same publish with no engine,
the engine with an empty hunt, the restart without a snapshot, the same queries on an idle engine).
What the fold holds per player is an estimate: (settled RSS - index bytes - RSS with an empty hunt)
/ players.`;

/** Latencies of the `top` and `around` queries timed side by side, ms, ascending. */
interface QueryTimes {
  top: number[];
  around: number[];
}

/** p50, p99 and count of ascending latencies. */
function summary(ms: number[]) {
  return { count: ms.length, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), max: ms.at(-1) };
}

/** The `time` (ms since the epoch) of the engine's last JSON log line with this message, if it logged one. */
function loggedAt(engine: EngineProcess, msg: string): number | undefined {
  const line = engine.stderr.filter((l) => l.includes(`"msg":"${msg}"`)).at(-1);
  return line === undefined ? undefined : (JSON.parse(line) as { time: number }).time;
}

/**
 * The main thread's profile of process `pid` in `dir` (node names them CPU.<date>.<time>.<pid>.<thread>.<n>;
 * the module loader's worker thread writes one too).
 */
function mainThreadProfile(dir: string, pid: number | undefined): string | undefined {
  const name = readdirSync(dir).find((f) => f.endsWith(".cpuprofile") && f.includes(`.${pid}.0.`));
  return name === undefined ? undefined : join(dir, name);
}

/** Runs `fn` and returns its result with its time in ms. */
function timed<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const result = fn();
  return [result, performance.now() - t];
}

/** Runs the benchmark; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const values = parseBenchFlags("huge", argv, {
    players: { type: "string" },
    plays: { type: "string" },
    rate: { type: "string" },
    seconds: { type: "string" },
    treasures: { type: "string" },
    index: { type: "string" },
    "cpu-prof": { type: "string" },
    restarts: { type: "string" },
  });
  const smoke = values.smoke === true;
  const players = intFlag("bench huge", "players", values.players, smoke ? 5000 : 1_000_000, 2);
  const plays = intFlag("bench huge", "plays", values.plays, smoke ? 2000 : 100_000, 0);
  const rate = intFlag("bench huge", "rate", values.rate, smoke ? 2000 : 20_000, 1);
  const seconds = numberFlag("bench huge", "seconds", values.seconds, smoke ? 2 : 15, 0.5);
  const treasures = intFlag("bench huge", "treasures", values.treasures, 100, 1);
  const index: RankIndexKind = choiceFlag("index", values.index, ["auto", "native", "js"], "auto");
  const restarts = intFlag("bench huge", "restarts", values.restarts, smoke ? 1 : 3, 1);
  const profileDir = dirFlag("bench huge", "cpu-prof", values["cpu-prof"]);
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const started = performance.now();
  const say = (s: string) => console.log(`[huge] ${s}`);
  console.log(
    `bench huge: one hunt of ${fmtInt(players)} players, ${fmtInt(plays)} plays, queries for ${seconds} s idle and at ${fmtInt(rate)} events/s; ` +
      `index ${index}; ${cpus().length} CPUs, node ${process.version}`,
  );
  const huntId = `huge-${Date.now().toString(36)}`;
  const opening = 2; // HuntCreated, HuntStarted
  const afterJoins = opening + players;
  const lastSeq = afterJoins + plays;
  // No snapshot but the one the graceful stop writes (and no snapshot of a million players on the
  // event loop while the queries are timed); an activation without a snapshot may fold the whole log,
  // a checkpoint of the whole hunt every 10,000 inputs, for longer than the default 2 minutes allow.
  const engineArgs = [
    "--index",
    index,
    "--snapshot-every",
    "1000000000",
    "--snapshot-interval",
    "24h",
    "--activation-timeout",
    "30m",
  ];
  let progressAt = 0;
  const progress = (what: string, total: number) => (n: number) => {
    if (performance.now() - progressAt < 5000) return;
    progressAt = performance.now();
    say(`${what}: ${fmtInt(n)} of ${fmtInt(total)}`);
  };

  let nats: FreshNats | undefined;
  let nc: NatsConnection | undefined;
  const engines = new Set<EngineProcess>();
  const running = (engine: EngineProcess) => {
    engines.add(engine);
    return engine;
  };
  try {
    // 1a. The ceiling: the same opening and joins stored by a server with no engine.
    const simulator = (conn: NatsConnection) =>
      new GameSimulator(conn, {
        huntId,
        players,
        activePlayers: players,
        treasures,
        rate,
        durationSec: seconds,
        ...FINDS_AND_ADJUSTMENTS,
      });
    let ceilingJoinsPerSec: number;
    {
      const bare = await startFreshNats("huge-ceiling");
      const bareNc = await connect({ servers: bare.url, name: "cairn-bench-huge-ceiling" });
      try {
        await ensureStreams(await jetstreamManager(bareNc));
        const gen = simulator(bareNc);
        await publishLog(bareNc, huntId, gen.offlineOpening(), opening);
        const t = performance.now();
        await publishLog(bareNc, huntId, gen.offlineJoins(), afterJoins, {
          firstId: opening,
          progress: progress("ceiling: joins published (no engine)", players),
        });
        ceilingJoinsPerSec = players / ((performance.now() - t) / 1000);
        say(`ceiling: ${fmtInt(players)} joins stored with no engine at ${fmtInt(ceilingJoinsPerSec)}/s`);
      } finally {
        await bareNc.close().catch(() => {});
        await bare.dispose();
      }
    }

    // 1b. The engine, an empty hunt, then the joins.
    nats = await startFreshNats("huge");
    nc = await connect({ servers: nats.url, name: "cairn-bench-huge" });
    await ensureStreams(await jetstreamManager(nc));
    const gen = simulator(nc);
    const metricsPort = await freePort();
    // At debug level the engine logs when its snapshot is stored: the one line it logs at that level.
    const first = running(
      await startEngineProcess(nats.url, [
        ...engineArgs,
        "--metrics-port",
        String(metricsPort),
        "--log-level",
        "debug",
      ]),
    );
    const watch = new EngineWatch(first, nats.pid, metricsPort);
    await publishLog(nc, huntId, gen.offlineOpening(), opening);
    await waitHandled(nc, huntId, opening, { engine: first });
    const empty = await settledRss(watch);
    say(`empty hunt: engine RSS ${fmtMB(empty.rss)}${empty.settled ? "" : " (not settled)"}`);

    const joinPhase = watch.phase();
    let t = performance.now();
    await publishLog(nc, huntId, gen.offlineJoins(), afterJoins, {
      firstId: opening,
      progress: progress("joins published", players),
    });
    const joinsStoredSec = (performance.now() - t) / 1000;
    await waitHandled(nc, huntId, afterJoins, {
      engine: first,
      timeoutMs: 3_600_000,
      onWait: (seq) => progress("joins handled", players)((seq ?? opening) - opening),
    });
    const joinsHandledSec = (performance.now() - t) / 1000;
    const joins = joinPhase.end();
    say(
      `joins: stored at ${fmtInt(players / joinsStoredSec)}/s, handled by the engine at ${fmtInt(players / joinsHandledSec)}/s ` +
        `(${joinsHandledSec.toFixed(1)} s); CPU engine ${fmtNum(joins.engineCpuSec, 1)} s, nats-server ${fmtNum(joins.natsCpuSec, 1)} s, ` +
        `others ${fmtNum(joins.otherCpuSec, 1)} s; RSS ${fmtMB(watch.latest?.rss)}`,
    );

    // 2. Plays, then memory.
    const playPhase = watch.phase();
    t = performance.now();
    await publishLog(nc, huntId, gen.offlinePlays(plays), lastSeq, {
      firstId: afterJoins,
      progress: progress("plays published", plays),
    });
    await waitHandled(nc, huntId, lastSeq, { engine: first, timeoutMs: 3_600_000 });
    const playsHandledSec = (performance.now() - t) / 1000;
    const played = playPhase.end();
    const peakRss = Math.max(joins.peakRss, played.peakRss);
    const steady = await settledRss(watch, { timeoutMs: 60_000 });
    const indexBytes = (await scrapeIndexBytes(metricsPort)) ?? Number.NaN;
    const foldPerPlayer = (steady.rss - indexBytes - empty.rss) / players;
    say(
      `plays: handled at ${fmtInt(plays / playsHandledSec)}/s; RSS peak ${fmtMB(peakRss)}, settled ${fmtMB(steady.rss)} ` +
        `(${steady.settled ? `after ${fmtMs(steady.waitedMs)}` : "NOT settled"}); index ${fmtMB(indexBytes)}`,
    );

    // 3. The snapshot the graceful stop writes.
    t = performance.now();
    await first.stop();
    engines.delete(first);
    const stopMs = performance.now() - t;
    const stoppingAt = loggedAt(first, "stopping");
    const storedAt = loggedAt(first, "snapshot stored");
    const engineSnapshotMs =
      stoppingAt !== undefined && storedAt !== undefined ? storedAt - stoppingAt : undefined;
    const snapshots = new SnapshotStore(nc);
    const snapshot = await snapshots.get(huntId);
    if (!snapshot) throw new Error("the engine wrote no snapshot on its graceful stop");
    say(
      `graceful stop in ${fmtMs(stopMs)}; snapshot of ${fmtInt(snapshot.length)} bytes stored ${fmtMs(engineSnapshotMs)} after the engine began stopping`,
    );
    // The engine logs neither its encode nor its write time: both are timed here, on the same bytes.
    const [fold, decodeMs] = timed(() => decodeHunt(huntId, snapshot, { indexKind: index }));
    const [indexSnapshot, indexSerializeMs] = timed(() => fold.index.serialize());
    const [reloaded, indexDeserializeMs] = timed(() => deserializeRankIndex(indexSnapshot, index));
    reloaded.clear();
    const [encoded, encodeMs] = timed(() => encodeHunt(fold));
    const [hash, hashMs] = timed(() => stateHash(fold));
    fold.dispose();
    // The first hash runs mostly before the JIT has compiled its loops; the engine's checkpoints run it
    // warm. The same hash of two more copies of the hunt (a hunt keeps its hash until its next event).
    const warmHashMs: number[] = [];
    for (let i = 0; i < 2; i++) {
      const copy = decodeHunt(huntId, snapshot, { indexKind: index });
      warmHashMs.push(timed(() => stateHash(copy))[1]);
      copy.dispose();
    }
    const hashWarmMs = Math.min(...warmHashMs);
    const roundTrips = Buffer.from(encoded).equals(snapshot);
    t = performance.now();
    await snapshots.put(huntId, encoded); // the same bytes: the restarts below read what the engine wrote
    const putMs = performance.now() - t;
    say(
      `in-process: decodeHunt ${fmtMs(decodeMs)} (rank index alone ${fmtMs(indexDeserializeMs)}), encodeHunt ${fmtMs(encodeMs)} ` +
        `(rank index alone ${fmtMs(indexSerializeMs)}), stateHash ${fmtMs(hashMs)} (warm ${fmtMs(hashWarmMs)}), put ${fmtMs(putMs)}; ` +
        `the bytes ${roundTrips ? "round-trip" : "DIFFER after a round trip"}`,
    );

    // 4. Restarts: with the snapshot, (profiled, when asked), without it.
    const restartArgs = [...engineArgs, "--log-level", "info"];
    const restart = async (label: string, nodeArgs: string[] = []) => {
      const r = await timeRestart(nc!, nats!.url, huntId, lastSeq, restartArgs, nodeArgs);
      running(r.engine);
      say(describeRestart(label, r.timing, lastSeq));
      return r;
    };
    const withSnapshotRuns = [];
    for (let i = 1; i <= restarts; i++) {
      const r = await restart(`restart with snapshot (${i} of ${restarts})`);
      await r.engine.kill(); // the next restart must find the snapshot as it was
      engines.delete(r.engine);
      withSnapshotRuns.push(r);
    }
    // Ascending by the figure the goal is about: the table shows the median run's figures.
    withSnapshotRuns.sort((a, b) => a.timing.readyFromForkMs - b.timing.readyFromForkMs);
    const withSnapshot = withSnapshotRuns[(withSnapshotRuns.length - 1) >> 1]!;
    const restartRange =
      restarts === 1
        ? ""
        : ` (median of ${restarts}; ${fmtMs(withSnapshotRuns[0]!.timing.readyFromForkMs)}–${fmtMs(withSnapshotRuns.at(-1)!.timing.readyFromForkMs)})`;
    let profile: string | undefined;
    let snapshotFile: string | undefined;
    if (profileDir !== undefined) {
      const profiled = await restart("restart with snapshot under --cpu-prof (not in the table)", [
        "--cpu-prof",
        `--cpu-prof-dir=${profileDir}`,
      ]);
      // The profile is written at a clean exit; nothing changed since the snapshot, so none is written.
      await profiled.engine.stop();
      engines.delete(profiled.engine);
      profile = mainThreadProfile(profileDir, profiled.engine.child.pid);
      // The snapshot it read, beside its profile, to time decodeHunt on later.
      snapshotFile = join(profileDir, `${huntId}.snapshot`);
      writeFileSync(snapshotFile, snapshot);
      say(`CPU profile of that restart: ${profile ?? "none written"}; the snapshot it read: ${snapshotFile}`);
    }
    await snapshots.delete(huntId);
    if (await snapshots.get(huntId)) throw new Error("the snapshot is still there after delete");
    const withoutSnapshot = await restart("restart without snapshot");
    const hashesAgree =
      withSnapshotRuns.every((r) => r.timing.stateHash === hash) && withoutSnapshot.timing.stateHash === hash;

    // 5. Queries on the engine left running: idle, then under load.
    const engine = withoutSnapshot.engine;
    const loadWatch = new EngineWatch(engine, nats.pid, undefined);
    const random = xorshift(11);
    const timeQueries = async <T>(during: Promise<T>): Promise<{ result: T; times: QueryTimes }> => {
      const around = probeWhile(during, () =>
        queryHunt(
          nc!,
          huntId,
          "around",
          { playerId: `p-${random() % players}`, before: 5, after: 5 },
          30_000,
        ),
      );
      const top = await probeWhile(around, () => queryHunt(nc!, huntId, "top", { n: 10 }, 30_000));
      const sorted = (ms: number[]) => [...ms].sort((a, b) => a - b);
      return { result: top.result.result, times: { top: sorted(top.ms), around: sorted(top.result.ms) } };
    };
    const idle = (await timeQueries(sleep(seconds * 1000))).times;
    say(
      `idle engine: top p50 ${fmtMs(quantile(idle.top, 0.5))} p99 ${fmtMs(quantile(idle.top, 0.99))}, ` +
        `around p50 ${fmtMs(quantile(idle.around, 0.5))} p99 ${fmtMs(quantile(idle.around, 0.99))}`,
    );
    const loadPhase = loadWatch.phase();
    const loaded = (await timeQueries(gen.run())).times;
    const load = loadPhase.end();
    const window = gen.takeWindow();
    const sentPerSec = gen.playEvents / load.seconds;
    t = performance.now();
    await waitHandled(nc, huntId, gen.lastPlaySeq, { engine, timeoutMs: 600_000 });
    const drainMs = performance.now() - t;
    say(
      `under load: ${fmtInt(sentPerSec)} events/s sent, engine lag up to ${fmtInt(load.maxLag)}, drained ${fmtMs(drainMs)} after the load stopped; ` +
        `this process spent ${fmtNum((100 * window.publishMs) / (load.seconds * 1000), 0)}% of the time publishing; ` +
        `top p50 ${fmtMs(quantile(loaded.top, 0.5))} p99 ${fmtMs(quantile(loaded.top, 0.99))}, ` +
        `around p50 ${fmtMs(quantile(loaded.around, 0.5))} p99 ${fmtMs(quantile(loaded.around, 0.99))}`,
    );

    const perPlayer = (bytes: number) => {
      const b = bytes / players;
      return `${Math.abs(b) >= 1000 ? fmtInt(b) : fmtNum(b, 1)} B/player`;
    };
    const restartRows = (label: string, pick: (r: RestartTiming) => number | undefined) => [
      label,
      fmtMs(pick(withSnapshot.timing)),
      `${fmtMs(pick(withoutSnapshot.timing))} without snapshot`,
    ];
    const queryRows = (name: string, q: keyof QueryTimes) =>
      ([0.5, 0.99] as const).map((p) => [
        `${name} p${p * 100} under ${fmtInt(rate)} events/s (${loaded[q].length} queries)`,
        fmtMs(quantile(loaded[q], p)),
        `${fmtMs(quantile(idle[q], p))} idle (${idle[q].length})`,
      ]);
    console.log("");
    console.log(`one hunt, ${fmtInt(players)} players, ${fmtInt(plays)} plays:`);
    console.log(
      table(
        ["measure", "figure", "peer / ceiling"],
        [
          [
            "joins/s handled by the engine (first publish → last join folded)",
            fmtInt(players / joinsHandledSec),
            `${fmtInt(ceilingJoinsPerSec)} stored, no engine`,
          ],
          [
            "joins/s stored while the engine runs",
            fmtInt(players / joinsStoredSec),
            `${fmtInt(ceilingJoinsPerSec)} stored, no engine`,
          ],
          ["plays/s handled (published at once)", fmtInt(plays / playsHandledSec), ""],
          ["engine RSS, peak (joins and plays)", fmtMB(peakRss), `${fmtMB(empty.rss)} empty hunt`],
          [
            `engine RSS, settled after the plays${steady.settled ? "" : " (NOT settled)"}`,
            fmtMB(steady.rss),
            `${fmtMB(empty.rss)} empty hunt`,
          ],
          ["rank index (cairn_native_index_bytes)", perPlayer(indexBytes), `${fmtInt(indexBytes)} bytes`],
          [
            "ESTIMATE: fold besides the index, (RSS - index - empty) / players",
            perPlayer(foldPerPlayer * players),
            "",
          ],
          ["snapshot size", perPlayer(snapshot.length), `${fmtInt(snapshot.length)} bytes`],
          ["snapshot written (engine log: stopping → snapshot stored)", fmtMs(engineSnapshotMs), ""],
          ["graceful stop, final snapshot included", fmtMs(stopMs), ""],
          [
            "snapshot encode, in-process (encodeHunt)",
            fmtMs(encodeMs),
            `${fmtMs(indexSerializeMs)} rank index alone`,
          ],
          ["snapshot put, in-process (SnapshotStore.put)", fmtMs(putMs), ""],
          [
            "snapshot decode, in-process (decodeHunt)",
            fmtMs(decodeMs),
            `${fmtMs(indexDeserializeMs)} rank index alone`,
          ],
          ["stateHash, in-process, first call (the first `state` answer computes it)", fmtMs(hashMs), ""],
          ["stateHash, in-process, warm (as each checkpoint computes it; best of 2)", fmtMs(hashWarmMs), ""],
          restartRows(
            `restart with snapshot: fork → \`state\` at the last seq${restartRange}`,
            (r) => r.readyFromForkMs,
          ),
          restartRows("  of which fork → engine-ready", (r) => r.startMs),
          restartRows("  activation (engine log: snapshot, decode, log tail)", (r) => r.activation?.ms),
          ...queryRows("top(10)", "top"),
          ...queryRows("around(±5)", "around"),
        ],
      ),
    );
    const ok = hashesAgree && roundTrips;
    console.log(
      `stateHash: in-process, restart with and without snapshot ${hashesAgree ? "agree" : "DIFFER"}; snapshot bytes ${roundTrips ? "round-trip" : "DIFFER"}`,
    );
    const summaryLine =
      `huge ${fmtInt(players)} players: joins ${fmtInt(players / joinsHandledSec)}/s (ceiling ${fmtInt(ceilingJoinsPerSec)}/s), ` +
      `RSS ${fmtMB(steady.rss)} (index ${fmtNum(indexBytes / players, 1)} B/player, fold ~${fmtNum(foldPerPlayer, 0)} B/player), ` +
      `snapshot ${fmtNum(snapshot.length / players, 1)} B/player, restart ${fmtMs(withSnapshot.timing.readyFromForkMs)} ` +
      `(${fmtMs(withoutSnapshot.timing.readyFromForkMs)} without), top p99 ${fmtMs(quantile(loaded.top, 0.99))} under load ` +
      `(${((performance.now() - started) / 1000).toFixed(0)} s)`;
    console.log("");
    console.log(summaryLine);
    if (values.json !== undefined) {
      const cpu = (p: PhaseStats) => ({
        seconds: p.seconds,
        engineCpuSec: p.engineCpuSec,
        natsCpuSec: p.natsCpuSec,
        selfCpuSec: p.selfCpuSec,
        otherCpuSec: p.otherCpuSec,
      });
      writeJson(values.json, {
        benchmark: "huge",
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
        params: { players, plays, rate, seconds, treasures, index },
        joins: {
          ceilingPerSec: ceilingJoinsPerSec,
          storedPerSec: players / joinsStoredSec,
          handledPerSec: players / joinsHandledSec,
          ...cpu(joins),
        },
        plays: { handledPerSec: plays / playsHandledSec, ...cpu(played) },
        memory: {
          emptyHuntRss: empty.rss,
          peakRss,
          settledRss: steady.rss,
          settled: steady.settled,
          indexBytes,
          indexBytesPerPlayer: indexBytes / players,
          foldBytesPerPlayerEstimate: foldPerPlayer,
        },
        snapshot: {
          bytes: snapshot.length,
          bytesPerPlayer: snapshot.length / players,
          engineWriteMs: engineSnapshotMs,
          gracefulStopMs: stopMs,
          inProcess: {
            encodeMs,
            indexSerializeMs,
            decodeMs,
            indexDeserializeMs,
            stateHashMs: hashMs,
            stateHashWarmMs: hashWarmMs,
            putMs,
          },
          roundTrips,
        },
        restartWithSnapshot: withSnapshot.timing,
        restartsWithSnapshot: withSnapshotRuns.map((r) => r.timing),
        restartWithoutSnapshot: withoutSnapshot.timing,
        cpuProfile: profile,
        snapshotFile,
        queries: {
          idle: { top: summary(idle.top), around: summary(idle.around) },
          underLoad: {
            top: summary(loaded.top),
            around: summary(loaded.around),
            sentPerSec,
            maxLag: load.maxLag,
            drainMs,
            ...cpu(load),
          },
        },
        hashesAgree,
        summary: summaryLine,
      });
    }
    return ok ? 0 : 1;
  } catch (err) {
    for (const engine of engines)
      if (engine.stderr.length) console.error(engine.stderr.slice(-10).join("\n"));
    throw err;
  } finally {
    for (const engine of engines) await engine.kill();
    await nc?.close().catch(() => {});
    await nats?.dispose();
  }
}
