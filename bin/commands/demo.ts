// `cairn demo` (what `npm start` runs): an embedded NATS, the engine in its own process, a simulated
// game server publishing a hunt, a live terminal leaderboard, and a closing replay from the log that
// must reproduce the live stateHash.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { replayHunt, stateHash } from "../../actors/index.ts";
import type {
  LeaderboardEntry,
  StateReply,
  TeamLeaderboardEntry,
  TeamsTopN,
  TopN,
} from "../../schemas/index.ts";
import { connect, type EmbeddedNats, queryHunt, startEmbeddedNats } from "../../streams/index.ts";
import { type Command, durationFlag, intFlag, parseFlags, RuntimeError, UsageError } from "../cli.ts";
import { type EngineProcess, type EngineStats, startEngineProcess } from "../engine-process.ts";
import { type GamePlan, GameSimulator } from "../game-simulator.ts";
import { SIGNING_KEY_USAGE, signingKeyFlag } from "../signing-key.ts";

const FLAGS = {
  players: { type: "string" },
  teams: { type: "string" },
  treasures: { type: "string" },
  rate: { type: "string" },
  duration: { type: "string" },
  index: { type: "string" },
  "store-dir": { type: "string" },
  linger: { type: "string" },
  "signing-key": { type: "string" },
} as const;

