// A set of the fold's (competitor, treasure) keys, each with a small number beside it (in a team hunt,
// the member whose find or hint it is), held in typed arrays rather than a Set and a Map: a
// 200,000-player hunt's finds filled a Set of 10 MB after 30 s at 20,000 events/s, a third of the
// engine's live V8 heap, which the collector marked at every full collection and which set how far
// the heap grew between them (a few times what is live); a team hunt's Map of finders was as large
// again, and reading it key by key took 60 ms of each checkpoint. Here they take 20-40 bytes a key,
// outside the collected heap.

/** Empty arrays shared by every set that has held nothing yet (a small hunt may never find anything). */
const NO_KEYS = new Float64Array(0);
const NO_SLOTS = new Uint32Array(0);

/**
 * Non-negative integer keys below 2^53, each with a value (a 32-bit unsigned integer, 0 unless given),
 * iterated in insertion order exactly as a Set iterates (a key deleted and added again goes to the
 * end), since the hunt's canonical bytes list them in that order.
 * Its arrays never shrink: only a team member's disqualification deletes keys, so they stay within
 * what the hunt held at its peak.
 * `order` holds the keys as added, -1 where one was deleted, and `values` their values at the same
 * positions; the open-addressing table holds, for each key, its position in `order` plus one (0: an
 * empty slot), found by linear probing from the key's hash.
 */
export class KeySet {
  private order: Float64Array = NO_KEYS;
  private values: Uint32Array = NO_SLOTS;
  /** Entries of `order` in use, deleted ones included. */
  private used = 0;
  private table: Uint32Array = NO_SLOTS;
  private count = 0;

  /** Keys in the set. */
  get size(): number {
    return this.count;
  }

  has(key: number): boolean {
    return this.slotOf(key) >= 0;
  }

  /** The value of a key in the set; undefined when it is not in the set. */
  get(key: number): number | undefined {
    const slot = this.slotOf(key);
    return slot < 0 ? undefined : this.values[this.table[slot]! - 1];
  }

  /**
   * Adds a key (a safe integer, at least 0; -0 is kept as 0, as a Set keeps it) with its value (a
   * 32-bit unsigned integer); a key already in the set keeps its place and its value. Returns this,
   * as Set.add does.
   */
  add(key: number, value = 0): this {
    if (!Number.isSafeInteger(key) || key < 0) {
      throw new RangeError(`a key must be a safe integer of at least 0, got ${key}`);
    }
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`a value must be a 32-bit unsigned integer, got ${value}`);
    }
    key += 0;
    if (this.slotOf(key) >= 0) return this;
    if ((this.count + 1) * 2 > this.table.length) this.rebuild(Math.max(16, this.table.length * 2));
    if (this.used === this.order.length) {
      // Deleted entries are dropped first when they are half of what is in use; else the log grows.
      if (this.used - this.count >= this.used >> 1) this.rebuild(this.table.length);
      if (this.used === this.order.length) {
        const order = new Float64Array(Math.max(16, this.order.length * 2));
        order.set(this.order.subarray(0, this.used));
        this.order = order;
        const values = new Uint32Array(order.length);
        values.set(this.values.subarray(0, this.used));
        this.values = values;
      }
    }
    this.order[this.used] = key;
    this.values[this.used] = value;
    this.table[freeSlot(this.table, key)] = ++this.used;
    this.count++;
    return this;
  }

  /** Removes a key; false when it was not in the set. */
  delete(key: number): boolean {
    let hole = this.slotOf(key);
    if (hole < 0) return false;
    this.order[this.table[hole]! - 1] = -1;
    this.count--;
    // Backward-shift deletion: each later key of the probe run moves into the hole when the hole lies
    // on its path from its home slot, so every key stays reachable without tombstones in the table.
    const mask = this.table.length - 1;
    for (let j = (hole + 1) & mask; this.table[j] !== 0; j = (j + 1) & mask) {
      const home = hash(this.order[this.table[j]! - 1]!) & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        this.table[hole] = this.table[j]!;
        hole = j;
      }
    }
    this.table[hole] = 0;
    return true;
  }

  /** Calls `f` with each key and its value in insertion order (a plain loop: a checkpoint goes through every key). */
  forEach(f: (key: number, value: number) => void): void {
    const order = this.order;
    const values = this.values;
    for (let k = 0; k < this.used; k++) {
      const key = order[k]!;
      if (key >= 0) f(key, values[k]!);
    }
  }

  /** The table slot holding `key`, or -1. */
  private slotOf(key: number): number {
    const table = this.table;
    if (table.length === 0) return -1;
    const mask = table.length - 1;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const at = table[i]!;
      if (at === 0) return -1;
      if (this.order[at - 1] === key) return i;
    }
  }

  /** Drops deleted entries from `order` and rehashes every key into a table of `capacity` slots. */
  private rebuild(capacity: number): void {
    const order = new Float64Array(Math.max(16, this.count * 2));
    const values = new Uint32Array(order.length);
    let n = 0;
    for (let k = 0; k < this.used; k++) {
      const key = this.order[k]!;
      if (key >= 0) {
        values[n] = this.values[k]!;
        order[n++] = key;
      }
    }
    const table = new Uint32Array(capacity);
    for (let k = 0; k < n; k++) table[freeSlot(table, order[k]!)] = k + 1;
    this.order = order;
    this.values = values;
    this.used = n;
    this.table = table;
  }
}

/** The first empty slot of `table` on `key`'s probe path (the table is never full). */
function freeSlot(table: Uint32Array, key: number): number {
  const mask = table.length - 1;
  let i = hash(key) & mask;
  while (table[i] !== 0) i = (i + 1) & mask;
  return i;
}

/** A 32-bit mix of an integer below 2^53 (its low and high words). */
function hash(key: number): number {
  const lo = key >>> 0;
  const hi = (key - lo) / 4294967296;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The keys of a hunt that has had none: one shared, empty set that refuses to take any. */
class NoKeys extends KeySet {
  override add(): this {
    throw new Error("this key set is the shared empty one: make a KeySet of your own first");
  }
}

/**
 * The shared empty key set: a hunt holds it until its first find (or hint), then a `new KeySet()`
 * (an object of its own for each of a small hunt's two sets cost 128 bytes of heap before either held
 * anything).
 */
export const NO_KEY_SET: KeySet = new NoKeys();
