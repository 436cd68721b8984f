// `cairn export`: writes a hunt's archive (its inputs as stored, its checkpoints, its final
// standings) to one file that `cairn verify` checks offline.
import { jetstreamManager } from "@nats-io/jetstream";
import { exportHunt } from "../../actors/index.ts";
import type { RankIndexKind } from "../../native/index.ts";
import { CHECKPOINTS_STREAM, EVENTS_STREAM, EventLog } from "../../streams/index.ts";
import {
  type Command,
  choiceFlag,
  HUNT_FLAGS,
  huntFlag,
  intFlag,
  NATS_FLAGS_USAGE,
  parseFlags,
  RuntimeError,
  requiredFlag,
  requireStream,
  withConnection,
} from "../cli.ts";

const FLAGS = {
  ...HUNT_FLAGS,
  out: { type: "string" },
  index: { type: "string" },
  partitions: { type: "string" },
} as const;

export const command: Command = {
  summary: "write a hunt's archive (events, checkpoints, final standings) for `cairn verify`",
  usage: [
    "usage: cairn export --hunt ID --out FILE [flags]",
    "",
    "Writes one self-contained archive of the hunt: NDJSON (gzipped when FILE ends in .gz) holding a",
    "header, every input as stored in HUNT_EVENTS (seq, time, Nats-Msg-Id, the body as published), the",
    "checkpoints stored in HUNT_CHECKPOINTS, and the final standings of every board as a replay of the",
    'log gives them. The format is in schemas/CONTRACT.md ("Archive"). `cairn verify FILE` checks it',
    "offline. The file appears only once complete (it is written to FILE.partial first).",
    "",
    "  --hunt ID        the hunt (required)",
    "  --out FILE       where to write the archive (required; .gz compresses it)",
    "  --json           print what was written as JSON",
    "  --index KIND     rank index for the replay: auto, native or js (default auto)",
    "  --partitions N   read the subject the server's partition mapping gives with N partitions (see",
    "                   `cairn replay --help`)",
    NATS_FLAGS_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("export", argv, FLAGS);
    const huntId = huntFlag("export", values.hunt);
    const out = requiredFlag("export", "out", values.out);
    const index: RankIndexKind = choiceFlag("index", values.index, ["auto", "native", "js"], "auto");
    const partitions =
      values.partitions === undefined
        ? undefined
        : intFlag("export", "partitions", values.partitions, 0, 0, 1024);
    return withConnection("export", values, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await requireStream(nc, jsm, EVENTS_STREAM);
      await requireStream(nc, jsm, CHECKPOINTS_STREAM);
      const log = new EventLog(nc, jsm, partitions);
      if ((await log.lastSeq(huntId)) === 0) {
        throw new RuntimeError(
          "unknown_hunt",
          `hunt "${huntId}" has no events on ${await log.storedSubject(huntId)}`,
          "check the hunt id, and that --nats names the server it was published to",
        );
      }
      const tty = process.stderr.isTTY === true;
      const started = performance.now();
      const result = await exportHunt(nc, huntId, out, {
        indexKind: index,
        ...(partitions !== undefined ? { partitions } : {}),
        onProgress: (events, seq) => {
          const line = `exporting ${huntId}: ${events.toLocaleString("en-US")} events, seq ${seq}`;
          if (tty) process.stderr.write(`\r\x1b[2K${line}`);
        },
      }).catch((err: NodeJS.ErrnoException) => {
        if (!err.code || !err.syscall) throw err;
        throw new RuntimeError(
          "write_failed",
          `cannot write "${out}": ${err.code}`,
          "check the directory exists and is writable",
        );
      });
      if (tty) process.stderr.write("\r\x1b[2K");
      const seconds = (performance.now() - started) / 1000;
      if (values.json) console.log(JSON.stringify({ huntId, file: out, ...result }));
      else {
        console.log(
          `exported ${huntId} to ${out}: ${result.events} events up to seq ${result.seq}, ${result.checkpoints} checkpoints, ${result.standings} standings (${seconds.toFixed(2)} s)`,
        );
      }
      if (result.notStoredYet > 0) {
        console.error(
          `cairn export: the replay gives ${result.notStoredYet} more checkpoint(s) than the engine has stored: it has not handled the hunt's latest events yet, so \`cairn verify\` will report them missing; export again once it has`,
        );
      }
      if (result.firstDifferentSeq !== undefined) {
        console.error(
          `cairn export: the stored checkpoint at seq ${result.firstDifferentSeq} differs from the replay of the log; \`cairn verify ${out}\` says how`,
        );
      }
      return 0;
    });
  },
};
