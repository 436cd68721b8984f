// The canonical serialisation of a hunt's whole state: the snapshot format and the input of
// `stateHash`. Every part is written in an order the log defines (join order, find order, rank
// order), so the same log prefix always gives the same bytes.
import { crc32 } from "node:zlib";
import {
  deserializeRankIndex,
  MAX_ID_BYTES,
  type RankIndex,
  type RankIndexKind,
} from "../../native/index.ts";
import type { Checkpoint } from "./checkpoint.ts";
import {
  HuntFold,
  huntRules,
  PLAYER_DISQUALIFIED,
  PLAYER_JOINED,
  PLAYER_LEFT,
  PLAYER_LEFT_DISQUALIFIED,
  playerColumns,
  Treasure,
} from "./fold.ts";
import { FrozenStandings, restoreFrozenBoard } from "./frozen-standings.ts";
import { type HashSink, hashWritten } from "./hash-stream.ts";
import { HUNT_STATUSES, type HuntStatus } from "./machine.ts";
import { SUBMISSION_CLOSED, SUBMISSION_PENDING } from "./submissions.ts";

const MAGIC = 0x484e5243; // "CRNH" little-endian
/**
 * A snapshot starts with an audit header (the input count, the last checkpoint, the time of the last
 * input and the running time: hunt state that
 * `stateHash` does not cover, so that a version-1 hunt keeps its hash), then the hashed bytes.
 */
const AUDIT_MAGIC = 0x414e5243; // "CRNA" little-endian
const AUDIT_VERSION = 1;
/**
 * Version 1 is the layout of a hunt that uses none of the second version's rules, so that such a hunt
 * keeps its bytes and its stateHash; version 2 adds a block with those rules and their state; version
 * 3 follows that block with tagged sections (below), written only when the hunt has what they hold,
 * so that a hunt written in version 2 before the sections existed keeps its bytes and its stateHash.
 */
const VERSION = 1;
const VERSION_2 = 2;
const VERSION_3 = 3;

/** Version 3's sections: each is a u8 tag and its content, in ascending tag order, then SECTION_END. */
const SECTION_END = 0;
/** The review treasures and every submission. */
const SECTION_REVIEWS = 1;
/** The frozen standings. */
const SECTION_FREEZE = 2;

/** A snapshot that cannot be used; the host logs it and rebuilds from the log. */
export class CorruptSnapshotError extends Error {
  readonly code = "corrupt_snapshot";
  constructor(message: string) {
    super(`corrupt snapshot: ${message}`);
    this.name = "CorruptSnapshotError";
  }
}

const encoder = new TextEncoder();

/** The longest player record: a u32 length, the longest id, a u8 state and two f64s. */
const MAX_PLAYER_RECORD = 4 + MAX_ID_BYTES + 17;
/** The longest entry of a board's bytes (two f64s, a u32 length and the longest id), more than its header or CRC. */
const MAX_BOARD_ENTRY = 20 + MAX_ID_BYTES;
const NO_BYTES = new Uint8Array(0);

/**
 * An append-only little-endian byte buffer, sized up front so that large hunts copy once. With a
 * `sink`, it streams instead: full chunks go to the sink and the buffer is reused (for hashing).
 */
