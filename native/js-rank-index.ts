// The pure-TypeScript rank index: a counted B+tree of player records. It is the reference model
// for the native index in tests and the fallback where the addon is not built.
import {
  checkNonNegativeInteger,
  checkPlayerId,
  checkSafeInteger,
  checkSerializeCursor,
  checkSlot,
  describe,
  internUtf8With,
  writeRecordsWith,
  writeTopJsonWith,
} from "./argument-checks.ts";
import {
  decodeRankRecords,
  encodeRankRecords,
  type RankRecord,
  writeRankRecordsPart,
} from "./rank-format.ts";
import type { RankBatch, RankChange, RankEntry, RankIndex, RankIndexStats, RecordsArgs } from "./types.ts";
import { OP_REMOVE, OP_UPSERT } from "./types.ts";

const LEAF_CAP = 64;
const LEAF_MIN = 16;
const INNER_CAP = 64;
const INNER_MIN = 16;
// Rough V8 sizes used by `stats().bytes` (an estimate: the JS heap does not say per object).
const PLAYER_BYTES = 48;
const MAP_ENTRY_BYTES = 24;
const NODE_BYTES = 64;

/** One interned player. `ranked` is false until its first upsert and after a remove. */
class Player {
  score = 0;
  tiebreak = 0;
  ranked = false;
  constructor(
    readonly id: string,
    readonly slot: number,
  ) {}
}

/** An immutable copy of a key, used as an inner-node separator. */
class Key {
  constructor(
    readonly score: number,
    readonly tiebreak: number,
    readonly id: string,
  ) {}
}

class Leaf {
  next: Leaf | null = null;
  constructor(public items: Player[]) {}
}

class Inner {
  /** seps[i] (i >= 1) is a lower bound of child i's keys and above child i-1's; seps[0] is unused. */
  constructor(
    public children: TreeNode[],
    public counts: number[],
    public seps: Key[],
  ) {}
}

type TreeNode = Leaf | Inner;

/** Compares two strings by Unicode code point (the order of their UTF-8 bytes), not UTF-16 unit. */
function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (D800-DFFF) encode code points above FFFF: move them above E000-FFFF.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** <0 when (score, tiebreak, id) ranks before `k`. */
function compareKey(score: number, tiebreak: number, id: string, k: Key | Player): number {
  if (score !== k.score) return score > k.score ? -1 : 1;
  if (tiebreak !== k.tiebreak) return tiebreak < k.tiebreak ? -1 : 1;
  return compareCodePoints(id, k.id);
}

function sum(a: number[]): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/** The pure-TS RankIndex: same contract, same errors and byte-identical `serialize()` as the native one. */
export class JsRankIndex implements RankIndex {
  /** Every interned player, by slot. */
  #players: Player[] = [];
  /** Every interned player, by id. */
  #byId = new Map<string, Player>();
  #root: TreeNode = new Leaf([]);
  #size = 0;
  #nodes = 1;
  #allocations = 1;
  #idChars = 0;
  /** The rank after the last #move (kept in a field so the hot path allocates no tuple). */
  #lastRank = 0;
  readonly #path: Inner[] = [];
  readonly #idx: number[] = [];

  /** Builds an index from `serialize()` bytes. Ids are interned in rank order, so slots may differ. */
  static deserialize(bytes: Uint8Array): JsRankIndex {
    const index = new JsRankIndex();
    index.#load(decodeRankRecords(bytes));
    return index;
  }

  get size(): number {
    return this.#size;
  }

  intern(playerId: string): number {
    checkPlayerId(playerId);
    return this.#intern(playerId).slot;
  }

  internUtf8(bytes: Uint8Array, spans: Uint32Array): Uint32Array {
    return internUtf8With((id) => this.intern(id), bytes, spans);
  }

  slotOf(playerId: string): number {
    checkPlayerId(playerId);
    return this.#byId.get(playerId)?.slot ?? -1;
  }

