// stateHash of a large hunt, whose bytes are hashed on the hashing thread while they are written: the
// same hash as hashing them in one go, with either board; and the thread's stream itself, against
// node's hash and CRC-32, however the bytes come.
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashingThreadRunning, hashWritten, THREAD_FROM_BYTES } from "../../actors/hunt/hash-stream.ts";
import { encodeHunt, HuntFold, type OutputSink, stateHash } from "../../actors/index.ts";
import { xorshift } from "../../bench/xorshift.ts";
import { createRankIndex, type RankIndexKind } from "../../native/index.ts";
import { log, playedHunt } from "../support/hunt-log.ts";

/** A sink without checkpoints: the fold keeps none, so its snapshot's audit header has a fixed length. */
const noCheckpoints: OutputSink = { rank() {}, teamRank() {}, rejected() {} };
/** The audit header of a snapshot with no checkpoint: magic, version, three f64s, a u8 and a CRC. */
const AUDIT_BYTES = 4 + 4 + 8 + 8 + 8 + 8 + 1 + 4;

describe("stateHash of a large hunt", () => {
  const events = log(playedHunt("big", 30_000, 20_000));

  it.each<RankIndexKind>(["native", "js"])("is the sha256 of its canonical bytes (%s board)", (kind) => {
    const fold = new HuntFold("h-big", createRankIndex(kind));
    for (let i = 0; i < events.length; i += 1000) fold.applyBatch(events.slice(i, i + 1000), noCheckpoints);
    const hashed = encodeHunt(fold).subarray(AUDIT_BYTES);
    expect(Buffer.from(hashed.subarray(0, 4)).toString("latin1")).toBe("CRNH");
    expect(hashed.length).toBeGreaterThan(THREAD_FROM_BYTES);
    expect(stateHash(fold)).toBe(createHash("sha256").update(hashed).digest("hex"));
    expect(hashingThreadRunning()).toBe(true);
    fold.dispose();
  });
});

/** Bytes to write, from a seeded generator; writes are long enough to fill the ring, so that it waits. */
const MAX_WRITE = 1_500_000;
const POOL = (() => {
  const next = xorshift(11);
  return Uint8Array.from({ length: 2 * MAX_WRITE }, () => next() & 0xff);
})();

describe("the hashing thread's stream", () => {
  it("gives node's sha256, and CRC-32s from each mark, for any writes, marks and records too long for it", () => {
    // A write: `n` bytes from a seeded pattern, after making room for `need`; or a CRC mark.
    const step = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({ n: fc.integer({ min: 0, max: MAX_WRITE }), need: fc.constant(0) }),
      },
      { weight: 1, arbitrary: fc.record({ n: fc.constant(0), need: fc.integer({ min: 0, max: 600_000 }) }) },
      { weight: 1, arbitrary: fc.constant("mark" as const) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 16 }), fc.nat(), (steps, seed) => {
        const reference = createHash("sha256");
        const crcs: number[] = [];
        let crc = 0;
        let k = seed;
        const bytesOf = (n: number) => {
          k = (k * 7919 + 13) % (POOL.length - MAX_WRITE);
          return POOL.subarray(k, k + n);
        };
        const chunks = steps.map((s) => (s === "mark" ? s : { ...s, bytes: bytesOf(s.n) }));
        for (const c of chunks) {
          if (c === "mark") {
            crcs.push(crc);
            crc = 0;
          } else {
            reference.update(c.bytes);
            crc = crc32(c.bytes, crc);
          }
        }
        const seen: number[] = [];
        const hex = hashWritten(THREAD_FROM_BYTES, (sink, first) => {
          seen.length = 0;
          let buf = first;
          let length = 0;
          for (const c of chunks) {
            if (c === "mark") {
              buf = sink.next(buf.subarray(0, length), 0);
              length = 0;
              seen.push(sink.crc());
              buf = sink.next(buf.subarray(0, 0), 0);
              continue;
            }
            if (length + Math.max(c.need, 1) > buf.length) {
              buf = sink.next(buf.subarray(0, length), c.need);
              length = 0;
            }
            for (let at = 0; at < c.bytes.length; ) {
              if (length === buf.length) {
                buf = sink.next(buf.subarray(0, length), 1);
                length = 0;
              }
              const part = c.bytes.subarray(at, at + buf.length - length);
              buf.set(part, length);
              length += part.length;
              at += part.length;
            }
          }
          return sink.digest(buf.subarray(0, length));
        });
        expect(hex).toBe(reference.digest("hex"));
        expect(seen).toEqual(crcs);
      }),
      { numRuns: 40 },
    );
    expect(hashingThreadRunning()).toBe(true);
  });
});
