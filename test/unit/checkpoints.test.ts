// Checkpoints as the contract's "Audit" specifies them: after every 10,000th input and after each
// applied HuntEnded and HuntFinalized, with the stateHash right after that input, chained, numbered
// after the input's other outputs; reproduced by any replay whatever its batches or snapshots, and
// signed reproducibly.
import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  CheckpointSigner,
  chainOf,
  decodeHunt,
  encodeHunt,
  type FoldInput,
  GENESIS_CHAIN,
  HuntFold,
  SigningKeyError,
  signatureValid,
  stateHash,
} from "../../actors/index.ts";
import { createRankIndex } from "../../native/index.ts";
import { CollectingSink, ev, log, runningHunt } from "../support/hunt-log.ts";

/** 25,003 inputs: 10,000th a rejection, 20,000th a score change, then the end and the finalisation. */
function longHunt(): FoldInput[] {
  const events: (Record<string, unknown> | string)[] = [...runningHunt()];
  for (let p = 0; p < 500; p++) events.push(ev("PlayerJoined", { playerId: `p-${p}` }));
  while (events.length < 9_999) {
    const i = events.length;
    events.push(ev("ScoreAdjusted", { playerId: `p-${i % 500}`, delta: (i % 7) + 1, reason: "r" }));
  }
  events.push(ev("ScoreAdjusted", { playerId: "nobody", delta: 1, reason: "r" })); // input 10,000: rejected
  while (events.length < 25_000) {
    const i = events.length;
    events.push(ev("ScoreAdjusted", { playerId: `p-${i % 500}`, delta: (i % 5) - 2 || 3, reason: "r" }));
  }
  events.push(ev("HuntEnded"), ev("HuntPaused"), ev("HuntFinalized"));
  return log(events);
}

const hunt = longHunt();

function foldAll(msgs: readonly FoldInput[], batch: number, kind: "native" | "js" = "native") {
  const fold = new HuntFold("h-cp", createRankIndex(kind));
  const sink = new CollectingSink();
  for (let i = 0; i < msgs.length; i += batch) fold.applyBatch(msgs.slice(i, i + batch), sink);
  return { fold, sink };
}

describe("checkpoints", () => {
  const { fold, sink } = foldAll(hunt, 1000);

  it("come after every 10,000th input and each applied HuntEnded and HuntFinalized, chained", () => {
    expect(sink.checkpoints.map((c) => [c.seq, c.events, c.n])).toEqual([
      [10_000, 10_000, 1], // after its rejection
      [20_000, 20_000, 1], // after its rank message
      [25_001, 25_001, 0], // HuntEnded
      [25_003, 25_003, 0], // HuntFinalized (the rejected pause in between gives none)
    ]);
    let prev = GENESIS_CHAIN;
    for (const c of sink.checkpoints) {
      expect(c.prev).toBe(prev);
      expect(c.chain).toBe(createHash("sha256").update(`${prev}:${c.seq}:${c.stateHash}`).digest("hex"));
      prev = c.chain;
    }
    const { n: _n, ...last } = sink.checkpoints[3]!;
    expect(fold.checkpoint).toEqual(last);
    expect(fold.inputs).toBe(25_003);
  });

  it("carry the stateHash of the state right after their input, and the outputs stay in input order", () => {
    for (const c of sink.checkpoints) {
      const upTo = foldAll(
        hunt.filter((m) => m.seq <= c.seq),
        1000,
        "js",
      );
      expect(stateHash(upTo.fold)).toBe(c.stateHash);
    }
    const outputs = sink.outputs.map((o) => o.seq);
    expect(outputs).toEqual([...outputs].sort((a, b) => a - b));
  });

  it("are the same whatever the batches, the index, and a snapshot taken on the way", () => {
    for (const [batch, kind] of [
      [1, "js"],
      [7, "native"],
      [4096, "js"],
    ] as const) {
      expect(foldAll(hunt, batch, kind).sink.checkpoints).toEqual(sink.checkpoints);
    }
    for (const at of [9_999, 10_000, 15_000, 25_001]) {
      const head = foldAll(
        hunt.filter((m) => m.seq <= at),
        1000,
      );
      const restored = decodeHunt("h-cp", encodeHunt(head.fold));
      expect(restored.inputs).toBe(at);
      expect(restored.checkpoint).toEqual(head.fold.checkpoint);
      const tail = new CollectingSink();
      restored.applyBatch(
        hunt.filter((m) => m.seq > at),
        tail,
      );
      expect([...head.sink.checkpoints, ...tail.checkpoints]).toEqual(sink.checkpoints);
    }
  });

  it("count inputs, not sequences: a redelivered input is not counted twice", () => {
    const again = new HuntFold("h-cp", createRankIndex("js"));
    const s = new CollectingSink();
    again.applyBatch(hunt.slice(0, 6_000), s);
    again.applyBatch(hunt.slice(5_000, 12_000), s);
    expect(again.inputs).toBe(12_000);
    expect(s.checkpoints.map((c) => c.seq)).toEqual([10_000]);
  });

  it("leave the hashed bytes alone: the snapshot's audit header is outside stateHash", () => {
    const small = foldAll(
      log([...runningHunt(), ev("PlayerJoined", { playerId: "a" }), ev("HuntEnded")]),
      10,
    );
    expect(small.sink.checkpoints).toHaveLength(1);
    const bytes = encodeHunt(small.fold);
    const hashed = bytes.subarray(headerLength(bytes));
    expect(createHash("sha256").update(hashed).digest("hex")).toBe(stateHash(small.fold));
  });

  it("a snapshot written before checkpoints loads with an unknown input count", () => {
    const small = foldAll(log([...runningHunt(), ev("PlayerJoined", { playerId: "a" })]), 10);
    const bytes = encodeHunt(small.fold);
    const old = decodeHunt("h-cp", bytes.subarray(headerLength(bytes)));
    expect(old.inputsKnown).toBe(false);
    expect(stateHash(old)).toBe(stateHash(small.fold));
    expect(decodeHunt("h-cp", bytes).inputsKnown).toBe(true);
  });
});

