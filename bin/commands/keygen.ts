// `cairn keygen`: makes the Ed25519 key an engine signs its checkpoints with, and prints its public
// key for auditors.
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { CheckpointSigner } from "../../actors/index.ts";
import { type Command, parseFlags, RuntimeError, requiredFlag, UsageError } from "../cli.ts";

const FLAGS = {
  out: { type: "string" },
  force: { type: "boolean" },
  json: { type: "boolean" },
} as const;

export const command: Command = {
  summary: "make an Ed25519 key for signing checkpoints (cairn serve --signing-key)",
  usage: [
    "usage: cairn keygen --out FILE [--force] [--json]",
    "",
    "Writes a new Ed25519 private key to FILE as PEM PKCS#8, readable by its owner only (mode 0600),",
    "and prints its public key: the raw 32 bytes in base64, as signed checkpoints carry it in `key`.",
    "Give the public key to auditors (`cairn verify --public-key KEY`); keep the file secret.",
    "",
    "  --out FILE   where to write the private key (required)",
    "  --force      overwrite FILE if it exists (the old key is lost)",
    '  --json       print {"file", "publicKey"} as JSON',
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("keygen", argv, FLAGS);
    const out = requiredFlag("keygen", "out", values.out);
    const signer = new CheckpointSigner(generateKeyPairSync("ed25519").privateKey);
    try {
      // wx: refuse an existing file (no race between a check and the write); the mode applies on creation.
      writeFileSync(out, signer.toPem(), { mode: 0o600, flag: values.force ? "w" : "wx" });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") {
        throw new UsageError(
          `"${out}" already exists; keygen does not overwrite a key`,
          "choose another --out, or add --force to replace it (checkpoints signed with the old key then no longer match the new one)",
        );
      }
      throw new RuntimeError(
        "write_failed",
        `cannot write "${out}": ${code ?? (err as Error).message}`,
        "check the directory exists and is writable",
      );
    }
    // An existing file keeps its old mode when overwritten: make it private too.
    if (values.force) chmodSync(out, 0o600);
    if (values.json) console.log(JSON.stringify({ file: out, publicKey: signer.publicKey }));
    else {
      console.log(`private key written to ${out} (mode 0600); keep it secret`);
      console.log(`public key ${signer.publicKey}`);
    }
    return 0;
  },
};
