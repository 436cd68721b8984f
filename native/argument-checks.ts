// Argument checks shared by both rank indexes, so each rejects bad input with the same error and message.
import { Buffer } from "node:buffer";

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
 * `records` for an index written in JS: checks the arguments as the native index does, then writes,
 * for i < count, the id of slots[i] (`idOf`, one of `interned` slots) as a u32 byte length and its
 * UTF-8 bytes, then states[i] (u8), scores[i] and tiebreaks[i] (f64), all little-endian.
 */
export function recordsWith(
  idOf: (slot: number) => string,
  interned: number,
  slots: unknown,
  states: unknown,
  scores: unknown,
  tiebreaks: unknown,
  count: unknown,
): Uint8Array {
  if (!(slots instanceof Uint32Array))
    throw new TypeError(`slots must be a Uint32Array, got ${describe(slots)}`);
  if (!(states instanceof Uint8Array))
    throw new TypeError(`states must be a Uint8Array, got ${describe(states)}`);
  if (!(scores instanceof Float64Array))
    throw new TypeError(`scores must be a Float64Array, got ${describe(scores)}`);
  if (!(tiebreaks instanceof Float64Array))
    throw new TypeError(`tiebreaks must be a Float64Array, got ${describe(tiebreaks)}`);
  checkNonNegativeInteger(count, "count");
  if (Math.min(slots.length, states.length, scores.length, tiebreaks.length) < count) {
    throw new RangeError(`slots, states, scores and tiebreaks must each hold count (${count}) entries`);
  }
  const ids: string[] = new Array(count);
  let size = 0;
  for (let i = 0; i < count; i++) {
    const slot = slots[i]!;
    if (slot >= interned) throw new RangeError(`slots[${i}] is ${slot}, which no id has`);
    ids[i] = idOf(slot);
    size += 4 + Buffer.byteLength(ids[i]!, "utf8") + 17;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const len = out.write(ids[i]!, at + 4, "utf8");
    out.writeUInt32LE(len, at);
    at += 4 + len;
    out[at] = states[i]!;
    out.writeDoubleLE(scores[i]!, at + 1);
    out.writeDoubleLE(tiebreaks[i]!, at + 9);
    at += 17;
  }
  return new Uint8Array(out.buffer, out.byteOffset, size);
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

/** Throws unless `slot` names one of the `interned` slots. */
export function checkSlot(slot: unknown, interned: number, name = "slot"): asserts slot is number {
  if (typeof slot !== "number") throw new TypeError(`${name} must be a number, got ${describe(slot)}`);
  if (!Number.isInteger(slot) || slot < 0 || slot >= interned) {
    throw new RangeError(`${name} ${slot} is not an interned slot`);
  }
}
