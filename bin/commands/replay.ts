// `cairn replay`: rebuilds a hunt from its log alone, prints its state at any point, and can verify
// the live engine's stateHash.
import { jetstreamManager } from "@nats-io/jetstream";
import { type CheckpointMessage, replayHunt, signatureValid, stateHash } from "../../actors/index.ts";
import type { StateReply } from "../../schemas/index.ts";
import { CHECKPOINTS_STREAM, EVENTS_STREAM, readCheckpoints } from "../../streams/index.ts";
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
import { SIGNING_KEY_USAGE, signingKeyFlag } from "../signing-key.ts";

const FLAGS = {
  ...HUNT_FLAGS,
  ...LOG_FOLD_FLAGS,
  verify: { type: "boolean" },
  "signing-key": { type: "string" },
} as const;

export const command: Command = {
  summary:
    "rebuild a hunt from its log alone (audits); --verify checks the live engine's stateHash and stored checkpoints",
  usage: [
    "usage: cairn replay --hunt ID [--until-seq N] [--verify] [--json] [flags]",
    "",
    "Folds hunt.<ID>.events from the first event, in a fresh fold, and prints the status, players, the top",
    "of the leaderboard, the stateHash and the checkpoints at that point (every one reproduced bit for",
    "bit). On a partitioned deployment (a server mapping to hunt.<ID>.events.<p>) it finds where the",
    "hunt's events are stored by itself.",
    "",
    "  --hunt ID        the hunt (required)",
    "  --until-seq N    stop after stream sequence N (default: the end of the log)",
    "  --verify         ask the live engine for its state, replay to the same seq and compare the",
    "                   stateHash, and compare every checkpoint with those stored in HUNT_CHECKPOINTS",
    "                   (signatures too: reproduced with --signing-key, else checked); exits 1 on a",
    "                   mismatch, naming the first",
    "  --json           print the result as JSON",
    "  --top N          leaderboard rows to print (default 10)",
    "  --index KIND     rank index for the replay: auto, native or js (default auto)",
    "  --partitions N   read the subject the server's partition mapping gives with N partitions (0:",
    "                   hunt.<ID>.events) instead of finding it; needed only when the hunt's events",
    "                   are stored under several subjects (the mapping changed while it ran)",
    SIGNING_KEY_USAGE,
    NATS_FLAGS_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("replay", argv, FLAGS);
    const huntId = huntFlag("replay", values.hunt);
    const { topN, indexKind: index, partitions, ...until } = logFoldFlags("replay", values);
    let untilSeq = until.untilSeq;
    const signer = signingKeyFlag("replay", values["signing-key"]);
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
        ...(signer ? { signer } : {}),
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
            checkpoints: result.checkpoints,
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
        const last = result.checkpoints.at(-1);
        console.log(
          last
            ? `${result.checkpoints.length} checkpoints, the last at seq ${last.seq}: chain ${last.chain}${last.sig ? ` (signed by ${last.key})` : ""}`
            : "no checkpoint yet",
        );
      }
      if (live) {
        if (live.stateHash !== hash || live.seq !== fold.seq) {
          console.error(
            `verify: MISMATCH at seq ${live.seq}: live ${live.stateHash} (${live.status}, ${live.players} players), replay ${hash} (seq ${fold.seq}, ${fold.status}, ${fold.joined} players)`,
          );
          return 1;
        }
        if (!values.json) console.log(`verify: live engine matches at seq ${live.seq}`);
        await requireStream(nc, jsm, CHECKPOINTS_STREAM);
        const stored = (await readCheckpoints(nc, huntId, jsm)).filter(
          (c) => (JSON.parse(c.body) as CheckpointMessage).seq <= fold.seq,
        );
        const difference = firstDifference(
          stored.map((c) => c.body),
          result.checkpoints,
          signer !== undefined,
        );
        if (difference) {
          console.error(`verify: MISMATCH in the stored checkpoints: ${difference}`);
          return 1;
        }
        if (!values.json) console.log(`verify: the ${stored.length} stored checkpoints match the replay`);
      }
      return 0;
    });
  },
};

/**
 * The first difference between the stored checkpoints (bodies as published) and the replay's. With
 * the engine's signing key the replay signs too, and the bodies must be equal byte for byte;
 * without it, the unsigned fields must be, and each stored signature must verify.
 */
function firstDifference(
  stored: readonly string[],
  replayed: readonly CheckpointMessage[],
  signed: boolean,
): string | undefined {
  for (let i = 0; i < Math.max(stored.length, replayed.length); i++) {
    const body = stored[i];
    const mine = replayed[i];
    if (body === undefined) return `checkpoint ${i + 1} (seq ${mine!.seq}) is not stored`;
    const theirs = JSON.parse(body) as CheckpointMessage;
    if (mine === undefined)
      return `checkpoint ${i + 1} (seq ${theirs.seq}) is stored, but the replay gives none`;
    if (signed) {
      if (body !== JSON.stringify(mine))
        return `checkpoint ${i + 1}: stored ${body}, replay ${JSON.stringify(mine)}`;
      continue;
    }
    for (const field of ["seq", "events", "stateHash", "prev", "chain"] as const) {
      if (theirs[field] !== mine[field]) {
        return `checkpoint ${i + 1} (seq ${mine.seq}): stored ${field} ${theirs[field]}, replay ${mine[field]}`;
      }
    }
    if (theirs.sig !== undefined && !signatureValid(theirs.chain, theirs.sig, theirs.key ?? "")) {
      return `checkpoint ${i + 1} (seq ${theirs.seq}): its stored signature does not verify with its key ${theirs.key}`;
    }
  }
  return undefined;
}