/** The length of a snapshot's audit header: the hashed bytes start with the hunt magic "CRNH". */
function headerLength(bytes: Uint8Array): number {
  const at = Buffer.from(bytes).indexOf(Buffer.from("CRNH", "latin1"));
  expect(at).toBeGreaterThan(0);
  return at;
}

describe("signed checkpoints", () => {
  const seed = Buffer.alloc(32, 7);
  const signer = CheckpointSigner.fromSeed(seed);
  const chain = chainOf(GENESIS_CHAIN, 10, "a".repeat(64));

  it("sign the ASCII chain with Ed25519, deterministically, and carry the raw public key", () => {
    const a = signer.sign({ seq: 10, events: 10, stateHash: "a".repeat(64), prev: GENESIS_CHAIN, chain });
    const b = CheckpointSigner.fromSeed(seed).sign({
      seq: 10,
      events: 10,
      stateHash: "a".repeat(64),
      prev: GENESIS_CHAIN,
      chain,
    });
    expect(a).toEqual(b);
    expect(Buffer.from(a.key!, "base64")).toHaveLength(32);
    expect(Buffer.from(a.sig!, "base64")).toHaveLength(64);
    expect(signatureValid(chain, a.sig!, a.key!)).toBe(true);
    expect(signatureValid(chainOf(GENESIS_CHAIN, 11, "a".repeat(64)), a.sig!, a.key!)).toBe(false);
    const other = CheckpointSigner.fromSeed(Buffer.alloc(32, 8)).publicKey;
    expect(signatureValid(chain, a.sig!, other)).toBe(false);
    expect(signatureValid(chain, "not base64", a.key!)).toBe(false);
  });

  it("read a key file as PEM PKCS#8, or a 32-byte seed in hex or base64", () => {
    const pem = signer.toPem();
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    for (const text of [pem, seed.toString("hex"), `${seed.toString("base64")}\n`]) {
      expect(CheckpointSigner.fromFile(Buffer.from(text)).publicKey).toBe(signer.publicKey);
    }
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
      format: "pem",
      type: "pkcs8",
    });
    expect(() => CheckpointSigner.fromFile(Buffer.from(rsa))).toThrow(/rsa private key, not an Ed25519/);
    expect(() => CheckpointSigner.fromFile(Buffer.from("abc"))).toThrow(SigningKeyError);
    expect(() => CheckpointSigner.fromFile(Buffer.from("-----BEGIN PRIVATE KEY-----\nxx\n"))).toThrow(
      /PEM key cannot be read/,
    );
  });
});
