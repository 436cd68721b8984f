// `cairn bench replay`: rebuilds a 1,000,000-event hunt from the log, against the log's raw read ceiling, and
// measures how long an engine takes to be ready for that hunt after a restart, with and without its snapshot.
//   1. build: the hunt's events published fast (core publishes in chunks, each chunk flushed), then the
//      stream's last seq checked;
//   2. raw ceiling: the hunt's log read through EventLog.readBatches (the read replay uses), counting only;
//   3. replay: replayHunt, the full fold from seq 1 with no snapshot;
//   4. engine: an engine process folds the whole log, publishing its checkpoints, and stops gracefully (it
//      snapshots the hunt);
//   5. archive: the hunt exported as `cairn export` does (exportHunt, in-process like replayHunt), as NDJSON
//      and gzipped, each then checked as `cairn verify` does (verifyArchive), which must say ok;
//   6. restart: the engine started again and timed until `hunt.<id>.query.state` answers with the final seq;
//      then the same with the snapshot deleted from CAIRN_SNAPSHOTS.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { exportHunt, replayHunt, stateHash, verifyArchive } from "../actors/index.ts";
import { type EngineProcess, startEngineProcess } from "../bin/engine-process.ts";
import { choiceFlag, numberFlag } from "../bin/flags.ts";
import { GameSimulator } from "../bin/game-simulator.ts";
import type { RankIndexKind } from "../native/index.ts";
import { connect, EventLog, ensureStreams, SnapshotStore } from "../streams/index.ts";
import {
  describeRestart,
  type FreshNats,
  publishLog,
  type RestartTiming,
  startFreshNats,
  timeRestart,
  waitHandled,
} from "./harness.ts";
import {
  fmtInt,
  fmtMs,
  fmtNum,
  type GoalResult,
  goalLines,
  parseBenchFlags,
  table,
  writeJson,
} from "./report.ts";

export const usage = `usage: cairn bench replay [flags]

  --events N      events in the hunt's log (default 1000000)
  --players N     players who join (default 10000); the rest are finds, hints, adjustments, a few invalid
  --treasures N   treasures (default 100)
  --index KIND    rank index of replay and engine: auto, native, js (default auto)
  --repeat N      read, replay, export and verify N times each, keep the best (default 1)
  --json [FILE]   write every figure as JSON to FILE (stdout without FILE)
  --smoke         tiny sizes: 20,000 events, 1,000 players`;

/** One archive format's figures: the export that wrote it and the verify that read it back. */
interface ArchiveTiming {
  bytes: number;
  bytesPerEvent: number;
  exportMs: number;
  exportPerSec: number;
  verifyMs: number;
  verifyPerSec: number;
  checkpoints: number;
  standings: number;
}

/** The archive formats `cairn export` writes, by the file name it is given. */
const ARCHIVE_FORMATS = [
  { name: "ndjson", label: "NDJSON", file: "hunt.ndjson" },
  { name: "gzip", label: "gzip", file: "hunt.ndjson.gz" },
] as const;

/**
 * Exports the hunt to `path` and verifies the archive; throws unless the export holds every checkpoint
 * the log gives, as stored, and verify says ok with every event and checkpoint.
 */
async function exportAndVerify(
  nc: NatsConnection,
  huntId: string,
  path: string,
  events: number,
  indexKind: RankIndexKind,
): Promise<ArchiveTiming> {
  rmSync(path, { force: true });
  let t = performance.now();
  const exported = await exportHunt(nc, huntId, path, { indexKind });
  const exportMs = performance.now() - t;
  if (exported.events !== events)
    throw new Error(`${path}: exported ${exported.events} events, expected ${events}`);
  if (exported.checkpoints === 0)
    throw new Error(`${path}: exported no checkpoints: nothing for verify to check`);
  if (exported.notStoredYet > 0) {
    throw new Error(`${path}: the engine has not stored ${exported.notStoredYet} of the log's checkpoints`);
  }
  if (exported.firstDifferentSeq !== undefined) {
    throw new Error(
      `${path}: the stored checkpoint at seq ${exported.firstDifferentSeq} differs from the replay`,
    );
  }
  const bytes = statSync(path).size;
  t = performance.now();
  const verified = await verifyArchive(path, { indexKind });
  const verifyMs = performance.now() - t;
  if (!verified.ok) throw new Error(`verify of ${path} failed: ${verified.problems.join("; ")}`);
  if (verified.events !== events || verified.checkpoints !== exported.checkpoints) {
    throw new Error(
      `verify of ${path} read ${verified.events} events and ${verified.checkpoints} checkpoints, expected ${events} and ${exported.checkpoints}`,
    );
  }
  return {
    bytes,
    bytesPerEvent: bytes / events,
    exportMs,
    exportPerSec: events / (exportMs / 1000),
    verifyMs,
    verifyPerSec: events / (verifyMs / 1000),
    checkpoints: verified.checkpoints,
    standings: verified.standings,
  };
}