/** Waits until the hunt's state satisfies `done` (polling `state`), with a deadline and progress. */
async function waitState(
  nc: NatsConnection,
  huntId: string,
  done: (state: StateReply) => boolean,
  waitingFor: string,
  say: (s: string) => void,
): Promise<StateReply> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const state = await queryHunt<StateReply>(nc, huntId, "state").catch(() => undefined);
    if (state && done(state)) return state;
    if (Date.now() > deadline)
      throw new RuntimeError(
        "engine_behind",
        `the engine had not reached ${waitingFor} after 120 s (it is at seq ${state?.seq ?? "?"}, ${state?.status ?? "no answer"})`,
        "run with a lower --rate",
      );
    say(`waiting for the engine: ${waitingFor} (seq ${state?.seq ?? "?"}, ${state?.status ?? "no answer"})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until the engine has handled `seq`. */
function waitHandled(nc: NatsConnection, huntId: string, seq: number, say: (s: string) => void) {
  return waitState(nc, huntId, (s) => s.seq >= seq, `seq ${seq}`, say);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

export const command: Command = {
  summary: "the whole engine in one command: embedded NATS, a simulated hunt, a live leaderboard, a replay",
  usage: [
    "usage: cairn demo [flags]     (npm start runs this)",
    "",
    "Starts nats-server, the engine in its own process, and a simulated game server that runs a team hunt",
    "the way organisers do: teams, a clue chain, a treasure open for a window, decaying points, photo",
    "submissions reviewed by an organiser, one disqualification, the standings frozen for the last",
    `${GameSimulator.FREEZE_LAST_SEC} seconds; the hunt ends on the clock, the standings are revealed and the result finalised.`,
    "It shows both live boards, then replays the hunt from the log and checks the replay reproduces the",
    "live stateHash.",
    "",
    "  --players N     players who join and play (default 10000)",
    "  --teams N       teams the players join in turn (default 500; 0: a solo hunt)",
    "  --treasures N   treasures in the hunt (default 50)",
    "  --rate N        events per second (default 10000 in a team hunt, where an event gives a player and",
    "                  a team rank message, both stored: 20000 with --teams 0)",
    "  --duration S    seconds of play (default 20)",
    "  --index KIND    rank index: auto, native or js (default auto)",
    "  --store-dir D   the embedded server's store, wiped first (default .cairn/demo)",
    "  --linger D      keep the engine and the viewer page up for D after the run, e.g. 10m (default 0)",
    SIGNING_KEY_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("demo", argv, FLAGS);
    const players = intFlag("demo", "players", values.players, 10_000, 1, 2_000_000);
    const teams = intFlag("demo", "teams", values.teams, 500, 0, 1_000_000);
    const plan: GamePlan = {
      huntId: `demo-${Date.now().toString(36)}`,
      players,
      activePlayers: players,
      treasures: intFlag("demo", "treasures", values.treasures, 50, 1, 10_000),
      rate: intFlag("demo", "rate", values.rate, teams > 0 ? 10_000 : 20_000, 1, 1_000_000),
      durationSec: intFlag("demo", "duration", values.duration, 20, 1, 3600),
      teams,
      // The hunt's clock runs out a second after play: the engine itself ends it.
      organiser: { graceSec: 1 },
    };
    if (plan.teams! > players) {
      throw new UsageError(
        `--teams ${plan.teams} is more than --players ${players}: some teams would have nobody`,
        "give at most as many teams as players",
      );
    }
    const signer = signingKeyFlag("demo", values["signing-key"]);
    const index = values.index ?? "auto";
    if (!["auto", "native", "js"].includes(index)) {
      throw new UsageError(`--index must be auto, native or js, got "${index}"`, "omit it to use auto");
    }
    const tty = process.stdout.isTTY === true;
    // Progress: rewritten in place on a terminal, at most one plain line a second otherwise.
    let lastSaid = 0;
    const say = (s: string) => {
      if (tty) process.stdout.write(`\r\x1b[2K${s}`);
      else if (performance.now() - lastSaid >= 1000) {
        lastSaid = performance.now();
        console.log(s);
      }
    };
    const lingerMs = durationFlag("demo", "linger", values.linger, 0);
    const storeDir = values["store-dir"] ?? join(process.cwd(), ".cairn", "demo");
    rmSync(storeDir, { recursive: true, force: true });

    let nats: EmbeddedNats | undefined;
    let engine: EngineProcess | undefined;
    let nc: NatsConnection | undefined;
    let interrupted = false;
    const onSignal = () => {
      interrupted = true;
    };
    process.once("SIGINT", onSignal);
    try {
      console.log(
        `cairn demo: hunt ${plan.huntId}: ${fmt(plan.players)} players${plan.teams ? ` in ${fmt(plan.teams)} teams` : ""}, ${plan.treasures} treasures, ${fmt(plan.rate)} events/s for ${plan.durationSec} s`,
      );
      nats = await startEmbeddedNats({ storeDir, viewers: {} });
      console.log(`cairn demo: nats-server ${nats.url} (store ${storeDir})`);
      engine = await startEngineProcess(nats.url, [
        "--index",
        index,
        "--metrics-port",
        "0",
        "--viewer-ws",
        nats.wsUrl!,
        ...(values["signing-key"] ? ["--signing-key", values["signing-key"]] : []),
      ]);
      console.log(`cairn demo: engine running (pid ${engine.child.pid})`);
      if (engine.viewerUrl) {
        console.log(`cairn demo: watch it in a browser: ${engine.viewerUrl}hunts/${plan.huntId}`);
      }
      nc = await connect({ servers: nats.url, name: "cairn-demo-game-server" });

      const stats: EngineStats[] = [];
      let latest: EngineStats | undefined;
      let peakRss = 0;
      const gcTotal = { count: 0, major: 0, maxMs: 0, totalMs: 0 };
      engine.child.on("message", (m: { type?: string } & EngineStats) => {
        if (m.type !== "engine-stats") return;
        latest = m;
        stats.push(m);
        peakRss = Math.max(peakRss, m.rss);
        gcTotal.count += m.gc.count;
        gcTotal.major += m.gc.major;
        gcTotal.totalMs += m.gc.totalMs;
        gcTotal.maxMs = Math.max(gcTotal.maxMs, m.gc.maxMs);
      });

      const gen = new GameSimulator(nc, plan);
      await gen.setup((joined) => say(`joining players: ${fmt(joined)} / ${fmt(plan.players)}`));
      // Play starts once the engine has taken in every join, so the latency figures measure play.
      const jsm = await jetstreamManager(nc);
      await waitHandled(nc, plan.huntId, (await jsm.streams.info("HUNT_EVENTS")).state.last_seq, say);
      if (tty) process.stdout.write("\n");
      gen.listen();

      let top: LeaderboardEntry[] = [];
      const previousRank = new Map<string, number>();
      const movement = new Map<string, string>();
      nc.subscribe(`hunt.${plan.huntId}.top`, {
        callback: (_e, m) => {
          const next = m.json<TopN>().entries;
          for (const e of next) {
            const before = previousRank.get(e.playerId);
            movement.set(
              e.playerId,
              before === undefined
                ? "new"
                : before > e.rank
                  ? `↑${before - e.rank}`
                  : before < e.rank
                    ? `↓${e.rank - before}`
                    : "",
            );
          }
          previousRank.clear();
          for (const e of next) previousRank.set(e.playerId, e.rank);
          top = next;
        },
      });
      let teamTop: TeamLeaderboardEntry[] = [];
      nc.subscribe(`hunt.${plan.huntId}.teams.top`, {
        callback: (_e, m) => {
          teamTop = m.json<TeamsTopN>().entries;
        },
      });
      let rejectedCount = 0;
      nc.subscribe(`hunt.${plan.huntId}.rejected`, {
        callback: () => {
          rejectedCount++;
        },
      });

      let windowStats = gen.takeWindow();
      let windowStart = performance.now();
      let gcWindow = { count: 0, maxMs: 0 };
      let lastPlainLine = 0;
      const draw = (elapsed: number) => {
        const now = performance.now();
        if (now - windowStart >= 1000) {
          windowStats = gen.takeWindow();
          const secs = (now - windowStart) / 1000;
          windowStats.sent /= secs;
          windowStats.rankMessages /= secs;
          windowStart = now;
          gcWindow = { count: 0, maxMs: 0 };
          for (const s of stats.splice(0)) {
            gcWindow.count += s.gc.count;
            gcWindow.maxMs = Math.max(gcWindow.maxMs, s.gc.maxMs);
          }
        }
        const lines = [
          `Cairn demo — hunt ${plan.huntId}   ${elapsed.toFixed(1)} / ${plan.durationSec} s`,
          "",
          `  events/s published  ${fmt(windowStats.sent).padStart(8)}     rank messages/s ${fmt(windowStats.rankMessages).padStart(8)}`,
          `  event→rank latency  p50 ${ms(windowStats.p50Ms).padStart(6)} ms   p99 ${ms(windowStats.p99Ms).padStart(6)} ms   max ${ms(windowStats.maxMs).padStart(6)} ms`,
          `  consumer lag        ${fmt(latest?.lag ?? 0).padStart(8)}     engine RSS ${((latest?.rss ?? 0) / 2 ** 20).toFixed(0).padStart(5)} MB`,
          `  GC pauses (1 s)     ${String(gcWindow.count).padStart(8)}     longest ${gcWindow.maxMs.toFixed(2)} ms   rejected so far ${fmt(rejectedCount)}`,
          gen.frozen
            ? `  standings frozen: the public boards below stay as they were at the freeze; the engine goes on scoring`
            : "",
          `  rank  player        score  move ${plan.teams ? "   rank  team          score" : ""}`,
          ...top.map((e, i) => {
            const team = teamTop[i];
            const teamCol = team
              ? `   ${String(team.rank).padStart(4)}  ${team.teamId.padEnd(12)} ${fmt(team.score).padStart(6)}`
              : "";
            return `  ${String(e.rank).padStart(4)}  ${(e.playerId ?? "").padEnd(12)} ${fmt(e.score).padStart(6)}  ${(movement.get(e.playerId ?? "") ?? "").padEnd(4)}${teamCol}`;
          }),
        ];
        if (tty) process.stdout.write(`\x1b[H\x1b[J${lines.join("\n")}\n`);
        else if (now - lastPlainLine >= 1000) {
          lastPlainLine = now;
          console.log(
            `t=${elapsed.toFixed(1)}s events/s=${fmt(windowStats.sent)} p50=${ms(windowStats.p50Ms)}ms p99=${ms(windowStats.p99Ms)}ms lag=${latest?.lag ?? 0} gc=${gcWindow.count} rss=${((latest?.rss ?? 0) / 2 ** 20).toFixed(0)}MB leader=${top[0]?.playerId ?? "-"}(${top[0]?.score ?? 0})`,
          );
        }
      };
      if (tty) process.stdout.write("\x1b[2J");
      await gen.run(draw, () => interrupted);
      // The hunt ends on the clock: the engine appends HuntEnded {reason: "time_up"} itself (an
      // interrupted run ends it at once instead). Then the organiser reveals and finalises.
      if (interrupted) await gen.end();
      else await waitState(nc, plan.huntId, (s) => s.status === "ended", "the hunt's time-up", say);
      const lastSeq = await gen.revealAndFinalize();
      const live = await waitHandled(nc, plan.huntId, lastSeq, say);
      if (tty) process.stdout.write("\n");
      gen.close();

      const p = (q: number) => ms(gen.total.count ? gen.total.percentile(q) / 1e6 : 0);
      console.log("");
      console.log("summary");
      console.log(
        `  play events published    ${fmt(gen.playEvents)} in ${plan.durationSec} s (${fmt(gen.playEvents / plan.durationSec)}/s)`,
      );
      console.log(
        `  rank messages measured   ${fmt(gen.rankMessages)}${gen.mismatches ? ` (${gen.mismatches} could not be matched)` : ""}`,
      );
      console.log(
        `  event→rank latency       p50 ${p(50)} ms   p99 ${p(99)} ms   p99.9 ${p(99.9)} ms   max ${ms(gen.total.count ? gen.total.max / 1e6 : 0)} ms`,
      );
      console.log(
        `  engine GC pauses         ${gcTotal.count} (${gcTotal.major} major), longest ${gcTotal.maxMs.toFixed(2)} ms, total ${gcTotal.totalMs.toFixed(0)} ms`,
      );
      console.log(`  engine peak RSS          ${(peakRss / 2 ** 20).toFixed(0)} MB`);
      console.log(`  rejections               ${fmt(rejectedCount)}`);
      console.log(`  final state              ${live.status}, ${fmt(live.players)} players, seq ${live.seq}`);
      if (teamTop[0])
        console.log(`  winning team             ${teamTop[0].teamId} (${fmt(teamTop[0].score)})`);

      const replay = await replayHunt(nc, plan.huntId, {
        untilSeq: live.seq,
        ...(signer ? { signer } : {}),
        onProgress: (events) => say(`replaying from the log: ${fmt(events)} events`),
      });
      if (tty) process.stdout.write("\r\x1b[2K");
      const hash = stateHash(replay.fold);
      let code = 0;
      if (hash !== live.stateHash) {
        console.log(
          `replay: stateHash ${hash} differs from live ${live.stateHash} (${replay.events} events, replay seq ${replay.fold.seq}, live seq ${live.seq})`,
        );
        code = 1;
      } else console.log(`replay: stateHash ${hash} matches live (${replay.events} events)`);
      const last = replay.checkpoints.at(-1) ?? null;
      if (JSON.stringify(last) !== JSON.stringify(live.checkpoint)) {
        console.log(
          `replay: last checkpoint ${JSON.stringify(last)} differs from live ${JSON.stringify(live.checkpoint)}`,
        );
        code = 1;
      } else {
        console.log(
          `replay: ${replay.checkpoints.length} checkpoints, the last (seq ${last?.seq}, chain ${last?.chain}) matches live${signer ? `, signed by ${signer.publicKey}` : ""}`,
        );
      }
      if (lingerMs > 0 && engine.viewerUrl && !interrupted) {
        console.log(
          `cairn demo: the engine stays up ${Math.round(lingerMs / 1000)} s for a look at ${engine.viewerUrl}hunts/${plan.huntId} (Ctrl-C ends it)`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, lingerMs);
          process.once("SIGINT", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return code;
    } catch (err) {
      if (engine?.stderr.length) console.error(engine.stderr.slice(-10).join("\n"));
      throw err;
    } finally {
      process.removeListener("SIGINT", onSignal);
      await nc?.close().catch(() => {});
      await engine?.stop();
      await nats?.stop();
    }
  },
};