  playerIdOf(slot: number): string {
    checkSlot(slot, this.#players.length);
    return this.#players[slot]!.id;
  }

  upsert(playerId: string, score: number, tiebreak: number): RankChange {
    checkPlayerId(playerId);
    checkSafeInteger(score, "score");
    checkSafeInteger(tiebreak, "tiebreak");
    const p = this.#intern(playerId);
    const previousRank = this.#move(p, score + 0, tiebreak + 0);
    return { rank: this.#lastRank, previousRank };
  }

  remove(playerId: string): number {
    checkPlayerId(playerId);
    const p = this.#byId.get(playerId);
    return p === undefined ? 0 : this.#remove(p);
  }

  rank(playerId: string): number {
    checkPlayerId(playerId);
    const p = this.#byId.get(playerId);
    return p?.ranked ? this.#rankOf(p) : 0;
  }

  score(playerId: string): number | undefined {
    checkPlayerId(playerId);
    const p = this.#byId.get(playerId);
    return p?.ranked ? p.score : undefined;
  }

  top(n: number, offset = 0): RankEntry[] {
    checkNonNegativeInteger(n, "n");
    checkNonNegativeInteger(offset, "offset");
    return this.#range(offset, n);
  }

  around(playerId: string, before: number, after: number): RankEntry[] {
    checkPlayerId(playerId);
    checkNonNegativeInteger(before, "before");
    checkNonNegativeInteger(after, "after");
    const p = this.#byId.get(playerId);
    if (!p?.ranked) return [];
    const r = this.#rankOf(p);
    const first = Math.max(1, r - before);
    const last = Math.min(this.#size, r + after);
    return this.#range(first - 1, last - first + 1);
  }

  clear(): void {
    this.#players = [];
    this.#byId = new Map();
    this.#root = new Leaf([]);
    this.#size = 0;
    this.#nodes = 1;
    this.#allocations++;
    this.#idChars = 0;
    this.#changes++;
    // The scratch of the last walk would keep the old tree alive.
    this.#path.length = 0;
    this.#idx.length = 0;
  }

  serialize(): Uint8Array {
    const records: RankRecord[] = [];
    this.#visit(0, this.#size, (p) => {
      records.push({ playerId: p.id, score: p.score, tiebreak: p.tiebreak });
    });
    return encodeRankRecords(records);
  }

  serializeInto(out: Uint8Array, cursor: Uint32Array): number {
    // The whole serialization, kept until the last part is written or the index changes, so that
    // asking for the length and writing the parts costs one serialization.
    if (this.#parts?.changes !== this.#changes)
      this.#parts = { bytes: this.serialize(), changes: this.#changes };
    const bytes = this.#parts.bytes;
    checkSerializeCursor(out, cursor, bytes.length, this.#size);
    writeRankRecordsPart(bytes, out, cursor);
    if (cursor[0] === bytes.length) this.#parts = undefined;
    return bytes.length;
  }
  #parts: { bytes: Uint8Array; changes: number } | undefined;
  /** Counts the changes of the board's order, for `#parts`. */
  #changes = 0;

  writeRecords(...args: RecordsArgs): void {
    const players = this.#players;
    writeRecordsWith((slot) => players[slot]!.id, players.length, ...args);
  }

  writeTopJson(out: Uint8Array, at: number, n: number, key: string): number {
    return writeTopJsonWith((count) => this.#range(0, count), out, at, n, key);
  }

  /** An estimate: V8 does not report per-object sizes. `allocations` counts objects created. */
  stats(): RankIndexStats {
    const players = this.#players.length;
    const bytes =
      players * (PLAYER_BYTES + MAP_ENTRY_BYTES + 16 + 8) +
      this.#idChars * 2 +
      this.#nodes * (NODE_BYTES + LEAF_CAP * 8);
    return { bytes, allocations: this.#allocations };
  }

  applyBatch(...batch: RankBatch): void {
    const [ops, slots, scores, tiebreaks, count, out] = batch;
    const arrays: Array<[unknown, string, new (...a: never[]) => unknown, number]> = [
      [ops, "ops", Uint8Array, 1],
      [slots, "slots", Uint32Array, 1],
      [scores, "scores", Float64Array, 1],
      [tiebreaks, "tiebreaks", Float64Array, 1],
    ];
    for (const [a, name, type] of arrays) {
      if (!(a instanceof type)) throw new TypeError(`${name} must be a ${type.name}, got ${describe(a)}`);
    }
    checkNonNegativeInteger(count, "count");
    if (!(out instanceof Int32Array)) throw new TypeError(`out must be a Int32Array, got ${describe(out)}`);
    for (const [a, name] of arrays) {
      const length = (a as Uint8Array).length;
      if (length < count) throw new RangeError(`${name} has ${length} elements but count needs ${count}`);
    }
    if (out.length < 2 * count) {
      throw new RangeError(`out has ${out.length} elements but count needs ${2 * count}`);
    }
    const interned = this.#players.length;
    for (let i = 0; i < count; i++) {
      const op = ops[i]!;
      if (op !== OP_UPSERT && op !== OP_REMOVE) {
        throw new RangeError(`ops[${i}] must be OP_UPSERT (0) or OP_REMOVE (1), got ${op}`);
      }
      if (slots[i]! >= interned) throw new RangeError(`slots[${i}] ${slots[i]} is not an interned slot`);
      if (op === OP_UPSERT) {
        if (!Number.isSafeInteger(scores[i])) {
          throw new RangeError(`scores[${i}] must be a safe integer, got ${scores[i]}`);
        }
        if (!Number.isSafeInteger(tiebreaks[i])) {
          throw new RangeError(`tiebreaks[${i}] must be a safe integer, got ${tiebreaks[i]}`);
        }
      }
    }
    for (let i = 0; i < count; i++) {
      const p = this.#players[slots[i]!]!;
      if (ops[i] === OP_UPSERT) {
        out[2 * i + 1] = this.#move(p, scores[i]! + 0, tiebreaks[i]! + 0);
        out[2 * i] = this.#lastRank;
      } else {
        out[2 * i + 1] = this.#remove(p);
        out[2 * i] = 0;
      }
    }
  }

  #intern(id: string): Player {
    let p = this.#byId.get(id);
    if (p === undefined) {
      p = new Player(id, this.#players.length);
      this.#players.push(p);
      this.#byId.set(id, p);
      this.#allocations++;
      this.#idChars += id.length;
    }
    return p;
  }

  /** Moves or inserts a player; returns the previous rank and leaves the new one in #lastRank. */
  #move(p: Player, score: number, tiebreak: number): number {
    let previous = 0;
    if (p.ranked) {
      if (p.score === score && p.tiebreak === tiebreak) {
        this.#lastRank = this.#rankOf(p);
        return this.#lastRank;
      }
      previous = this.#erase(p);
    }
    this.#changes++;
    p.score = score;
    p.tiebreak = tiebreak;
    p.ranked = true;
    this.#lastRank = this.#insert(p);
    return previous;
  }

  #remove(p: Player): number {
    if (!p.ranked) return 0;
    this.#changes++;
    const previous = this.#erase(p);
    p.ranked = false;
    return previous;
  }

  #childFor(node: Inner, p: Player): number {
    // Number of separators seps[1..] that are <= the key.
    let lo = 1;
    let hi = node.children.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKey(p.score, p.tiebreak, p.id, node.seps[mid]!) >= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** First position in a leaf whose key is >= p's. */
  #lowerBound(items: Player[], p: Player): number {
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKey(p.score, p.tiebreak, p.id, items[mid]!) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Walks from the root to p's leaf, filling #path/#idx; returns the leaf and the rank before it. */
  #descend(p: Player): { leaf: Leaf; before: number; depth: number } {
    let node = this.#root;
    let before = 0;
    let depth = 0;
    while (node instanceof Inner) {
      const i = this.#childFor(node, p);
      for (let j = 0; j < i; j++) before += node.counts[j]!;
      this.#path[depth] = node;
      this.#idx[depth] = i;
      depth++;
      node = node.children[i]!;
    }
    return { leaf: node, before, depth };
  }

  #rankOf(p: Player): number {
    const { leaf, before } = this.#descend(p);
    return before + this.#lowerBound(leaf.items, p) + 1;
  }

  #insert(p: Player): number {
    const { leaf, before, depth } = this.#descend(p);
    const pos = this.#lowerBound(leaf.items, p);
    leaf.items.splice(pos, 0, p);
    this.#size++;
    for (let d = 0; d < depth; d++) this.#path[d]!.counts[this.#idx[d]!]!++;
    if (leaf.items.length <= LEAF_CAP) return before + pos + 1;

    const right = new Leaf(leaf.items.splice(LEAF_CAP >> 1));
    right.next = leaf.next;
    leaf.next = right;
    let newChild: TreeNode | null = right;
    let sep = this.#keyOf(right.items[0]!);
    let leftCount = leaf.items.length;
    let rightCount = right.items.length;
    this.#nodes++;
    this.#allocations += 2;
    for (let d = depth - 1; d >= 0 && newChild !== null; d--) {
      const parent = this.#path[d]!;
      const i = this.#idx[d]!;
      parent.counts[i] = leftCount;
      parent.children.splice(i + 1, 0, newChild);
      parent.counts.splice(i + 1, 0, rightCount);
      parent.seps.splice(i + 1, 0, sep);
      if (parent.children.length <= INNER_CAP) {
        newChild = null;
        break;
      }
      const mid = INNER_CAP >> 1;
      const split: Inner = new Inner(
        parent.children.splice(mid),
        parent.counts.splice(mid),
        parent.seps.splice(mid),
      );
      sep = split.seps[0]!;
      leftCount = sum(parent.counts);
      rightCount = sum(split.counts);
      newChild = split;
      this.#nodes++;
      this.#allocations++;
    }
    if (newChild !== null) {
      this.#root = new Inner([this.#root, newChild], [leftCount, rightCount], [sep, sep]);
      this.#nodes++;
      this.#allocations++;
    }
    return before + pos + 1;
  }