/** Runs the benchmark; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const values = parseBenchFlags("replay", argv, {
    events: { type: "string" },
    players: { type: "string" },
    treasures: { type: "string" },
    index: { type: "string" },
    repeat: { type: "string" },
  });
  const smoke = values.smoke === true;
  const events = numberFlag("bench replay", "events", values.events, smoke ? 20_000 : 1_000_000, 10);
  const players = Math.min(
    numberFlag("bench replay", "players", values.players, smoke ? 1000 : 10_000, 1),
    events - 2,
  );
  const treasures = numberFlag("bench replay", "treasures", values.treasures, 100, 1);
  const repeat = numberFlag("bench replay", "repeat", values.repeat, 1, 1);
  const index: RankIndexKind = choiceFlag("index", values.index, ["auto", "native", "js"], "auto");
  const started = performance.now();
  const say = (s: string) => console.log(`[replay] ${s}`);
  console.log(
    `bench replay: a ${fmtInt(events)}-event hunt (${fmtInt(players)} players, ${treasures} treasures), index ${index}; ${cpus().length} CPUs, node ${process.version}`,
  );

  let nats: FreshNats | undefined;
  let nc: NatsConnection | undefined;
  let engine: EngineProcess | undefined;
  const archiveDir = mkdtempSync(join(tmpdir(), "cairn-bench-replay-archive-"));
  try {
    nats = await startFreshNats("replay");
    nc = await connect({ servers: nats.url, name: "cairn-bench-replay" });
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm);
    const huntId = `replay-${Date.now().toString(36)}`;

    // 1. Build the log.
    const gen = new GameSimulator(nc, {
      huntId,
      players,
      activePlayers: players,
      treasures,
      rate: 1,
      durationSec: 1,
    });
    let t = performance.now();
    let lastSay = t;
    // With Nats-Msg-Ids, as the engine requires: a log without them would be folded as rejections.
    const lastSeq = await publishLog(nc, huntId, gen.offlineEvents(events - 2 - players), events, {
      progress: (n) => {
        if (performance.now() - lastSay > 2000) {
          lastSay = performance.now();
          say(`publishing: ${fmtInt(n)} / ${fmtInt(events)}`);
        }
      },
    });
    const buildSec = (performance.now() - t) / 1000;
    if (lastSeq !== events) throw new Error(`the stream holds ${lastSeq} events, expected ${events}`);
    say(
      `built: ${fmtInt(events)} events in ${buildSec.toFixed(1)} s (${fmtInt(events / buildSec)}/s core publish), last seq ${lastSeq}`,
    );

    // 2. Raw read ceiling, 3. full replay (best of --repeat, alternating).
    const log = new EventLog(jetstream(nc), jsm);
    let rawBest = { ms: Number.POSITIVE_INFINITY, events: 0 };
    let replayBest = { ms: Number.POSITIVE_INFINITY, events: 0, hash: "" };
    for (let r = 0; r < repeat; r++) {
      t = performance.now();
      let count = 0;
      for await (const batch of log.readBatches(huntId, 1)) count += batch.length;
      const rawMs = performance.now() - t;
      if (count !== events) throw new Error(`the raw read saw ${count} events, expected ${events}`);
      say(
        `raw read (ordered consumer, count only): ${fmtInt(count)} in ${fmtMs(rawMs)} = ${fmtInt(count / (rawMs / 1000))}/s`,
      );
      if (rawMs < rawBest.ms) rawBest = { ms: rawMs, events: count };

      const replay = await replayHunt(nc, huntId, { indexKind: index });
      const hash = stateHash(replay.fold);
      say(
        `replayHunt (full fold, no snapshot): ${fmtInt(replay.events)} in ${fmtMs(replay.ms)} = ${fmtInt(replay.events / (replay.ms / 1000))}/s, ` +
          `${fmtInt(replay.ranks)} rank changes, ${fmtInt(replay.rejections)} rejections, stateHash ${hash.slice(0, 12)}`,
      );
      replay.fold.dispose();
      if (replay.ms < replayBest.ms) replayBest = { ms: replay.ms, events: replay.events, hash };
    }
    const rawRate = rawBest.events / (rawBest.ms / 1000);
    const replayRate = replayBest.events / (replayBest.ms / 1000);

    // 4. Engine: fold the whole log, stop (snapshot), restart with the snapshot, restart without it.
    const engineArgs = ["--index", index, "--snapshot-every", "100000000", "--snapshot-interval", "1h"];
    t = performance.now();
    engine = await startEngineProcess(nats.url, engineArgs);
    const firstReadyMs = performance.now() - t;
    await waitHandled(nc, huntId, events, {
      timeoutMs: 600_000,
      pollMs: 50,
      engine,
      onWait: (seq) => say(`first engine: at seq ${fmtInt(seq)} of ${fmtInt(events)}`),
    });
    const firstFoldMs = performance.now() - t;
    say(
      `first engine (live consumer from seq 1): started in ${fmtMs(firstReadyMs)}, whole log handled after ${fmtMs(firstFoldMs)}`,
    );
    t = performance.now();
    await engine.stop();
    const stopMs = performance.now() - t;
    engine = undefined;
    const snapshots = new SnapshotStore(nc);
    const snapshot = await snapshots.get(huntId);
    if (!snapshot) throw new Error("the engine wrote no snapshot on its graceful stop");
    say(`graceful stop in ${fmtMs(stopMs)}; snapshot ${fmtInt(snapshot.length)} bytes`);

    // 5. The archive of what that engine published, in each format (best of --repeat).
    const archives = {} as Record<(typeof ARCHIVE_FORMATS)[number]["name"], ArchiveTiming>;
    for (let r = 0; r < repeat; r++) {
      for (const format of ARCHIVE_FORMATS) {
        const a = await exportAndVerify(nc, huntId, join(archiveDir, format.file), events, index);
        say(
          `archive, ${format.label}: ${fmtInt(a.bytes)} bytes (${fmtNum(a.bytesPerEvent, 1)} B/event), ` +
            `export ${fmtMs(a.exportMs)} = ${fmtInt(a.exportPerSec)}/s, verify ${fmtMs(a.verifyMs)} = ${fmtInt(a.verifyPerSec)}/s, ` +
            `ok: ${fmtInt(a.checkpoints)} checkpoints, ${fmtInt(a.standings)} standings`,
        );
        const best = archives[format.name];
        archives[format.name] = best
          ? {
              ...a,
              exportMs: Math.min(best.exportMs, a.exportMs),
              exportPerSec: Math.max(best.exportPerSec, a.exportPerSec),
              verifyMs: Math.min(best.verifyMs, a.verifyMs),
              verifyPerSec: Math.max(best.verifyPerSec, a.verifyPerSec),
            }
          : a;
      }
    }

    const restart = async (label: string): Promise<RestartTiming> => {
      const started = await timeRestart(nc!, nats!.url, huntId, events, engineArgs);
      engine = started.engine;
      await engine.kill(); // nothing to keep: the next run must find the snapshot (or its absence) as it was
      engine = undefined;
      say(describeRestart(label, started.timing, events));
      return started.timing;
    };
    const withSnapshot = await restart("restart with snapshot");
    await snapshots.delete(huntId);
    if (await snapshots.get(huntId)) throw new Error("the snapshot is still there after delete");
    const withoutSnapshot = await restart("restart without snapshot");

    const hashesAgree =
      withSnapshot.stateHash === replayBest.hash && withoutSnapshot.stateHash === replayBest.hash;
    console.log("");
    console.log(`a ${fmtInt(events)}-event hunt, ${fmtInt(players)} players:`);
    const pct = (rate: number, of: number) => `${fmtNum((100 * rate) / of, 0)}%`;
    /** A row of a measure with a rate: its share of the raw read and of the replay. */
    const rateRow = (measure: string, rate: number, ms: number, bytesPerEvent = "") => [
      measure,
      fmtInt(rate),
      fmtMs(ms),
      pct(rate, rawRate),
      pct(rate, replayRate),
      bytesPerEvent,
    ];
    const firstEngineMs = firstFoldMs - firstReadyMs;
    const timeRow = (measure: string, ms: number) => [measure, "", fmtMs(ms), "", "", ""];
    console.log(
      table(
        ["measure", "events/s", "time", "vs raw read", "vs replay", "archive B/event"],
        [
          rateRow("raw read ceiling (ordered consumer, no fold)", rawRate, rawBest.ms),
          rateRow("replayHunt (full fold, no snapshot)", replayRate, replayBest.ms),
          rateRow(
            "engine, first start, from engine-ready (durable consumer)",
            events / (firstEngineMs / 1000),
            firstEngineMs,
          ),
          ...ARCHIVE_FORMATS.map((f) =>
            rateRow(
              `export, ${f.label} (exportHunt: replay + write)`,
              archives[f.name].exportPerSec,
              archives[f.name].exportMs,
              fmtNum(archives[f.name].bytesPerEvent, 1),
            ),
          ),
          ...ARCHIVE_FORMATS.map((f) =>
            rateRow(
              `verify, ${f.label} (verifyArchive, offline)`,
              archives[f.name].verifyPerSec,
              archives[f.name].verifyMs,
            ),
          ),
          timeRow("restart with snapshot: ready (from fork)", withSnapshot.readyFromForkMs),
          timeRow("restart with snapshot: ready (from engine-ready)", withSnapshot.readyFromEngineReadyMs),
          timeRow("restart without snapshot: ready (from fork)", withoutSnapshot.readyFromForkMs),
          timeRow(
            "restart without snapshot: ready (from engine-ready)",
            withoutSnapshot.readyFromEngineReadyMs,
          ),
        ],
      ),
    );
    console.log(`stateHash: replay, restart with and without snapshot ${hashesAgree ? "agree" : "DIFFER"}`);
    const goals: GoalResult[] = [
      {
        goal: "replay ≥ 90% of the raw consume ceiling",
        measured: `${fmtInt(replayRate)}/s vs ${fmtInt(rawRate)}/s (${fmtNum((100 * replayRate) / rawRate, 0)}%)`,
        pass: replayRate >= 0.9 * rawRate,
      },
      {
        goal: `restart with a snapshot ready in < 1 s (${fmtInt(events)} events)`,
        measured: `${fmtMs(withSnapshot.readyFromForkMs)} from fork, ${fmtMs(withSnapshot.readyFromEngineReadyMs)} from engine-ready`,
        pass: withSnapshot.readyFromForkMs < 1000,
      },
    ];
    console.log("");
    console.log("performance goals, this run:");
    console.log(goalLines(goals));
    const summary =
      `replay ${fmtInt(events)} events: raw ${fmtInt(rawRate)}/s, replay ${fmtInt(replayRate)}/s (${fmtNum((100 * replayRate) / rawRate, 0)}%), ` +
      `verify ${fmtInt(archives.ndjson.verifyPerSec)}/s NDJSON, ${fmtInt(archives.gzip.verifyPerSec)}/s gzip (${pct(archives.ndjson.verifyPerSec, replayRate)}, ${pct(archives.gzip.verifyPerSec, replayRate)} of replay); ` +
      `restart ready ${fmtMs(withSnapshot.readyFromForkMs)} with snapshot, ${fmtMs(withoutSnapshot.readyFromForkMs)} without; ` +
      `hashes ${hashesAgree ? "agree" : "DIFFER"} (${((performance.now() - started) / 1000).toFixed(0)} s)`;
    console.log("");
    console.log(summary);
    if (values.json !== undefined) {
      writeJson(values.json, {
        benchmark: "replay",
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
        params: { events, players, treasures, index, repeat },
        build: { seconds: buildSec, publishPerSec: events / buildSec },
        raw: { ms: rawBest.ms, perSec: rawRate },
        replay: {
          ms: replayBest.ms,
          perSec: replayRate,
          pctOfRaw: (100 * replayRate) / rawRate,
          stateHash: replayBest.hash,
        },
        firstEngine: {
          readyMs: firstReadyMs,
          wholeLogMs: firstFoldMs,
          stopMs,
          snapshotBytes: snapshot.length,
        },
        archive: Object.fromEntries(
          ARCHIVE_FORMATS.map((f) => {
            const a = archives[f.name];
            return [
              f.name,
              {
                ...a,
                verifyPctOfRaw: (100 * a.verifyPerSec) / rawRate,
                verifyPctOfReplay: (100 * a.verifyPerSec) / replayRate,
                verifyOk: true,
              },
            ];
          }),
        ),
        restartWithSnapshot: withSnapshot,
        restartWithoutSnapshot: withoutSnapshot,
        hashesAgree,
        goals,
        summary,
      });
    }
    return hashesAgree ? 0 : 1;
  } catch (err) {
    if (engine?.stderr.length) console.error(engine.stderr.slice(-10).join("\n"));
    throw err;
  } finally {
    await engine?.kill();
    await nc?.close().catch(() => {});
    await nats?.dispose();
    rmSync(archiveDir, { recursive: true, force: true });
  }
}
