// Argument checks shared by both rank indexes, so each rejects bad input with the same error and message.
import { Buffer } from "node:buffer";
import type { RankEntry } from "./types.ts";

/** Longest player id accepted, in UTF-8 bytes (the native index stores ids in 256 KiB chunks). */
export const MAX_ID_BYTES = 65535;

/** A short description of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (value === null) return "null";
  if (typeof value === "string") return "a string";
  if (typeof value === "undefined") return "undefined";
  return `${/^[aeiou]/.test(typeof value) ? "an" : "a"} ${typeof value}`;
}

/** True when a string has no lone surrogate, so it survives UTF-8 encoding unchanged. */
export function isWellFormed(s: string): boolean {
  // String.prototype.isWellFormed is in Node 20 but not in the ES2023 lib this project compiles against.
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Whether `id` is a string that can be a player id (what `checkPlayerId` lets through). */
export function isPlayerId(id: unknown): id is string {
  if (typeof id !== "string" || !isWellFormed(id)) return false;
  return id.length * 3 <= MAX_ID_BYTES || Buffer.byteLength(id, "utf8") <= MAX_ID_BYTES;
}

/** Throws unless `id` is a string that can be a player id. */
export function checkPlayerId(id: unknown, name = "playerId"): asserts id is string {
  if (typeof id !== "string") throw new TypeError(`${name} must be a string, got ${describe(id)}`);
  if (!isWellFormed(id)) {
    throw new RangeError(`${name} must be well-formed UTF-16 (it contains a lone surrogate)`);
  }
  // Three UTF-8 bytes per UTF-16 unit at most, so short strings need no byte count.
  if (id.length * 3 > MAX_ID_BYTES && Buffer.byteLength(id, "utf8") > MAX_ID_BYTES) {
    throw new RangeError(`${name} must be at most ${MAX_ID_BYTES} UTF-8 bytes`);
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/**
 * `internUtf8` for an index written in JS: checks the arguments as the native index does, decodes id
 * i from bytes[spans[2i], spans[2i] + spans[2i+1]) with the native index's error when that is not a
 * player id's UTF-8 bytes, and interns it with `intern`.
 */
export function internUtf8With(
  intern: (playerId: string) => number,
  bytes: unknown,
  spans: unknown,
): Uint32Array {
  if (!(bytes instanceof Uint8Array))
    throw new TypeError(`bytes must be a Uint8Array, got ${describe(bytes)}`);
  if (!(spans instanceof Uint32Array))
    throw new TypeError(`spans must be a Uint32Array, got ${describe(spans)}`);
  if (spans.length % 2 !== 0)
    throw new RangeError(`spans must hold (offset, length) pairs, got ${spans.length}`);
  const slots = new Uint32Array(spans.length >> 1);
  for (let i = 0; i < slots.length; i++) {
    const at = spans[2 * i]!;
    const len = spans[2 * i + 1]!;
    let id: string | undefined;
    if (at + len <= bytes.length && len <= MAX_ID_BYTES) {
      try {
        id = strictUtf8.decode(bytes.subarray(at, at + len));
      } catch {
        id = undefined;
      }
    }
    if (id === undefined || !isWellFormed(id)) {
      throw new RangeError(`id ${i} is not a player id's UTF-8 bytes within bytes`);
    }
    slots[i] = intern(id);
  }
  return slots;
}

/**
 * `writeRecords` for an index written in JS: checks the arguments as the native index does, then
 * writes from player cursor[0] on the id of slots[i] (`idOf`, one of `interned` slots) as a u32 byte
 * length and its UTF-8 bytes, then states[i] (u8), scores[i] and tiebreaks[i] (f64), all
 * little-endian, into out from byte cursor[1] on, whole records while they fit, and moves cursor.
 */
export function writeRecordsWith(
  idOf: (slot: number) => string,
  interned: number,
  out: unknown,
  cursor: unknown,
  slots: unknown,
  states: unknown,
  scores: unknown,
  tiebreaks: unknown,
  count: unknown,
): void {
  if (!(out instanceof Uint8Array)) throw new TypeError(`out must be a Uint8Array, got ${describe(out)}`);
  if (!(cursor instanceof Uint32Array))
    throw new TypeError(`cursor must be a Uint32Array, got ${describe(cursor)}`);
  if (!(slots instanceof Uint32Array))
    throw new TypeError(`slots must be a Uint32Array, got ${describe(slots)}`);
  if (!(states instanceof Uint8Array))
    throw new TypeError(`states must be a Uint8Array, got ${describe(states)}`);
  if (!(scores instanceof Float64Array))
    throw new TypeError(`scores must be a Float64Array, got ${describe(scores)}`);
  if (!(tiebreaks instanceof Float64Array))
    throw new TypeError(`tiebreaks must be a Float64Array, got ${describe(tiebreaks)}`);
  checkNonNegativeInteger(count, "count");
  if (count > 0xffffffff || Math.min(slots.length, states.length, scores.length, tiebreaks.length) < count) {
    throw new RangeError(`slots, states, scores and tiebreaks must each hold count (${count}) entries`);
  }
  if (out.length > 0xffffffff) {
    throw new RangeError("out must be shorter than 4 GiB, since cursor holds a 32-bit offset");
  }
  if (cursor.length < 2 || cursor[0]! > count || cursor[1]! > out.length) {
    throw new RangeError("cursor must hold a player (at most count) and a byte offset within out");
  }
  // The slots of the records that can fit (one takes 21 bytes at least), checked before any is
  // written; no record past them is written, nor its slot read.
  const last = Math.min(count, cursor[0]! + Math.floor((out.length - cursor[1]!) / 21));
  for (let i = cursor[0]!; i < last; i++) {
    if (slots[i]! >= interned) throw new RangeError(`slots[${i}] is ${slots[i]}, which no id has`);
  }
  const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let i = cursor[0]!;
  let at = cursor[1]!;
  for (; i < last; i++) {
    const id = idOf(slots[i]!);
    const size = Buffer.byteLength(id, "utf8");
    if (out.length - at < 4 + size + 17) break;
    bytes.writeUInt32LE(size, at);
    bytes.write(id, at + 4, "utf8");
    at += 4 + size;
    out[at] = states[i]!;
    bytes.writeDoubleLE(scores[i]!, at + 1);
    bytes.writeDoubleLE(tiebreaks[i]!, at + 9);
    at += 17;
  }
  cursor[0] = i;
  cursor[1] = at;
}

/** The checks of `serializeInto(out, cursor)` on a board whose bytes come to `size`, with `ranked` players. */
export function checkSerializeCursor(out: unknown, cursor: unknown, size: number, ranked: number): void {
  if (!(out instanceof Uint8Array)) throw new TypeError(`out must be a Uint8Array, got ${describe(out)}`);
  if (!(cursor instanceof Uint32Array))
    throw new TypeError(`cursor must be a Uint32Array, got ${describe(cursor)}`);
  if (out.length > 0xffffffff) {
    throw new RangeError("out must be shorter than 4 GiB, since cursor holds a 32-bit offset");
  }
  if (cursor.length < 4 || cursor[0]! > size || cursor[1]! > out.length || cursor[2]! > ranked) {
    throw new RangeError(
      "cursor must be 4 zeros to start, then as the last call left it, with a byte offset within out",
    );
  }
}

/** Throws unless `value` is a safe integer (scores and tiebreaks). */
export function checkSafeInteger(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a safe integer, got ${value}`);
}

/** Throws unless `value` is a non-negative integer (counts, offsets, `before`/`after`). */
export function checkNonNegativeInteger(value: unknown, name: string): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

/**
 * `writeTopJson` for an index that reads its top as entries (`topOf(n)`): the JSON of them with each id
 * under `key`, encoded into `out` from byte `at`; -1 when it does not fit. The arguments are checked
 * in the native index's order, before the top is read.
 */
export function writeTopJsonWith(
  topOf: (n: number) => RankEntry[],
  out: unknown,
  at: unknown,
  n: unknown,
  key: unknown,
): number {
  if (!(out instanceof Uint8Array)) throw new TypeError(`out must be a Uint8Array, got ${describe(out)}`);
  checkNonNegativeInteger(at, "at");
  checkNonNegativeInteger(n, "n");
  if (at > out.length) throw new RangeError(`at (${at}) must be within out (${out.length} bytes)`);
  if (typeof key !== "string") throw new TypeError(`key must be a string, got ${describe(key)}`);
  // A key that starts with a digit could be an array index, which JSON.stringify would write first.
  if (!/^[A-Za-z_]\w{0,31}$/.test(key)) {
    throw new RangeError("key must be 1 to 32 letters, digits or underscores, starting with a letter or _");
  }
  const entries = topOf(n).map((e) => ({ rank: e.rank, [key]: e.playerId, score: e.score }));
  const json = JSON.stringify(entries);
  const { read, written } = utf8.encodeInto(json, out.subarray(at));
  return read < json.length ? -1 : at + written;
}

/** Throws unless `slot` names one of the `interned` slots. */
export function checkSlot(slot: unknown, interned: number, name = "slot"): asserts slot is number {
  if (typeof slot !== "number") throw new TypeError(`${name} must be a number, got ${describe(slot)}`);
  if (!Number.isInteger(slot) || slot < 0 || slot >= interned) {
    throw new RangeError(`${name} ${slot} is not an interned slot`);
  }
}
