// The hunt's chained checkpoints (the contract's "Audit"): when one is due, its chain, and its
// Ed25519 signature. Pure: the chain depends only on the log, and Ed25519 signatures are
// deterministic, so a replay with the same key reproduces every checkpoint bit for bit.
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { Checkpoint as SchemaCheckpoint } from "../../schemas/index.ts";

/** A checkpoint is due after every input whose count among the hunt's inputs is a multiple of this. */
export const CHECKPOINT_EVERY = 10_000;

/** The `prev` of a hunt's first checkpoint. */
export const GENESIS_CHAIN = "0".repeat(64);

/**
 * A checkpoint as published on `hunt.<id>.checkpoints` (schemas/outputs/checkpoint.json): `sig` is
 * Ed25519 over the ASCII bytes of `chain` and `key` the raw 32-byte public key, both in base64 with
 * the standard alphabet and padding; they are present only when the checkpoint was signed.
 */
export type CheckpointMessage = SchemaCheckpoint;

/** A checkpoint without its signature: what the fold computes and keeps. */
export type Checkpoint = Omit<SchemaCheckpoint, "sig" | "key">;

/** The chain of a checkpoint, from the previous chain, its seq and its stateHash. */
export function chainOf(prev: string, seq: number, stateHash: string): string {
  return createHash("sha256").update(`${prev}:${seq}:${stateHash}`, "latin1").digest("hex");
}

/** A signing key that cannot be used; the message says what was wrong. */
export class SigningKeyError extends Error {
  readonly code = "bad_signing_key";
  constructor(message: string) {
    super(message);
    this.name = "SigningKeyError";
  }
}

/** The DER prefix of a PKCS#8 Ed25519 private key, before its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** Signs checkpoints with one Ed25519 key. */
export class CheckpointSigner {
  /** The public key, raw 32 bytes in base64: what each signed checkpoint carries as `key`. */
  readonly publicKey: string;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") {
      throw new SigningKeyError(
        `the signing key is ${privateKey.asymmetricKeyType ?? "not an asymmetric"} ${privateKey.type} key, not an Ed25519 private key`,
      );
    }
    this.publicKey = rawPublicKey(createPublicKey(privateKey)).toString("base64");
  }

  /**
   * Reads a key file's contents: a PEM PKCS#8 Ed25519 private key, or the raw 32-byte seed as 64 hex
   * digits or as base64 (44 characters), surrounding whitespace ignored.
   */
  static fromFile(contents: Buffer): CheckpointSigner {
    const text = contents.toString("utf8").trim();
    if (text.startsWith("-----BEGIN")) {
      let key: KeyObject;
      try {
        key = createPrivateKey({ key: text, format: "pem" });
      } catch (err) {
        throw new SigningKeyError(`the PEM key cannot be read: ${(err as Error).message}`);
      }
      return new CheckpointSigner(key);
    }
    let seed: Buffer | undefined;
    if (/^[0-9a-fA-F]{64}$/.test(text)) seed = Buffer.from(text, "hex");
    else if (/^[A-Za-z0-9+/]{43}=$/.test(text)) seed = Buffer.from(text, "base64");
    if (seed?.length !== 32) {
      throw new SigningKeyError(
        "it is neither a PEM PKCS#8 Ed25519 private key nor a 32-byte Ed25519 seed in hex (64 digits) or base64 (44 characters)",
      );
    }
    return CheckpointSigner.fromSeed(seed);
  }

  /** The key of a raw 32-byte Ed25519 seed. */
  static fromSeed(seed: Uint8Array): CheckpointSigner {
    if (seed.length !== 32) throw new SigningKeyError(`an Ed25519 seed has 32 bytes, not ${seed.length}`);
    const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
    return new CheckpointSigner(createPrivateKey({ key: der, format: "der", type: "pkcs8" }));
  }

  /** The private key as PEM PKCS#8 (what `cairn keygen` writes). */
  toPem(): string {
    return this.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  }

  /** The checkpoint with its `sig` and `key`. */
  sign(checkpoint: Checkpoint): CheckpointMessage {
    const sig = sign(null, Buffer.from(checkpoint.chain, "latin1"), this.privateKey).toString("base64");
    return { ...checkpoint, sig, key: this.publicKey };
  }
}

/** The raw 32 bytes of an Ed25519 public key. */
function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: "jwk" });
  return Buffer.from(jwk.x as string, "base64url");
}

/** Whether `sig` (base64) is a valid Ed25519 signature of `chain` by `key` (raw 32 bytes, base64). */
export function signatureValid(chain: string, sig: string, key: string): boolean {
  const raw = Buffer.from(key, "base64");
  if (raw.length !== 32 || raw.toString("base64") !== key) return false;
  const signature = Buffer.from(sig, "base64");
  if (signature.length !== 64 || signature.toString("base64") !== sig) return false;
  try {
    const publicKey = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
      format: "jwk",
    });
    return verify(null, Buffer.from(chain, "latin1"), publicKey, signature);
  } catch {
    return false;
  }
}

/** The checkpoint message: signed when a signer is given. */
export function checkpointMessage(checkpoint: Checkpoint, signer?: CheckpointSigner): CheckpointMessage {
  return signer ? signer.sign(checkpoint) : { ...checkpoint };
}
