// `cairn verify`: checks a hunt archive offline, from its events alone: every checkpoint, the chain,
// the signatures and the final standings.
import { ArchiveError, verifyArchive } from "../../actors/index.ts";
import type { RankIndexKind } from "../../native/index.ts";
import { type Command, choiceFlag, parseFlags, RuntimeError, UsageError } from "../cli.ts";

const FLAGS = {
  "public-key": { type: "string" },
  "require-signatures": { type: "boolean" },
  index: { type: "string" },
  json: { type: "boolean" },
} as const;

export const command: Command = {
  summary: "check a hunt archive offline: checkpoints, chain, signatures, standings",
  usage: [
    "usage: cairn verify FILE [--public-key KEY] [--require-signatures] [--json]",
    "",
    "Folds the archive's events in a fresh fold, without NATS or an engine, and checks every checkpoint",
    "it holds (seq, events, stateHash, prev, chain), the chain itself, each signature, and the final",
    "standings of every board. Exits 0 only if everything matches; otherwise prints which checkpoint",
    "first differs and at which seq (and the first difference of every other kind), and exits 1.",
    "",
    "  --public-key KEY       every checkpoint must be signed by this Ed25519 key (raw 32 bytes, base64,",
    "                         as `cairn keygen` prints it); without it, signatures are checked against",
    "                         the key each checkpoint carries, which only proves they were not altered",
    "  --require-signatures   fail when a checkpoint is not signed",
    "  --index KIND           rank index: auto, native or js (default auto)",
    "  --json                 print the result as JSON",
  ].join("\n"),
  async run(argv) {
    const { values, positionals: positional } = parseFlags("verify", argv, FLAGS, true);
    if (positional.length !== 1) {
      throw new UsageError(
        positional.length === 0
          ? "name the archive to verify"
          : `one archive at a time, got ${positional.length}`,
        "run `cairn verify FILE`, FILE written by `cairn export`",
      );
    }
    const file = positional[0]!;
    const publicKey = values["public-key"];
    if (publicKey !== undefined && Buffer.from(publicKey, "base64").toString("base64") !== publicKey) {
      throw new UsageError(
        `--public-key must be base64, got "${publicKey}"`,
        "pass the key `cairn keygen` printed (44 characters ending in =)",
      );
    }
    if (publicKey !== undefined && Buffer.from(publicKey, "base64").length !== 32) {
      throw new UsageError(
        `--public-key must be 32 bytes in base64 (an Ed25519 public key), got ${Buffer.from(publicKey, "base64").length} bytes`,
        "pass the key `cairn keygen` printed (44 characters ending in =)",
      );
    }
    const tty = process.stderr.isTTY === true;
    const started = performance.now();
    const result = await verifyArchive(file, {
      ...(publicKey !== undefined ? { publicKey } : {}),
      requireSignatures: values["require-signatures"] === true,
      indexKind: choiceFlag<RankIndexKind>("index", values.index, ["auto", "native", "js"], "auto"),
      onProgress: (what) => {
        if (tty) process.stderr.write(`\r\x1b[2K${what}`);
      },
    }).catch((err: unknown) => {
      if (err instanceof ArchiveError) {
        throw new RuntimeError(
          err.code,
          `${file}: ${err.message}`,
          "verify the archive as `cairn export` wrote it; export it again if it was damaged",
        );
      }
      throw err;
    });
    if (tty) process.stderr.write("\r\x1b[2K");
    const seconds = (performance.now() - started) / 1000;
    if (values.json) {
      console.log(JSON.stringify(result));
    } else {
      console.log(
        `hunt ${result.hunt}: ${result.events} events up to seq ${result.seq}, ${result.checkpoints} checkpoints (${result.signed} signed${result.key ? ` by ${result.key}` : ""}), ${result.standings} standings, checked in ${seconds.toFixed(2)} s`,
      );
      for (const p of result.problems) console.log(`MISMATCH: ${p}`);
      if (result.ok) console.log(`verify: OK${result.lastChain ? `, last chain ${result.lastChain}` : ""}`);
    }
    if (!result.ok) {
      console.error(`cairn verify: ${result.problems[0]}`);
      console.error(
        "cairn verify: the archive does not match its own events: it was altered, or exported from a log that differs from the engine's",
      );
    }
    return result.ok ? 0 : 1;
  },
};