class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;
  /** The next player and byte offset of `players`. */
  private readonly cursor = new Uint32Array(2);
  /** Where `board` has got to, as `RankIndex.serializeInto` keeps it. */
  private readonly boardCursor = new Uint32Array(4);
  /** Where the bytes the next `finishWithCrc` covers start (without a sink). */
  private crcFrom = 0;

  /** A buffer of `capacity` bytes, or (to hash) `sink`'s buffers. */
  constructor(capacity: number);
  constructor(sink: HashSink, first: Uint8Array);
  constructor(capacity: number | HashSink, first?: Uint8Array) {
    if (typeof capacity === "number") this.buf = new Uint8Array(capacity);
    else {
      this.sink = capacity;
      this.buf = first!;
    }
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  private readonly sink: HashSink | undefined;

  private use(buf: Uint8Array): void {
    if (buf === this.buf) return;
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    if (this.sink) {
      this.use(this.sink.next(this.buf.subarray(0, this.length), n));
      this.length = 0;
      return;
    }
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.use(next);
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  /**
   * Every player's record (id, state, score, tie-break), written by the board that holds the ids as
   * bytes straight into this writer's buffer, as many at a time as fit.
   */
  players(fold: HuntFold, n: number): void {
    const cursor = this.cursor;
    cursor[0] = 0;
    const { slots, states, scores, tiebreaks } = fold.recordColumns();
    this.inParts(cursor, n, MAX_PLAYER_RECORD, (buf) =>
      fold.index.writeRecords(buf, cursor, slots, states, scores, tiebreaks, n),
    );
  }
  /**
   * A board's `serialize()` bytes, as a u32 byte length and the bytes, written by the board in parts
   * straight into this writer's buffer, as many at a time as fit.
   */
  board(board: RankIndex): void {
    const cursor = this.boardCursor;
    cursor.fill(0);
    const total = board.serializeInto(NO_BYTES, cursor);
    this.u32(total);
    this.inParts(cursor, total, MAX_BOARD_ENTRY, (buf) => board.serializeInto(buf, cursor));
  }
  /**
   * Calls `part` until cursor[0] reaches `end`: each call writes whole items into the buffer from
   * byte cursor[1] on while they fit, and moves the cursor past them. When none fits, room is made
   * for the `longest` (only then, so that a small hunt's snapshot keeps the buffer sized for it).
   */
  private inParts(cursor: Uint32Array, end: number, longest: number, part: (buf: Uint8Array) => void): void {
    let madeRoom = false;
    while (cursor[0]! < end) {
      const before = cursor[0]!;
      cursor[1] = this.length;
      part(this.buf);
      this.length = cursor[1]!;
      if (cursor[0] !== before) {
        madeRoom = false;
        continue;
      }
      if (madeRoom) throw new Error("internal error: nothing was written into room for the longest item");
      this.reserve(longest);
      madeRoom = true;
    }
  }
  /** A u32 byte length and the UTF-8 bytes, written in place (titles and ids are short and mostly ASCII). */
  string(s: string): void {
    this.reserve(4 + 3 * s.length);
    const n = s.length;
    const start = this.length + 4;
    const buf = this.buf;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[start + i] = c;
    }
    const written = i === n ? n : i + encoder.encodeInto(s.slice(i), buf.subarray(start + i)).written;
    this.view.setUint32(this.length, written, true);
    this.length = start + written;
  }
  /**
   * The bytes so far, followed by the CRC-32 of those since the last `finishWithCrc` (with a sink:
   * the bytes the sink has not taken yet).
   */
  finishWithCrc(): Uint8Array {
    let crc: number;
    if (this.sink) {
      this.use(this.sink.next(this.buf.subarray(0, this.length), 0));
      this.length = 0;
      crc = this.sink.crc();
      this.use(this.sink.next(this.buf.subarray(0, 0), 4));
    } else {
      crc = crc32(this.buf.subarray(this.crcFrom, this.length));
    }
    this.u32(crc);
    this.crcFrom = this.length;
    return this.buf.subarray(0, this.length);
  }
}

