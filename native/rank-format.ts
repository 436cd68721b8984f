// The CRNK byte format of a rank index, written and checked the same way by both implementations.
import { Buffer } from "node:buffer";
import { crc32 } from "node:zlib";
import { MAX_ID_BYTES } from "./argument-checks.ts";

/** Raised when bytes given to `deserialize` are not a valid CRNK rank index. */
export class CorruptRankIndexError extends Error {
  /** Stable error code. */
  readonly code = "corrupt_rank_index";
  constructor(detail: string) {
    super(`corrupt rank index: ${detail}`);
    this.name = "CorruptRankIndexError";
  }
}

/** One ranked entry as stored: entries are written in rank order. */
export interface RankRecord {
  /** Player id. */
  playerId: string;
  /** Score (a safe integer). */
  score: number;
  /** Tiebreak (a safe integer). */
  tiebreak: number;
}

/** Format version written and accepted. */
export const CRNK_VERSION = 1;
const HEADER = 12;
const ENTRY_HEADER = 20;

/**
 * `serializeInto` in parts, from a whole CRNK serialization `bytes`, exactly as the native index
 * writes its parts: from where `cursor` says ([0] bytes written so far, [1] the byte offset in out,
 * [2] the next rank, [3] the CRC-32 so far; all 0 to start), the header, whole entries and the CRC
 * while they fit go into out from cursor[1] on, and cursor moves past them. Cursor and out were checked.
 */
export function writeRankRecordsPart(bytes: Uint8Array, out: Uint8Array, cursor: Uint32Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  const from = cursor[0]!;
  let to = from;
  let room = out.length - cursor[1]!;
  let rank = cursor[2]!;
  if (from === 0) {
    if (room < HEADER) return;
    to = HEADER;
    room -= HEADER;
  }
  while (rank < count) {
    const entry = ENTRY_HEADER + view.getUint32(to + 16, true);
    if (room < entry) break;
    to += entry;
    room -= entry;
    rank++;
  }
  const crc = crc32(bytes.subarray(from, to), cursor[3]!);
  if (rank === count && to + 4 === bytes.length && room >= 4) to += 4;
  out.set(bytes.subarray(from, to), cursor[1]!);
  cursor[1]! += to - from;
  cursor[0] = to;
  cursor[2] = rank;
  cursor[3] = crc;
}

/**
 * Encodes entries given in rank order: "CRNK", u32 version, u32 count, then per entry f64 score,
 * f64 tiebreak, u32 id byte length and the id's UTF-8 bytes, then a CRC-32 of everything before it.
 * All numbers are little-endian.
 */
export function encodeRankRecords(records: readonly RankRecord[]): Uint8Array {
  let total = HEADER + 4;
  for (const r of records) total += ENTRY_HEADER + Buffer.byteLength(r.playerId, "utf8");
  const out = new Uint8Array(total);
  const buf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  buf.write("CRNK", 0, "latin1");
  buf.writeUInt32LE(CRNK_VERSION, 4);
  buf.writeUInt32LE(records.length, 8);
  let pos = HEADER;
  for (const r of records) {
    // `+ 0` turns -0 into 0: equal contents always give equal bytes.
    buf.writeDoubleLE(r.score + 0, pos);
    buf.writeDoubleLE(r.tiebreak + 0, pos + 8);
    const len = buf.write(r.playerId, pos + ENTRY_HEADER, "utf8");
    buf.writeUInt32LE(len, pos + 16);
    pos += ENTRY_HEADER + len;
  }
  buf.writeUInt32LE(crc32(out.subarray(0, pos)), pos);
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes and checks CRNK bytes; throws CorruptRankIndexError with what is wrong. */
export function decodeRankRecords(bytes: Uint8Array): RankRecord[] {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`bytes must be a Uint8Array, got ${bytes === null ? "null" : typeof bytes}`);
  }
  const size = bytes.byteLength;
  if (size < 16) throw new CorruptRankIndexError(`truncated (${size} bytes, a header needs 16)`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, size);
  if (buf.toString("latin1", 0, 4) !== "CRNK") throw new CorruptRankIndexError("bad magic (expected CRNK)");
  const version = buf.readUInt32LE(4);
  if (version !== CRNK_VERSION) {
    throw new CorruptRankIndexError(`unsupported version ${version} (expected ${CRNK_VERSION})`);
  }
  if (crc32(bytes.subarray(0, size - 4)) !== buf.readUInt32LE(size - 4)) {
    throw new CorruptRankIndexError("checksum mismatch");
  }
  const count = buf.readUInt32LE(8);
  const end = size - 4;
  if (count > Math.floor((end - HEADER) / ENTRY_HEADER)) {
    throw new CorruptRankIndexError(`truncated (${count} entries declared)`);
  }
  const records: RankRecord[] = new Array(count);
  const seen = new Set<string>();
  let pos = HEADER;
  let prev: { score: number; tiebreak: number; start: number; end: number } | undefined;
  for (let i = 0; i < count; i++) {
    const at = `entry ${i}`;
    if (end - pos < ENTRY_HEADER) throw new CorruptRankIndexError(`truncated at ${at}`);
    const score = buf.readDoubleLE(pos);
    const tiebreak = buf.readDoubleLE(pos + 8);
    const len = buf.readUInt32LE(pos + 16);
    pos += ENTRY_HEADER;
    if (!Number.isSafeInteger(score))
      throw new CorruptRankIndexError(`${at} has a score that is not a safe integer`);
    if (!Number.isSafeInteger(tiebreak)) {
      throw new CorruptRankIndexError(`${at} has a tiebreak that is not a safe integer`);
    }
    if (len > end - pos) throw new CorruptRankIndexError(`truncated at ${at}`);
    let playerId: string;
    try {
      if (len > MAX_ID_BYTES) throw new Error("too long");
      playerId = utf8.decode(bytes.subarray(pos, pos + len));
    } catch {
      throw new CorruptRankIndexError(`${at} has an invalid player id`);
    }
    if (prev !== undefined) {
      const c =
        score !== prev.score
          ? score > prev.score
            ? 1
            : -1
          : tiebreak !== prev.tiebreak
            ? tiebreak < prev.tiebreak
              ? 1
              : -1
            : -Buffer.compare(buf.subarray(pos, pos + len), buf.subarray(prev.start, prev.end));
      if (c === 0) throw new CorruptRankIndexError(`${at} duplicates a player id`);
      if (c > 0) throw new CorruptRankIndexError(`${at} is out of order`);
    }
    if (seen.has(playerId)) throw new CorruptRankIndexError(`${at} duplicates a player id`);
    seen.add(playerId);
    records[i] = { playerId, score: score + 0, tiebreak: tiebreak + 0 };
    prev = { score, tiebreak, start: pos, end: pos + len };
    pos += len;
  }
  if (pos !== end) throw new CorruptRankIndexError(`${end - pos} trailing bytes before the checksum`);
  return records;
}