  #keyOf(p: Player): Key {
    return new Key(p.score, p.tiebreak, p.id);
  }

  #erase(p: Player): number {
    const { leaf, before, depth } = this.#descend(p);
    const pos = this.#lowerBound(leaf.items, p);
    leaf.items.splice(pos, 1);
    this.#size--;
    for (let d = 0; d < depth; d++) this.#path[d]!.counts[this.#idx[d]!]!--;
    let leafLevel = true;
    for (let d = depth - 1; d >= 0; d--) {
      const parent = this.#path[d]!;
      const i = this.#idx[d]!;
      const child = parent.children[i]!;
      const n = child instanceof Leaf ? child.items.length : child.children.length;
      if (n >= (leafLevel ? LEAF_MIN : INNER_MIN)) break;
      if (!this.#fixUnderflow(parent, i)) break;
      leafLevel = false;
    }
    while (this.#root instanceof Inner && this.#root.children.length === 1) {
      this.#root = this.#root.children[0]!;
      this.#nodes--;
    }
    return before + pos + 1;
  }

  /** Child i of parent is below its minimum: borrow from a sibling (false) or merge with it (true). */
  #fixUnderflow(parent: Inner, i: number): boolean {
    const li = i > 0 ? i - 1 : i;
    const ri = li + 1;
    const l = parent.children[li]!;
    const r = parent.children[ri]!;
    if (l instanceof Leaf && r instanceof Leaf) {
      if (l.items.length + r.items.length <= LEAF_CAP) {
        l.items.push(...r.items);
        l.next = r.next;
      } else if (ri === i) {
        r.items.unshift(l.items.pop()!);
        parent.counts[li]!--;
        parent.counts[ri]!++;
        parent.seps[ri] = this.#keyOf(r.items[0]!);
        this.#allocations++;
        return false;
      } else {
        l.items.push(r.items.shift()!);
        parent.counts[li]!++;
        parent.counts[ri]!--;
        parent.seps[ri] = this.#keyOf(r.items[0]!);
        this.#allocations++;
        return false;
      }
    } else if (l instanceof Inner && r instanceof Inner) {
      if (l.children.length + r.children.length <= INNER_CAP) {
        r.seps[0] = parent.seps[ri]!;
        l.children.push(...r.children);
        l.counts.push(...r.counts);
        l.seps.push(...r.seps);
      } else if (ri === i) {
        const moved = l.counts.pop()!;
        r.children.unshift(l.children.pop()!);
        r.counts.unshift(moved);
        r.seps[0] = parent.seps[ri]!;
        r.seps.unshift(l.seps[l.seps.length - 1]!);
        parent.seps[ri] = l.seps.pop()!;
        parent.counts[li]! -= moved;
        parent.counts[ri]! += moved;
        return false;
      } else {
        const moved = r.counts.shift()!;
        l.children.push(r.children.shift()!);
        l.counts.push(moved);
        l.seps.push(parent.seps[ri]!);
        r.seps.shift();
        parent.seps[ri] = r.seps[0]!;
        parent.counts[li]! += moved;
        parent.counts[ri]! -= moved;
        return false;
      }
    }
    parent.counts[li]! += parent.counts[ri]!;
    parent.children.splice(ri, 1);
    parent.counts.splice(ri, 1);
    parent.seps.splice(ri, 1);
    this.#nodes--;
    return true;
  }

  /** Calls f for up to n players from 0-based position `from`, in rank order. */
  #visit(from: number, n: number, f: (p: Player, position: number) => void): void {
    if (from >= this.#size || n <= 0) return;
    let node = this.#root;
    let index = from;
    while (node instanceof Inner) {
      let i = 0;
      while (i < node.children.length - 1 && index >= node.counts[i]!) {
        index -= node.counts[i]!;
        i++;
      }
      node = node.children[i]!;
    }
    let leaf: Leaf | null = node;
    let position = from;
    const end = Math.min(this.#size, from + n);
    while (leaf !== null && position < end) {
      const items = leaf.items;
      for (; index < items.length && position < end; index++, position++) f(items[index]!, position);
      leaf = leaf.next;
      index = 0;
    }
  }

  #range(from: number, n: number): RankEntry[] {
    const out: RankEntry[] = [];
    this.#visit(from, n, (p, position) => {
      out.push({ rank: position + 1, playerId: p.id, score: p.score });
    });
    return out;
  }

  /** Replaces the contents with records in rank order, leaves about 3/4 full. */
  #load(records: RankRecord[]): void {
    this.#changes++;
    const players = records.map((r) => {
      const p = this.#intern(r.playerId);
      p.score = r.score;
      p.tiebreak = r.tiebreak;
      p.ranked = true;
      return p;
    });
    this.#size = players.length;
    if (players.length === 0) return;
    this.#nodes = 0;
    const fill = (LEAF_CAP * 3) >> 2;
    const count = Math.ceil(players.length / fill);
    let level: TreeNode[] = [];
    let counts: number[] = [];
    let firsts: Player[] = [];
    let at = 0;
    let prev: Leaf | null = null;
    for (let i = 0; i < count; i++) {
      const n = Math.floor(players.length / count) + (i < players.length % count ? 1 : 0);
      const leaf = new Leaf(players.slice(at, at + n));
      if (prev !== null) prev.next = leaf;
      prev = leaf;
      level.push(leaf);
      this.#nodes++;
      this.#allocations++;
      counts.push(n);
      firsts.push(players[at]!);
      at += n;
    }
    const innerFill = (INNER_CAP * 3) >> 2;
    while (level.length > 1) {
      const parents = Math.ceil(level.length / innerFill);
      const next: TreeNode[] = [];
      const nextCounts: number[] = [];
      const nextFirsts: Player[] = [];
      let from = 0;
      for (let i = 0; i < parents; i++) {
        const n = Math.floor(level.length / parents) + (i < level.length % parents ? 1 : 0);
        const cs = counts.slice(from, from + n);
        next.push(
          new Inner(
            level.slice(from, from + n),
            cs,
            firsts.slice(from, from + n).map((p) => this.#keyOf(p)),
          ),
        );
        this.#nodes++;
        this.#allocations += n + 1;
        nextCounts.push(sum(cs));
        nextFirsts.push(firsts[from]!);
        from += n;
      }
      level = next;
      counts = nextCounts;
      firsts = nextFirsts;
    }
    this.#root = level[0]!;
  }
}