/** Reads what ByteWriter wrote, with bounds checks that name what was truncated. */
class ByteReader {
  private readonly view: DataView;
  /** The same bytes as a Buffer, to decode strings from without a view of each. */
  private readonly text: Buffer;
  offset = 0;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number, what: string): void {
    if (this.offset + n > this.buf.length) throw new CorruptSnapshotError(`truncated in ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.offset++]!;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }
  /** A (competitor, treasure) key of a KeySet: an f64 holding a safe integer of at least 0. */
  key(what: string): number {
    const k = this.f64(what);
    if (!Number.isSafeInteger(k) || k < 0) throw new CorruptSnapshotError(`bad ${what} key ${k}`);
    return k;
  }
  bytes(what: string): Uint8Array {
    const n = this.u32(what);
    this.need(n, what);
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  string(what: string): string {
    const n = this.u32(what);
    this.need(n, what);
    const start = this.offset;
    this.offset += n;
    // The whole snapshot passed its CRC already, so Buffer's fast (lenient) UTF-8 decoding is safe.
    return this.text.toString("utf8", start, this.offset);
  }
  /**
   * Skips a string, noting where its bytes are in the buffer, (offset, length) in spans[2k] and
   * spans[2k + 1], for the board to intern (and check) without a string made of them.
   */
  span(what: string, spans: Uint32Array, k: number): void {
    const n = this.u32(what);
    this.need(n, what);
    spans[2 * k] = this.offset;
    spans[2 * k + 1] = n;
    this.offset += n;
  }
}

/**
 * A hunt's snapshot: the audit header, then its canonical bytes (header, definition, players in join
 * order, finds, hints, index), which are what `stateHash` hashes.
 */
export function encodeHunt(fold: HuntFold): Uint8Array {
  // Room for ids of about 16 ASCII characters; longer ones make the writer grow once or twice. The
  // board's bytes are measured without being written.
  const capacity =
    1024 +
    fold.playerCount * 41 +
    (fold.found.size + fold.hinted.size) * 8 +
    fold.index.serializeInto(NO_BYTES, new Uint32Array(4));
  const w = new ByteWriter(capacity + fold.treasures.length * 128);
  writeAudit(fold, w);
  return writeHunt(fold, w);
}

/** The audit header: the input count, the last input's time, the running time and the last checkpoint, with their own CRC-32. */
function writeAudit(fold: HuntFold, w: ByteWriter): void {
  w.u32(AUDIT_MAGIC);
  w.u32(AUDIT_VERSION);
  w.f64(fold.inputs);
  // The running time, kept here for every hunt: a hunt whose rules do not read it keeps it out of
  // its hashed bytes (and so keeps its version 1 bytes), yet `state` reports it.
  w.f64(fold.lastTime);
  w.f64(fold.runClosedMs);
  w.f64(fold.runSpanStart);
  const c = fold.checkpoint;
  w.u8(c ? 1 : 0);
  if (c) {
    w.f64(c.seq);
    w.f64(c.events);
    w.string(c.stateHash);
    w.string(c.prev);
    w.string(c.chain);
  }
  w.finishWithCrc();
}

/** Reads the audit header, if the snapshot has one; returns the offset of the hashed bytes. */
function readAudit(bytes: Uint8Array):
  | {
      offset: number;
      inputs: number;
      lastTime: number;
      runClosedMs: number;
      runSpanStart: number;
      checkpoint: Checkpoint | null;
    }
  | undefined {
  if (
    bytes.length < 4 ||
    new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) !== AUDIT_MAGIC
  ) {
    return undefined;
  }
  const r = new ByteReader(bytes);
  r.u32("audit magic");
  const version = r.u32("audit version");
  if (version !== AUDIT_VERSION) {
    throw new CorruptSnapshotError(`audit header version ${version}, this engine reads ${AUDIT_VERSION}`);
  }
  const inputs = r.f64("input count");
  const lastTime = r.f64("last input time");
  const runClosedMs = r.f64("closed running time");
  const runSpanStart = r.f64("running span start");
  let checkpoint: Checkpoint | null = null;
  if (r.u8("checkpoint flag") === 1) {
    checkpoint = {
      seq: r.f64("checkpoint seq"),
      events: r.f64("checkpoint events"),
      stateHash: r.string("checkpoint stateHash"),
      prev: r.string("checkpoint prev"),
      chain: r.string("checkpoint chain"),
    };
  }
  const end = r.offset;
  if (r.u32("audit checksum") !== crc32(bytes.subarray(0, end))) {
    throw new CorruptSnapshotError("audit header checksum mismatch");
  }
  return { offset: r.offset, inputs, lastTime, runClosedMs, runSpanStart, checkpoint };
}

function writeHunt(fold: HuntFold, w: ByteWriter): Uint8Array {
  const n = fold.playerCount;
  const v2 = fold.usesVersion2;
  const sections = v2 && hasSections(fold);
  w.u32(MAGIC);
  w.u32(sections ? VERSION_3 : v2 ? VERSION_2 : VERSION);
  w.f64(fold.seq);
  w.u8(HUNT_STATUSES.indexOf(fold.status));
  w.string(fold.title);
  w.f64(fold.createdAt);
  w.f64(fold.startedAt);
  w.f64(fold.endedAt);
  w.u32(fold.treasures.length);
  for (let t = 0; t < fold.treasures.length; t++) {
    const treasure = fold.treasures[t]!;
    w.string(treasure.id);
    w.f64(treasure.points);
    w.string(treasure.answerSha256 ?? "");
    w.u32(fold.findCounts[t]!);
  }
  const rules = fold.rules;
  w.u32(rules.firstFinderBonus.length);
  for (const b of rules.firstFinderBonus) w.f64(b);
  w.f64(rules.hintPenalty);
  w.f64(rules.maxPlayers ?? -1);
  w.u32(n);
  w.players(fold, n);
  // A KeySet iterates in insertion order, and insertion follows the log.
  w.u32(fold.found.size);
  fold.found.forEach((key) => {
    w.f64(key);
  });
  w.u32(fold.hinted.size);
  fold.hinted.forEach((key) => {
    w.f64(key);
  });
  if (v2) writeVersion2(fold, w);
  if (sections) writeSections(fold, w);
  w.board(fold.index);
  // Last, and only in a team hunt, so that a version 2 hunt without teams keeps the bytes it had
  // before teams were served.
  if (fold.rules.teams !== null) writeTeams(fold, w);
  return w.finishWithCrc();
}

/** Whether a hunt has rules that read its running time (and so must carry it in its bytes). */
function hasTimeRules(fold: HuntFold): boolean {
  if (fold.rules.durationMs !== null) return true;
  return fold.treasures.some((t) => t.opensAfterMs !== null || t.closesAfterMs !== null || t.decay !== null);
}

/** -1 stands for "none" in the optional numbers, which are never negative. */
function optional(v: number | null): number {
  return v ?? -1;
}

function fromOptional(v: number): number | null {
  return v < 0 ? null : v;
}

/**
 * The second version's block: the running time (only for hunts whose rules read it: a hunt without
 * them never depends on it, so its bytes do not either), the duration, and each treasure's rules.
 */
function writeVersion2(fold: HuntFold, w: ByteWriter): void {
  const timed = hasTimeRules(fold);
  w.u8(timed ? 1 : 0);
  if (timed) {
    w.f64(fold.runClosedMs);
    w.f64(fold.runSpanStart);
  }
  w.f64(optional(fold.rules.durationMs));
  for (const t of fold.treasures) {
    w.u32(t.requires.length);
    for (const r of t.requires) w.u32(r);
    w.f64(optional(t.opensAfterMs));
    w.f64(optional(t.closesAfterMs));
    w.u8(t.decay ? 1 : 0);
    if (t.decay) {
      w.f64(t.decay.everyMs);
      w.f64(t.decay.step);
      w.f64(t.decay.min);
    }
    w.u8(t.location ? 1 : 0);
    if (t.location) {
      w.f64(t.location.lat);
      w.f64(t.location.lon);
      w.f64(t.location.radiusM);
    }
  }
}

/**
 * A team hunt's teams, after the player board: the rule, each team in creation order, each player's
 * team, the member behind each find and hint (in the order of `found` and `hinted`), and the team board.
 */
function writeTeams(fold: HuntFold, w: ByteWriter): void {
  w.f64(optional(fold.rules.teams!.maxSize));
  w.u32(fold.teamIds.length);
  for (let tid = 0; tid < fold.teamIds.length; tid++) {
    w.string(fold.teamIds[tid]!);
    w.f64(fold.teamScore[tid]!);
    w.f64(fold.teamTiebreak[tid]!);
    w.u32(fold.teamMembers[tid]!);
  }
  for (let pid = 0; pid < fold.playerCount; pid++) w.u32(fold.playerTeam[pid]!);
  fold.found.forEach((_key, pid) => {
    w.u32(pid);
  });
  fold.hinted.forEach((_key, pid) => {
    w.u32(pid);
  });
  w.board(fold.teamIndex!);
}

/** What `writeTeams` wrote, read back; applied to the fold once its players exist. */
interface TeamsBlock {
  maxSize: number | null;
  teams: { id: string; score: number; tiebreak: number; members: number }[];
  playerTeam: number[];
  foundBy: number[];
  hintedBy: number[];
  index: Uint8Array;
}

function readTeams(r: ByteReader, nPlayers: number, nFound: number, nHinted: number): TeamsBlock {
  const maxSize = fromOptional(r.f64("team maxSize"));
  const nTeams = r.u32("team count");
  const teams = [];
  for (let i = 0; i < nTeams; i++) {
    teams.push({
      id: r.string("team id"),
      score: r.f64("team score"),
      tiebreak: r.f64("team tiebreak"),
      members: r.u32("team members"),
    });
  }
  const team = (what: string) => {
    const tid = r.u32(what);
    if (tid >= nTeams) throw new CorruptSnapshotError(`${what} names no team`);
    return tid;
  };
  const member = (what: string) => {
    const pid = r.u32(what);
    if (pid >= nPlayers) throw new CorruptSnapshotError(`${what} names no player`);
    return pid;
  };
  const playerTeam = Array.from({ length: nPlayers }, () => team("player team"));
  const foundBy = Array.from({ length: nFound }, () => member("finder"));
  const hintedBy = Array.from({ length: nHinted }, () => member("hint taker"));
  return { maxSize, teams, playerTeam, foundBy, hintedBy, index: r.bytes("team index") };
}

/** Reads the second version's block into the treasures; returns the running time and the duration. */
function readVersion2(r: ByteReader, treasures: Treasure[]) {
  const timed = r.u8("time flag") === 1;
  const runClosedMs = timed ? r.f64("running time") : 0;
  const runSpanStart = timed ? r.f64("running span") : 0;
  const durationMs = fromOptional(r.f64("duration"));
  for (const t of treasures) {
    const n = r.u32("requires count");
    if (n > 0) t.requires = [];
    for (let i = 0; i < n; i++) {
      const req = r.u32("requires");
      if (req >= treasures.length) throw new CorruptSnapshotError("requires names no treasure");
      t.requires.push(req);
    }
    // Only the rules a treasure has are set, so that one with none keeps sharing the empty ones.
    const opensAfterMs = fromOptional(r.f64("opensAfterMs"));
    if (opensAfterMs !== null) t.opensAfterMs = opensAfterMs;
    const closesAfterMs = fromOptional(r.f64("closesAfterMs"));
    if (closesAfterMs !== null) t.closesAfterMs = closesAfterMs;
    if (r.u8("decay flag") === 1) {
      t.decay = { everyMs: r.f64("decay everyMs"), step: r.f64("decay step"), min: r.f64("decay min") };
    }
    if (r.u8("location flag") === 1) {
      t.location = { lat: r.f64("lat"), lon: r.f64("lon"), radiusM: r.f64("radius") };
    }
  }
  return { runClosedMs, runSpanStart, durationMs };
}

function hasSections(fold: HuntFold): boolean {
  return fold.frozen !== null || fold.treasures.some((t) => t.review);
}

/**
 * Version 3's sections. Reviews: the review treasures (u32 count, u32 indexes), then every submission
 * in log order (id, u32 pid, u32 treasure, f64 key, u8 state, f64 points). Freeze: f64 seq, u32 players
 * known then, u32 board count and each frozen board's bytes (the player board first).
 */
function writeSections(fold: HuntFold, w: ByteWriter): void {
  const reviewed: number[] = [];
  fold.treasures.forEach((t, i) => {
    if (t.review) reviewed.push(i);
  });
  if (reviewed.length > 0) {
    w.u8(SECTION_REVIEWS);
    w.u32(reviewed.length);
    for (const i of reviewed) w.u32(i);
    const subs = fold.submissions;
    w.u32(subs.size);
    for (let sid = 0; sid < subs.size; sid++) {
      w.string(subs.ids[sid]!);
      w.u32(subs.pids[sid]!);
      w.u32(subs.treasures[sid]!);
      w.f64(subs.keys[sid]!);
      w.u8(subs.states[sid]!);
      w.f64(subs.points[sid]!);
    }
  }
  const frozen = fold.frozen;
  if (frozen !== null) {
    w.u8(SECTION_FREEZE);
    w.f64(frozen.seq);
    w.u32(frozen.knownPlayers);
    w.u32(frozen.boards.length);
    for (const board of frozen.boards) w.board(board);
  }
  w.u8(SECTION_END);
}

/** What version 3's sections hold, read before the hunt is rebuilt. */
interface Sections {
  submissions: { id: string; pid: number; treasure: number; key: number; state: number; points: number }[];
  freeze: { seq: number; knownPlayers: number; boards: Uint8Array[] } | undefined;
}

/** Reads version 3's sections, marking the review treasures. */
function readSections(r: ByteReader, treasures: Treasure[]): Sections {
  const out: Sections = { submissions: [], freeze: undefined };
  let last = SECTION_END;
  for (let tag = r.u8("section tag"); tag !== SECTION_END; tag = r.u8("section tag")) {
    if (tag <= last) throw new CorruptSnapshotError(`section ${tag} out of order`);
    last = tag;
    if (tag === SECTION_REVIEWS) {
      const n = r.u32("review count");
      for (let i = 0; i < n; i++) {
        const t = treasures[r.u32("review treasure")];
        if (t === undefined) throw new CorruptSnapshotError("a review names no treasure");
        t.review = true;
      }
      const nSubs = r.u32("submission count");
      for (let i = 0; i < nSubs; i++) {
        const sub = {
          id: r.string("submission id"),
          pid: r.u32("submission player"),
          treasure: r.u32("submission treasure"),
          key: r.f64("submission key"),
          state: r.u8("submission state"),
          points: r.f64("submission points"),
        };
        if (sub.treasure >= treasures.length)
          throw new CorruptSnapshotError("a submission names no treasure");
        if (sub.state < SUBMISSION_PENDING || sub.state > SUBMISSION_CLOSED) {
          throw new CorruptSnapshotError("bad submission state");
        }
        out.submissions.push(sub);
      }
    } else if (tag === SECTION_FREEZE) {
      const seq = r.f64("freeze seq");
      const knownPlayers = r.u32("freeze players");
      const n = r.u32("frozen board count");
      if (n === 0) throw new CorruptSnapshotError("a freeze without boards");
      const boards: Uint8Array[] = [];
      for (let i = 0; i < n; i++) boards.push(r.bytes("frozen board"));
      out.freeze = { seq, knownPlayers, boards };
    } else {
      throw new CorruptSnapshotError(`unknown section ${tag}`);
    }
  }
  return out;
}

/**
 * Rebuilds a hunt from `encodeHunt` bytes; throws CorruptSnapshotError on any damage. A snapshot
 * written before checkpoints (no audit header) loads with `inputsKnown` false.
 */
export function decodeHunt(
  huntId: string,
  snapshot: Uint8Array,
  options: { indexKind?: RankIndexKind; topN?: number } = {},
): HuntFold {
  const audit = readAudit(snapshot);
  const fold = decodeHashed(huntId, audit ? snapshot.subarray(audit.offset) : snapshot, options);
  if (audit) {
    fold.inputs = audit.inputs;
    fold.lastTime = audit.lastTime;
    fold.runClosedMs = audit.runClosedMs;
    fold.runSpanStart = audit.runSpanStart;
    fold.checkpoint = audit.checkpoint;
  } else {
    fold.inputsKnown = false;
  }
  return fold;
}

/** Rebuilds a hunt from its hashed bytes. */
function decodeHashed(
  huntId: string,
  bytes: Uint8Array,
  options: { indexKind?: RankIndexKind; topN?: number },
): HuntFold {
  if (bytes.length < 12) throw new CorruptSnapshotError(`only ${bytes.length} bytes`);
  const body = bytes.subarray(0, bytes.length - 4);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + body.length, 4).getUint32(0, true);
  if (crc32(body) !== stored) throw new CorruptSnapshotError("checksum mismatch");
  const r = new ByteReader(body);
  if (r.u32("magic") !== MAGIC) throw new CorruptSnapshotError("not a Cairn hunt snapshot (bad magic)");
  const version = r.u32("version");
  if (version !== VERSION && version !== VERSION_2 && version !== VERSION_3) {
    throw new CorruptSnapshotError(`version ${version}, this engine reads ${VERSION} to ${VERSION_3}`);
  }
  const seq = r.f64("seq");
  const status = HUNT_STATUSES[r.u8("status")] as HuntStatus | undefined;
  if (status === undefined) throw new CorruptSnapshotError("unknown status");
  const title = r.string("title");
  const createdAt = r.f64("createdAt");
  const startedAt = r.f64("startedAt");
  const endedAt = r.f64("endedAt");
  const nTreasures = r.u32("treasure count");
  const treasures = [];
  const findCounts: number[] = [];
  for (let t = 0; t < nTreasures; t++) {
    const id = r.string("treasure id");
    const points = r.f64("treasure points");
    const sha = r.string("treasure answer");
    findCounts.push(r.u32("find count"));
    treasures.push(new Treasure(id, points, sha === "" ? null : sha));
  }
  const nBonus = r.u32("bonus count");
  const firstFinderBonus = [];
  for (let i = 0; i < nBonus; i++) firstFinderBonus.push(r.f64("bonus"));
  const hintPenalty = r.f64("hint penalty");
  const maxPlayers = r.f64("max players");
  const nPlayers = r.u32("player count");
  // Read straight into the fold's columns: no object per player (a million of them cost a restart
  // half a second). The count is checked against the bytes before anything that size is allocated.
  if (nPlayers * 20 > body.length - r.offset) throw new CorruptSnapshotError("truncated in players");
  const columns = playerColumns(nPlayers);
  // Disqualified players exist only in the second version's bytes.
  const lastState = version === VERSION ? PLAYER_LEFT : PLAYER_LEFT_DISQUALIFIED;
  let joined = 0;
  let seated = 0;
  // Where each id's bytes are, so the board can intern them all in one call.
  const idSpans = new Uint32Array(2 * nPlayers);
  for (let pid = 0; pid < nPlayers; pid++) {
    r.span("player id", idSpans, pid);
    const state = r.u8("player state");
    if (state < PLAYER_JOINED || state > lastState) throw new CorruptSnapshotError("bad player state");
    columns.state[pid] = state;
    columns.numbers[pid] = r.f64("player score");
    columns.numbers[columns.state.length + pid] = r.f64("player tiebreak");
    if (state === PLAYER_JOINED) joined++;
    if (state === PLAYER_JOINED || state === PLAYER_DISQUALIFIED) seated++;
  }
  const found: number[] = [];
  const nFound = r.u32("found count");
  for (let i = 0; i < nFound; i++) found.push(r.key("found"));
  const hinted: number[] = [];
  const nHinted = r.u32("hinted count");
  for (let i = 0; i < nHinted; i++) hinted.push(r.key("hinted"));
  const v2 = version >= VERSION_2 ? readVersion2(r, treasures) : undefined;
  const sections = version === VERSION_3 ? readSections(r, treasures) : undefined;
  const index = readIndex(r.bytes("rank index"), options.indexKind, "rank index");
  // Only a hunt of the second layout or later has teams, and then only when bytes follow the player board.
  const teams = v2 && r.offset < body.length ? readTeams(r, nPlayers, nFound, nHinted) : null;
  const teamIndex = teams ? readIndex(teams.index, options.indexKind, "team index") : null;
  if (r.offset !== body.length) throw new CorruptSnapshotError("trailing bytes");

  const fold = new HuntFold(huntId, index, options.topN, status);
  fold.seq = seq;
  fold.title = title;
  fold.createdAt = createdAt;
  fold.startedAt = startedAt;
  fold.endedAt = endedAt;
  fold.setTreasures(treasures, findCounts);
  fold.rules = huntRules({
    firstFinderBonus,
    hintPenalty,
    maxPlayers: maxPlayers < 0 ? null : maxPlayers,
    durationMs: v2?.durationMs ?? null,
    teams: teams ? { maxSize: teams.maxSize } : null,
  });
  if (teamIndex) fold.makeTeamHunt(teamIndex);
  for (const t of teams?.teams ?? []) {
    const tid = fold.addTeam(t.id);
    fold.teamScore[tid] = t.score;
    fold.teamTiebreak[tid] = t.tiebreak;
    fold.teamMembers[tid] = t.members;
  }
  fold.runClosedMs = v2?.runClosedMs ?? 0;
  fold.runSpanStart = v2?.runSpanStart ?? 0;
  let slots: Uint32Array;
  try {
    slots = index.internUtf8(body, idSpans);
  } catch (err) {
    throw new CorruptSnapshotError(`player ids: ${(err as Error).message}`);
  }
  fold.adoptPlayers(columns, slots);
  fold.joined = joined;
  fold.seated = seated;
  // A team hunt's snapshot names each find's and hint's member; a solo hunt's needs none (0).
  for (let i = 0; i < found.length; i++) fold.ownFound().add(found[i]!, teams?.foundBy[i] ?? 0);
  for (let i = 0; i < hinted.length; i++) fold.ownHinted().add(hinted[i]!, teams?.hintedBy[i] ?? 0);
  for (const sub of sections?.submissions ?? []) {
    if (sub.pid >= nPlayers) throw new CorruptSnapshotError("a submission names no player");
    fold.ownSubmissions().add(sub.id, sub.pid, sub.treasure, sub.key, sub.points, sub.state);
  }
  const freeze = sections?.freeze;
  if (freeze !== undefined) {
    let boards: ReturnType<typeof restoreFrozenBoard>[];
    try {
      boards = freeze.boards.map((bytes) => restoreFrozenBoard(bytes, index));
    } catch (err) {
      throw new CorruptSnapshotError(`frozen board: ${(err as Error).message}`);
    }
    if (boards.length !== fold.boards.length)
      throw new CorruptSnapshotError("frozen boards do not match the hunt's");
    fold.frozen = new FrozenStandings(freeze.seq, boards, freeze.knownPlayers);
  }
  if (fold.joined !== index.size) {
    throw new CorruptSnapshotError(`${fold.joined} joined players but ${index.size} ranked`);
  }
  if (teams) {
    fold.playerTeam.set(teams.playerTeam);
    if (fold.teamIds.length !== teamIndex!.size) {
      throw new CorruptSnapshotError(`${fold.teamIds.length} teams but ${teamIndex!.size} ranked`);
    }
  }
  return fold;
}

function readIndex(bytes: Uint8Array, kind: RankIndexKind | undefined, what: string) {
  try {
    return deserializeRankIndex(bytes, kind);
  } catch (err) {
    throw new CorruptSnapshotError(`${what}: ${(err as Error).message}`);
  }
}

const hashCache = new WeakMap<HuntFold, { seq: number; hash: string }>();

/**
 * The hex sha256 of the hunt's canonical bytes: equal live, after a restart, and in replay. The
 * bytes stream through small buffers into the hash (a large hunt's on the hashing thread, while the
 * rest is written), and the result is kept until the next event.
 */
export function stateHash(fold: HuntFold): string {
  const cached = hashCache.get(fold);
  if (cached && cached.seq === fold.seq) return cached.hash;
  // About what a hunt of short ids writes, to choose where the bytes are hashed.
  const bytes = fold.playerCount * 64 + (fold.found.size + fold.hinted.size) * 8;
  const hex = hashWritten(bytes, (sink, first) => sink.digest(writeHunt(fold, new ByteWriter(sink, first))));
  hashCache.set(fold, { seq: fold.seq, hash: hex });
  return hex;
}
