// `cairn replay`: rebuilds a hunt from its log alone, prints its state at any point, and can verify
// the live engine's stateHash.
import { jetstreamManager } from "@nats-io/jetstream";
import { replayHunt, stateHash } from "../../actors/index.ts";
import type { StateReply } from "../../schemas/index.ts";
import { EVENTS_STREAM } from "../../streams/index.ts";
import {
  type Command,
  HUNT_FLAGS,
  huntFlag,
  LOG_FOLD_FLAGS,
  logFoldFlags,
  NATS_FLAGS_USAGE,
  noEventsError,
  parseFlags,
  printEntries,
  queryCli,
  RuntimeError,
  requireStream,
  UsageError,
  withConnection,
} from "../cli.ts";

const FLAGS = {
  ...HUNT_FLAGS,
  ...LOG_FOLD_FLAGS,
  verify: { type: "boolean" },
} as const;

export const command: Command = {
  summary: "rebuild a hunt from its log alone (audits); --verify checks the live engine's stateHash",
  usage: [
    "usage: cairn replay --hunt ID [--until-seq N] [--verify] [--json] [flags]",
    "",
    "Folds hunt.<ID>.events from the first event, in a fresh fold, and prints the status, players, the top",
    "of the leaderboard and the stateHash at that point. On a partitioned deployment (a server mapping",
    "to hunt.<ID>.events.<p>) it finds where the hunt's events are stored by itself.",
    "",
    "  --hunt ID        the hunt (required)",
    "  --until-seq N    stop after stream sequence N (default: the end of the log)",
    "  --verify         ask the live engine for its state, replay to the same seq and compare the",
    "                   stateHash; exits 1 on a mismatch",
    "  --json           print the result as JSON",
    "  --top N          leaderboard rows to print (default 10)",
    "  --index KIND     rank index for the replay: auto, native or js (default auto)",
    "  --partitions N   read the subject the server's partition mapping gives with N partitions (0:",
    "                   hunt.<ID>.events) instead of finding it; needed only when the hunt's events",
    "                   are stored under several subjects (the mapping changed while it ran)",
    NATS_FLAGS_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("replay", argv, FLAGS);
    const huntId = huntFlag("replay", values.hunt);
    const { topN, indexKind: index, partitions, ...until } = logFoldFlags("replay", values);
    let untilSeq = until.untilSeq;
    if (values.verify && untilSeq !== undefined) {
      throw new UsageError(
        "--verify replays to the live engine's seq, so it takes no --until-seq",
        "drop one of them",
      );
    }
    return withConnection("replay", values, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await requireStream(nc, jsm, EVENTS_STREAM);
      let live: StateReply | undefined;
      if (values.verify) {
        live = await queryCli<StateReply>(nc, huntId, "state").catch((err: RuntimeError) => {
          throw new RuntimeError(err.code, `could not get the live state: ${err.message}`, err.hint);
        });
        untilSeq = live.seq;
      }
      const tty = process.stderr.isTTY === true;
      const result = await replayHunt(nc, huntId, {
        untilSeq,
        partitions,
        indexKind: index,
        onProgress: (events, seq) => {
          const line = `replaying ${huntId}: ${events.toLocaleString("en-US")} events, seq ${seq}`;
          if (tty) process.stderr.write(`\r\x1b[2K${line}`);
        },
      });
      if (tty) process.stderr.write("\r\x1b[2K");
      if (result.events === 0) throw await noEventsError(nc, jsm, huntId, untilSeq, partitions);
      const fold = result.fold;
      const hash = stateHash(fold);
      const entries = fold.index.top(topN);
      const rate = result.events / (result.ms / 1000);
      if (values.json) {
        console.log(
          JSON.stringify({
            huntId,
            seq: fold.seq,
            status: fold.status,
            players: fold.joined,
            stateHash: hash,
            events: result.events,
            ranks: result.ranks,
            rejections: result.rejections,
            top: entries,
            ...(live ? { live, matches: live.stateHash === hash } : {}),
          }),
        );
      } else {
        console.log(`hunt ${huntId} at seq ${fold.seq}: ${fold.status}, ${fold.joined} players`);
        console.log(
          `folded ${result.events} events (${result.ranks} rank changes, ${result.rejections} rejections) in ${(result.ms / 1000).toFixed(2)} s, ${Math.round(rate).toLocaleString("en-US")} events/s`,
        );
        if (entries.length > 0) printEntries(entries);
        console.log(`stateHash ${hash}`);
      }
      if (live) {
        if (live.stateHash !== hash || live.seq !== fold.seq) {
          console.error(
            `verify: MISMATCH at seq ${live.seq}: live ${live.stateHash} (${live.status}, ${live.players} players), replay ${hash} (seq ${fold.seq}, ${fold.status}, ${fold.joined} players)`,
          );
          return 1;
        }
        if (!values.json) console.log(`verify: live engine matches at seq ${live.seq}`);
      }
      return 0;
    });
  },
};
