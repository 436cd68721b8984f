// The --signing-key flag of the commands that produce checkpoints (serve, demo, replay): reads the
// Ed25519 key file, or says what is wrong with it and how to make a good one.
import { readFileSync } from "node:fs";
import { CheckpointSigner, SigningKeyError } from "../actors/index.ts";
import { UsageError } from "./flags.ts";

/** The usage line of --signing-key. */
export const SIGNING_KEY_USAGE = [
  "  --signing-key FILE    sign every checkpoint with this Ed25519 key: PEM PKCS#8, or the 32-byte seed",
  "                        in hex or base64 (`cairn keygen --out FILE` makes one)",
].join("\n");

/** The signer of `--signing-key FILE`, or undefined without the flag. */
export function signingKeyFlag(command: string, file: string | undefined): CheckpointSigner | undefined {
  if (file === undefined) return undefined;
  let contents: Buffer;
  try {
    contents = readFileSync(file);
  } catch (err) {
    throw new UsageError(
      `--signing-key: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      `check the path, or make a key with \`cairn keygen --out ${file}\``,
    );
  }
  try {
    return CheckpointSigner.fromFile(contents);
  } catch (err) {
    if (!(err instanceof SigningKeyError)) throw err;
    throw new UsageError(
      `--signing-key: "${file}" is not a usable key: ${err.message}`,
      `make one with \`cairn keygen --out FILE\` and pass that file to \`cairn ${command}\``,
    );
  }
}
