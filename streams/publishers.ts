// Publishes the engine's outputs without awaiting each one, with idempotent Nats-Msg-Ids, confirming
// every stored output from JetStream's acks and sending again what is not confirmed.
import { Buffer } from "node:buffer";
import type { JetStreamManager } from "@nats-io/jetstream";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type PublishOptions,
  type Subscription,
} from "@nats-io/transport-node";
import {
  type Checkpoint,
  isValidHuntId,
  type RankChange,
  type Rejection,
  type TopN,
} from "../schemas/index.ts";
import { assertHuntId } from "./errors.ts";
import { CHECKPOINTS_STREAM, RANKS_STREAM, REJECTED_STREAM } from "./setup.ts";

/** The Nats-Msg-Id header name. */
const MSG_ID = "Nats-Msg-Id";

/** A header block's first line and key, and its end (the id's line break and the blank line). */
const HEADER_START = `NATS/1.0\r\n${MSG_ID}: `;
const HEADER_END = "\r\n\r\n";
const NO_HEADER = new Uint8Array(0);

/**
 * The one header an output carries, `Nats-Msg-Id`, as a `MsgHdrs` that nats.js encodes without the
 * general header map's work: setting a header on nats.js's own map searches its keys into new arrays,
 * canonicalises the key and replaces the value array, which at one output per rank change was the
 * largest part of what the engine allocated. nats.js's publish asks headers only for `encode()`;
 * the bytes are those its own map gives for the same id (a unit test holds them equal). It holds the
 * encoded block itself, so that an output's block is made once (`outputHeader`) and sent as it is.
 */
export class MsgIdHeader implements MsgHdrs {
  readonly hasError = false;
  readonly status = "";
  readonly code = 0;
  readonly description = "";
  private block: Uint8Array = NO_HEADER;

  /** The id, read back from the block (off the hot path: nats.js's publish does not ask). */
  private get id(): string {
    if (this.block.length === 0) return "";
    return Buffer.from(this.block.buffer, this.block.byteOffset, this.block.length).toString(
      "utf8",
      HEADER_START.length,
      this.block.length - HEADER_END.length,
    );
  }

  get(k: string): string {
    return k === MSG_ID ? this.id : "";
  }
  set(k: string, v: string): void {
    if (k !== MSG_ID) throw new TypeError(`an output carries only ${MSG_ID}, not ${k}`);
    if (/[\r\n]/.test(v)) throw new TypeError(`a ${MSG_ID} cannot contain \\r or \\n`);
    const id = v.trim();
    this.block = id === "" ? NO_HEADER : Buffer.from(`${HEADER_START}${id}${HEADER_END}`);
  }
  /** Takes the block `outputHeader` made for an output's id. */
  setBlock(block: Uint8Array): void {
    this.block = block;
  }
  append(k: string, v: string): void {
    this.set(k, v);
  }
  has(k: string): boolean {
    return k === MSG_ID && this.block.length > 0;
  }
  keys(): string[] {
    return this.block.length === 0 ? [] : [MSG_ID];
  }
  values(k: string): string[] {
    return this.has(k) ? [this.id] : [];
  }
  delete(k: string): void {
    if (k === MSG_ID) this.block = NO_HEADER;
  }
  last(k: string): string {
    return this.get(k);
  }
  *[Symbol.iterator](): Iterator<[string, string[]]> {
    if (this.block.length > 0) yield [MSG_ID, [this.id]];
  }
  /** The header block nats.js sends: `NATS/1.0`, the id's line, and the blank line that ends it. */
  encode(): Uint8Array {
    return this.block;
  }
}

/** The parts of a rank message that name its competitor and their count: a player's, or a team's. */
interface RankKeys {
  idKey: string;
  countKey: string;
  /** `,"<idKey>":"` and `,"<countKey>":`: written before the id and before the count. */
  beforeId: string;
  beforeCount: string;
}
const rankKeys = (idKey: string, countKey: string): RankKeys => ({
  idKey,
  countKey,
  beforeId: `,"${idKey}":"`,
  beforeCount: `,"${countKey}":`,
});
export const PLAYER_RANK_KEYS = rankKeys("playerId", "players");
export const TEAM_RANK_KEYS = rankKeys("teamId", "teams");
const SEQ_PART = '{"seq":';
/** The id's closing quote and the score's key. */
const SCORE_PART = '","score":';
const RANK_PART = ',"rank":';
const PREVIOUS_RANK_PART = ',"previousRank":';

/** Bytes of a safe integer's decimal form, its sign included. */
function intLength(n: number): number {
  let length = n < 0 ? 2 : 1;
  for (let v = Math.abs(n); v >= 10; v = Math.floor(v / 10)) length++;
  return length;
}

/** Writes a safe integer's decimal form, `length` (its `intLength`) bytes, at `at`; returns where it ends. */
function writeInt(out: Uint8Array, at: number, n: number, length: number): number {
  const end = at + length;
  let i = end;
  let v = Math.abs(n);
  do {
    out[--i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  if (n < 0) out[at] = 0x2d; // -
  return end;
}

/** Writes ASCII text at `at` (a loop: `Buffer.write` and `set` cost more for a few bytes); returns where it ends. */
function writeAscii(out: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

/** Whether JSON writes an id as it is between quotes: printable ASCII with no quote and no backslash. */
function isPlainId(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * A rank message, `{"seq":…,"playerId":…,"score":…,"rank":…,"previousRank":…,"players":…}` (a
 * team's with `TEAM_RANK_KEYS`), as the bytes `JSON.stringify` gives for it, written straight into one
 * pooled Buffer: the engine sends one per rank change, and building a string from the parts and then
 * encoding it made several intermediate strings each time. An id that JSON escapes, or a number that
 * is not a safe integer (the fold keeps every one so), goes through `JSON.stringify`.
 */
export function rankMessage(
  keys: RankKeys,
  seq: number,
  id: string,
  score: number,
  rank: number,
  previousRank: number,
  count: number,
): Uint8Array {
  const safe = Number.isSafeInteger;
  if (!(safe(seq) && safe(score) && safe(rank) && safe(previousRank) && safe(count) && isPlainId(id))) {
    const message = { seq, [keys.idKey]: id, score, rank, previousRank, [keys.countKey]: count };
    return Buffer.from(JSON.stringify(message));
  }
  const seqLength = intLength(seq);
  const scoreLength = intLength(score);
  const rankLength = intLength(rank);
  const previousRankLength = intLength(previousRank);
  const countLength = intLength(count);
  const out = Buffer.allocUnsafe(
    SEQ_PART.length +
      seqLength +
      keys.beforeId.length +
      id.length +
      SCORE_PART.length +
      scoreLength +
      RANK_PART.length +
      rankLength +
      PREVIOUS_RANK_PART.length +
      previousRankLength +
      keys.beforeCount.length +
      countLength +
      1,
  );
  let at = writeAscii(out, 0, SEQ_PART);
  at = writeInt(out, at, seq, seqLength);
  at = writeAscii(out, at, keys.beforeId);
  at = writeAscii(out, at, id);
  at = writeAscii(out, at, SCORE_PART);
  at = writeInt(out, at, score, scoreLength);
  at = writeAscii(out, at, RANK_PART);
  at = writeInt(out, at, rank, rankLength);
  at = writeAscii(out, at, PREVIOUS_RANK_PART);
  at = writeInt(out, at, previousRank, previousRankLength);
  at = writeAscii(out, at, keys.beforeCount);
  at = writeInt(out, at, count, countLength);
  out[at] = 0x7d; // }
  return out;
}

/**
 * The header block of output `n` of input `seq` of a hunt, Nats-Msg-Id `<huntId>:<seq>:<n>`: the bytes
 * `MsgIdHeader` encodes for that id, written straight into one pooled Buffer (an id string, and a
 * string of the block to encode, were made for every output). A hunt id that is not a valid one (a
 * rejection of the subject itself) goes through `MsgIdHeader.set`.
 */
export function outputHeader(huntId: string, seq: number, n: number): Uint8Array {
  if (!isValidHuntId(huntId) || !Number.isSafeInteger(seq) || !Number.isSafeInteger(n)) {
    const header = new MsgIdHeader();
    header.set(MSG_ID, `${huntId}:${seq}:${n}`);
    return header.encode();
  }
  const seqLength = intLength(seq);
  const nLength = intLength(n);
  const out = Buffer.allocUnsafe(
    HEADER_START.length + huntId.length + seqLength + nLength + 2 + HEADER_END.length,
  );
  let at = writeAscii(out, 0, HEADER_START);
  at = writeAscii(out, at, huntId);
  out[at++] = 0x3a; // :
  at = writeInt(out, at, seq, seqLength);
  out[at++] = 0x3a;
  at = writeInt(out, at, n, nLength);
  writeAscii(out, at, HEADER_END);
  return out;
}

/** An output sent but not yet confirmed stored by JetStream. */
interface InFlight {
  subject: string;
  /** Its Nats-Msg-Id header block (`outputHeader`), made once for every send. */
  header: Uint8Array;
  body: Uint8Array;
  huntId: string;
  /** The input sequence that caused it. */
  inputSeq: number;
  /** Monotonic ms of the last send (-Infinity while held back, never sent), and of its publish. */
  sentAt: number;
  firstSentAt: number;
}

/**
 * The outputs in flight, by id. Ids are handed out in order and mostly confirmed in order, so they
 * live in a ring of slots from the oldest unconfirmed id on, in send order, and an emptied slot points
 * at nothing. A Map did this job, and at 20,000 events/s each young collection promoted what the one
 * before had kept, bringing a full collection every second or two (`bench e2e`: "major GCs"); most
 * likely the dead tables the Map left behind each time it rehashed, once in the old generation, kept
 * the outputs they pointed at alive. With the ring those promotions are gone.
 */
export class InFlightRing<T> {
  private static readonly MIN_ROOM = 1024;
  /** Emptied, a ring larger than this goes back to MIN_ROOM; a smaller one keeps its room. */
  private static readonly KEPT_ROOM = 16 * InFlightRing.MIN_ROOM;
  private slots: (T | undefined)[] = new Array(InFlightRing.MIN_ROOM).fill(undefined);
  private mask = InFlightRing.MIN_ROOM - 1;
  /** The oldest id that may still be in flight (its slot is live when `head < tail`), and the id the next `add` takes. */
  private head: number;
  private tail: number;
  private count = 0;

  /** `firstId`: the id of the first `add` (0 for a publisher). */
  constructor(firstId = 0) {
    this.head = this.tail = firstId;
  }

  /** Entries in flight. */
  get size(): number {
    return this.count;
  }

  /** Adds an entry under the next id, and returns that id. */
  add(value: T): number {
    if (this.tail - this.head > this.mask) this.resize(this.slots.length * 2);
    const id = this.tail++;
    this.slots[id & this.mask] = value;
    this.count++;
    return id;
  }

  /** The entry under `id`; undefined when it is not in flight (or `id` is not an id at all). */
  get(id: number): T | undefined {
    return Number.isInteger(id) && id >= this.head && id < this.tail ? this.slots[id & this.mask] : undefined;
  }

  /** Removes the entry under `id`, if in flight. */
  delete(id: number): void {
    if (this.get(id) === undefined) return;
    this.slots[id & this.mask] = undefined;
    this.count--;
    while (this.head < this.tail && this.slots[this.head & this.mask] === undefined) this.head++;
    // Emptied after a long outage's backlog: the room goes back, as a Map's would (not after every
    // burst of a few thousand, which would only make and drop arrays).
    if (this.count === 0 && this.slots.length > InFlightRing.KEPT_ROOM) this.resize(InFlightRing.MIN_ROOM);
  }

  /** The oldest entry in flight and its id; undefined when none. */
  first(): [number, T] | undefined {
    return this.head < this.tail ? [this.head, this.slots[this.head & this.mask]!] : undefined;
  }

  /** Every entry in flight, oldest first. */
  *values(): Generator<T> {
    for (let id = this.head; id < this.tail; id++) {
      const value = this.slots[id & this.mask];
      if (value !== undefined) yield value;
    }
  }

  /** Every entry in flight with its id, oldest first. */
  *entries(): Generator<[number, T]> {
    for (let id = this.head; id < this.tail; id++) {
      const value = this.slots[id & this.mask];
      if (value !== undefined) yield [id, value];
    }
  }

  private resize(room: number): void {
    const slots: (T | undefined)[] = new Array(room).fill(undefined);
    const mask = room - 1;
    for (let id = this.head; id < this.tail; id++) slots[id & mask] = this.slots[id & this.mask];
    // The old slots may be in the old generation: emptied, they keep nothing alive until it is collected.
    this.slots.fill(undefined);
    this.slots = slots;
    this.mask = mask;
  }
}

/** Options of the output publisher. */
export interface OutputPublisherOptions {
  /** Re-send an output unconfirmed for this long (ms). Default 1000. */
  retryAfterMs?: number;
  /** Told each time JetStream answers an output with an error instead of storing it. */
  onFailure?(reason: string): void;
  /** The connection's inbox prefix, when it is restricted to one (default `_INBOX`). */
  inboxPrefix?: string | undefined;
  /** Where the first failure of each kind is logged (later ones are only counted). */
  logger?: { warn(obj: object, msg?: string): void };
}

/**
 * Publishes rank changes, rejections and top-N snapshots. Publishes are not awaited: call them in one
 * synchronous loop per batch so they leave in one socket write. Yet every rank change and rejection is
 * confirmed: it carries a reply subject, JetStream's ack to it confirms it stored, and what stays
 * unconfirmed (a stream leader lost in a fail-over, a server restarted) is sent again with the same
 * Nats-Msg-Id until it is. One header object and one options object are reused, since nats.js
 * encodes both synchronously.
 *
 * Order is kept through a failure. Once an output is refused or goes unanswered, or the connection
 * drops, the publisher probes: it sends the oldest unconfirmed output alone, again and again, and
 * holds back every other one, new ones included, until JetStream answers that probe with an ack;
 * then it sends the rest in order and goes back to pipelining. Sending them all again at once would
 * let a stream that comes back between two of them store the later one first, and a restart, which
 * resumes after the last output stored, would then skip the earlier one. Only an ack to a probe ends
 * probing: a late ack to an earlier send says nothing about the stream now. Only the outputs already
 * in flight when a leader changes can still be split that way, which no pipelined publisher can
 * prevent. Probing holds back every hunt's outputs, on every stream: a hunt's order runs across its
 * streams (a restart resumes after the latest of its outputs on any of them).
 */
export class OutputPublisher {
  private readonly hdrs = new MsgIdHeader();
  private readonly opts: PublishOptions = { headers: this.hdrs };
  /** The inbox where JetStream confirms this publisher's outputs. */
  readonly inbox: string;
  private readonly inflight = new InFlightRing<InFlight>();
  private readonly acks: Subscription;
  private readonly timer: NodeJS.Timeout;
  private readonly retryAfterMs: number;
  /** Sends of outputs sent before: probes, and the outputs sent again once a probe is stored. */
  resent = 0;
  /** The reason of the last failed publish ("503 no responders", "maximum bytes exceeded", …). */
  lastFailure: string | undefined;
  private readonly failuresLogged = new Set<string>();
  /** After a failure: only the oldest unconfirmed output is sent until a probe of it is acked. */
  private probing = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: OutputPublisherOptions = {},
  ) {
    this.retryAfterMs = options.retryAfterMs ?? 1000;
    this.inbox = createInbox(options.inboxPrefix);
    this.acks = nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.onAck(msg) });
    this.timer = setInterval(() => this.resend(), Math.max(50, this.retryAfterMs / 2));
    this.timer.unref();
    void this.resendOnReconnect();
  }

  /**
   * Outputs sent just before a disconnect may never have been stored, and what is published while
   * disconnected would be flushed ahead of them on reconnecting: from the disconnect on, outputs are
   * held back, and the oldest is sent again the moment the connection is back.
   */
  private async resendOnReconnect(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnecting") this.probing = true;
      else if (s.type === "reconnect") this.resend(0);
    }
  }

  /** Publishes a rank change to `hunt.<id>.ranks` with Nats-Msg-Id `<id>:<seq>:<n>`. */
  rank(huntId: string, seq: number, n: number, msg: RankChange): void {
    this.publishWithId(`hunt.${huntId}.ranks`, huntId, seq, n, JSON.stringify(msg));
  }

  /** Publishes a rejection to `hunt.<id>.rejected` with Nats-Msg-Id `<id>:<seq>:<n>`. */
  rejected(huntId: string, seq: number, n: number, msg: Rejection): void {
    this.publishWithId(`hunt.${huntId}.rejected`, huntId, seq, n, JSON.stringify(msg));
  }

  /** Publishes a checkpoint to `hunt.<id>.checkpoints` with Nats-Msg-Id `<id>:<seq>:<n>`. */
  checkpoint(huntId: string, seq: number, n: number, msg: Checkpoint): void {
    this.publishWithId(`hunt.${huntId}.checkpoints`, huntId, seq, n, JSON.stringify(msg));
  }

  /**
   * Like rank(), from the message's fields, written as JSON bytes (`rankMessage`) with no
   * intermediate object nor string: the engine sends one per rank change, so this is its hot path.
   */
  rankChange(
    huntId: string,
    seq: number,
    playerId: string,
    score: number,
    rank: number,
    previousRank: number,
    players: number,
  ): void {
    const body = rankMessage(PLAYER_RANK_KEYS, seq, playerId, score, rank, previousRank, players);
    this.publishWithId(`hunt.${huntId}.ranks`, huntId, seq, 0, body);
  }

  /**
   * Publishes a team's rank change to `hunt.<id>.teams.ranks` with Nats-Msg-Id `<id>:<seq>:<n>`: n is
   * 1 after the same input's player message, 0 when the team message is the input's only output.
   */
  teamRankChange(
    huntId: string,
    seq: number,
    n: number,
    teamId: string,
    score: number,
    rank: number,
    previousRank: number,
    teams: number,
  ): void {
    const body = rankMessage(TEAM_RANK_KEYS, seq, teamId, score, rank, previousRank, teams);
    this.publishWithId(`hunt.${huntId}.teams.ranks`, huntId, seq, n, body);
  }

  /** Like rank(), with a body already serialised to JSON. */
  rankRaw(huntId: string, seq: number, n: number, body: Uint8Array | string): void {
    this.publishWithId(`hunt.${huntId}.ranks`, huntId, seq, n, body);
  }

  /** Like top(), with a body already serialised to JSON. */
  topRaw(huntId: string, body: Uint8Array | string): void {
    this.nc.publish(`hunt.${huntId}.top`, body);
  }

  /** Publishes the team board's coalesced top-N, already JSON, to `hunt.<id>.teams.top` (core NATS only). */
  teamsTopRaw(huntId: string, body: Uint8Array | string): void {
    this.nc.publish(`hunt.${huntId}.teams.top`, body);
  }

  /** Publishes the coalesced top-N to `hunt.<id>.top` (core NATS only, no id, not confirmed). */
  top(huntId: string, msg: TopN): void {
    this.nc.publish(`hunt.${huntId}.top`, JSON.stringify(msg));
  }

  /** Resolves once the server has received everything published so far (one round trip). */
  flush(): Promise<void> {
    return this.nc.flush();
  }

  /** Outputs sent and not yet confirmed stored. */
  get unconfirmed(): number {
    return this.inflight.size;
  }

  /** How long the oldest unconfirmed output has waited since it was first sent, ms (0 when none). */
  oldestUnconfirmedAgeMs(): number {
    // Id order is send order, and a resend does not move an entry.
    const first = this.inflight.first();
    return first ? performance.now() - first[1].firstSentAt : 0;
  }

  /** The smallest input sequence of the hunt with an unconfirmed output, or undefined when all are stored. */
  oldestUnconfirmed(huntId: string): number | undefined {
    let oldest: number | undefined;
    for (const o of this.inflight.values()) {
      if (o.huntId === huntId && (oldest === undefined || o.inputSeq < oldest)) oldest = o.inputSeq;
    }
    return oldest;
  }

  /** Waits until every output is confirmed, or the deadline passes; resolves to how many are left. */
  async settle(timeoutMs = 10_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.inflight.size > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.inflight.size;
  }

  /** Stops confirming (after `settle`, when shutting down). */
  close(): void {
    clearInterval(this.timer);
    this.acks.unsubscribe();
  }

  private publishWithId(
    subject: string,
    huntId: string,
    seq: number,
    n: number,
    body: Uint8Array | string,
  ): void {
    const o: InFlight = {
      subject,
      header: outputHeader(huntId, seq, n),
      // Encoded once, for every send. A small Buffer is a view of a shared slab, where a TextEncoder
      // makes an ArrayBuffer of its own each time: about a quarter of the time, and no buffer per
      // output for the collector to sweep.
      body: typeof body === "string" ? Buffer.from(body) : body,
      huntId,
      inputSeq: seq,
      sentAt: Number.NEGATIVE_INFINITY,
      firstSentAt: performance.now(),
    };
    const id = this.inflight.add(o);
    if (!this.probing) this.send(id, o, o.firstSentAt);
  }

  /** Sends an output: a probe's reply subject is `<inbox>.p<id>`, any other send's `<inbox>.<id>`. */
  private send(id: number, o: InFlight, now: number, probe = false): void {
    if (o.sentAt !== Number.NEGATIVE_INFINITY) this.resent++;
    o.sentAt = now;
    this.hdrs.setBlock(o.header);
    this.opts.reply = probe ? `${this.inbox}.p${id}` : `${this.inbox}.${id}`;
    this.nc.publish(o.subject, o.body, this.opts);
  }

  /** A PubAck (stored, or a duplicate of something stored) confirms; an error reply leaves it for resend. */
  private onAck(msg: Msg): void {
    const probe = msg.subject.charCodeAt(this.inbox.length + 1) === 0x70; /* p */
    const token = msg.subject.slice(this.inbox.length + (probe ? 2 : 1));
    // An empty token would read as id 0: not one of ours.
    const id = token === "" ? Number.NaN : Number(token);
    if (this.inflight.get(id) === undefined) return;
    if (msg.headers?.hasError) {
      // e.g. 503 no responders: no stream leader right now. Sent again later.
      this.failed(`${msg.headers.code} ${msg.headers.description}`.trim());
      return;
    }
    const d = msg.data;
    // {"stream":...} is an ack; {"error":...} is not. Look at the first key's first letter only.
    if (d.length > 2 && d[2] === 0x65 /* e */) {
      this.failed(errorDescription(d));
      return;
    }
    this.inflight.delete(id);
    if (probe && this.probing) this.sendAll();
  }

  /**
   * A probe is stored, so JetStream takes outputs again: the rest go, in order, pipelined. Those sent
   * before the probing began go again too, since nothing says they were stored.
   */
  private sendAll(): void {
    this.probing = false;
    const now = performance.now();
    for (const [id, o] of this.inflight.entries()) this.send(id, o, now);
  }

  /**
   * A publish JetStream refused: probing starts (or goes on), the refusal is counted by reason, and
   * each reason is logged the first time it is seen.
   */
  private failed(reason: string): void {
    this.probing = true;
    this.lastFailure = reason;
    // The reason becomes a metric label: keep the set of labels small whatever the server says.
    this.options.onFailure?.(
      this.failuresLogged.has(reason) || this.failuresLogged.size < 20 ? reason : "other",
    );
    if (this.failuresLogged.has(reason) || this.failuresLogged.size > 100) return;
    this.failuresLogged.add(reason);
    this.options.logger?.warn(
      { reason },
      "JetStream refused an output; it is sent again until stored (later refusals for this reason are only counted)",
    );
  }

  /**
   * Probes with the oldest unconfirmed output once it has waited `olderThanMs` since it was last
   * sent (at once when it was held back). Outputs are sent in id order and a resend moves none, so
   * no other can have waited longer.
   */
  private resend(olderThanMs = this.retryAfterMs): void {
    const first = this.inflight.first();
    if (first === undefined) return;
    const [id, o] = first;
    const now = performance.now();
    if (now - o.sentAt < olderThanMs) return;
    this.probing = true;
    this.send(id, o, now, true);
  }
}

/** The description of a JetStream error reply `{"error":{"code":…,"description":…}}`. */
function errorDescription(data: Uint8Array): string {
  try {
    const e = (
      JSON.parse(new TextDecoder().decode(data)) as { error?: { description?: string; code?: number } }
    ).error;
    return e?.description ?? `error ${e?.code ?? "without a description"}`;
  } catch {
    return "an unreadable error reply";
  }
}

/** Position of an output: the input sequence that caused it and its index among that input's outputs. */
export interface OutputPosition {
  /** Input stream sequence. */
  seq: number;
  /** Index among the outputs of that input. */
  n: number;
}

/** Parses `<huntId>:<seq>:<n>`; undefined when it is not one of ours. */
export function parseOutputId(id: string | undefined | null): OutputPosition | undefined {
  if (!id) return undefined;
  const m = /:(\d+):(\d+)$/.exec(id);
  return m ? { seq: Number(m[1]), n: Number(m[2]) } : undefined;
}

/**
 * The position of the last output stored for the hunt on `hunt.<id>.ranks`, `hunt.<id>.teams.ranks`,
 * `hunt.<id>.rejected` and `hunt.<id>.checkpoints` (the latest of them), read from the Nats-Msg-Id of the last message of
 * each; undefined when none.
 */
export async function lastOutput(
  conn: JetStreamManager | NatsConnection,
  huntId: string,
): Promise<OutputPosition | undefined> {
  assertHuntId(huntId);
  const jsm = "direct" in conn ? conn : await jetstreamManager(conn);
  const last = await Promise.all([
    jsm.direct.getMessage(RANKS_STREAM, { last_by_subj: `hunt.${huntId}.ranks` }),
    jsm.direct.getMessage(RANKS_STREAM, { last_by_subj: `hunt.${huntId}.teams.ranks` }),
    jsm.direct.getMessage(REJECTED_STREAM, { last_by_subj: `hunt.${huntId}.rejected` }),
    jsm.direct.getMessage(CHECKPOINTS_STREAM, { last_by_subj: `hunt.${huntId}.checkpoints` }),
  ]);
  let best: OutputPosition | undefined;
  for (const m of last) {
    const p = parseOutputId(m?.header?.get(MSG_ID));
    if (p && (!best || p.seq > best.seq || (p.seq === best.seq && p.n > best.n))) best = p;
  }
  return best;
}

/** The largest input sequence named by the last output stored for the hunt; 0 if none. */
export async function lastOutputSeq(
  conn: JetStreamManager | NatsConnection,
  huntId: string,
): Promise<number> {
  return (await lastOutput(conn, huntId))?.seq ?? 0;
}
