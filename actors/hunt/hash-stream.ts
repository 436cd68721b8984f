// Where a hunt's canonical bytes go to be hashed: the sha256 that `stateHash` gives and the CRC-32
// the bytes end with. A large hunt's bytes are hashed on a thread of their own while the board and
// the fold go on writing them, so a checkpoint holds the event loop for about as long as writing the
// bytes takes, not as long as writing and hashing them. The call stays synchronous and the hash is
// the same either way: the thread only moves work, and any failure of it falls back to hashing here.
import { createHash, type Hash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { crc32 } from "node:zlib";

/** Takes the bytes a ByteWriter streams, in order. */
export interface HashSink {
  /** Takes `filled` (a view of the buffer last returned); returns a buffer with room for `need` bytes. */
  next(filled: Uint8Array, need: number): Uint8Array;
  /**
   * The CRC-32 of every byte taken since the last call (or since the start). The buffer last
   * returned may not be written after it: `next` gives the one to write on into.
   */
  crc(): number;
  /** Takes the last bytes and returns the lowercase hex sha256 of every byte taken; the sink is spent. */
  digest(last: Uint8Array): string;
}

/** Hashes on the calling thread: small hunts, and whenever the hashing thread cannot be used. */
class InlineSink implements HashSink {
  private readonly hash: Hash = createHash("sha256");
  private running = 0;
  private buf: Uint8Array;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  first(): Uint8Array {
    return this.buf;
  }
  next(filled: Uint8Array, need: number): Uint8Array {
    this.take(filled);
    if (need > this.buf.length) this.buf = new Uint8Array(need);
    return this.buf;
  }
  crc(): number {
    const c = this.running;
    this.running = 0;
    return c;
  }
  digest(last: Uint8Array): string {
    this.take(last);
    return this.hash.digest("hex");
  }
  private take(bytes: Uint8Array): void {
    this.running = crc32(bytes, this.running);
    this.hash.update(bytes);
  }
}

// The hashing thread's ring: SLOTS buffers of SLOT_BYTES in one SharedArrayBuffer, and a control
// block of Int32s: the count of slots handed over, the count the thread has taken, the CRC-32 at the
// last mark, each slot's length (or a command), then the 32 bytes of the last digest.
const SLOT_BYTES = 256 * 1024;
const SLOTS = 8; // a power of two: counts wrap, slot = count & (SLOTS - 1)
const SUBMITTED = 0;
const TAKEN = 1;
const CRC = 2;
const LENGTHS = 3;
const DIGEST_AT = (LENGTHS + SLOTS) * 4;
const CONTROL_BYTES = DIGEST_AT + 32;
/** Commands in place of a length: hand over the CRC-32 so far and restart it; digest and restart. */
const MARK = -1;
const DIGEST = -2;
/**
 * How long the event loop waits for the thread to take a slot before giving it up and hashing here.
 * A slot takes it well under a millisecond; the first one waits for the thread to start.
 */
const WAIT_MS = 5_000;

/** The thread's code: plain CommonJS, so that it loads without the TypeScript loader. */
const THREAD_SOURCE = `
const { workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { crc32 } = require("node:zlib");
const { control, data } = workerData;
const ctl = new Int32Array(control);
const digestOut = new Uint8Array(control, ${DIGEST_AT}, 32);
let hash = createHash("sha256");
let crc = 0;
for (;;) {
  const taken = Atomics.load(ctl, ${TAKEN});
  Atomics.wait(ctl, ${SUBMITTED}, taken);
  if (Atomics.load(ctl, ${SUBMITTED}) === taken) continue;
  const slot = taken & ${SLOTS - 1};
  const length = Atomics.load(ctl, ${LENGTHS} + slot);
  if (length >= 0) {
    const bytes = new Uint8Array(data, slot * ${SLOT_BYTES}, length);
    hash.update(bytes);
    crc = crc32(bytes, crc);
  } else if (length === ${MARK}) {
    Atomics.store(ctl, ${CRC}, crc | 0);
    crc = 0;
  } else if (length === ${DIGEST}) {
    digestOut.set(hash.digest());
    hash = createHash("sha256");
    crc = 0;
  }
  Atomics.store(ctl, ${TAKEN}, (taken + 1) | 0);
  Atomics.notify(ctl, ${TAKEN});
}
`;

/** The hash is to be redone on the calling thread: the thread stopped taking slots, or a record is longer than one. */
class HashHere extends Error {}

/** The process's hashing thread, started on first use; undefined once it failed. */
let thread: { worker: Worker; ctl: Int32Array; data: SharedArrayBuffer; digest: Uint8Array } | undefined;
let threadFailed = false;

function startThread(): typeof thread {
  if (threadFailed) return undefined;
  if (thread) return thread;
  try {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const data = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { control, data } });
    // It never ends on its own: it must not keep the process alive, and an error (it runs out of
    // memory, say) only means hashing here from then on.
    worker.unref();
    worker.on("error", () => stopThread());
    worker.on("exit", () => stopThread());
    thread = { worker, ctl: new Int32Array(control), data, digest: new Uint8Array(control, DIGEST_AT, 32) };
    return thread;
  } catch {
    threadFailed = true;
    return undefined;
  }
}

function stopThread(): void {
  threadFailed = true;
  if (!thread) return;
  const { worker } = thread;
  thread = undefined;
  void worker.terminate();
}

/** Whether the hashing thread is running (it starts with the first large hash). */
export function hashingThreadRunning(): boolean {
  return thread !== undefined;
}

/** Streams the bytes into the ring, for the hashing thread to take in order. */
class ThreadSink implements HashSink {
  private readonly t: NonNullable<typeof thread>;
  private slot: Uint8Array;
  constructor(t: NonNullable<typeof thread>) {
    this.t = t;
    this.slot = this.freeSlot();
  }
  first(): Uint8Array {
    return this.slot;
  }
  next(filled: Uint8Array, need: number): Uint8Array {
    if (filled.length > 0) this.submit(filled.length);
    if (need > SLOT_BYTES) {
      // Longer than any record of a hunt; should one come, it is hashed here rather than split.
      this.abandon();
      throw new HashHere();
    }
    return this.slot;
  }
  crc(): number {
    this.submit(MARK);
    this.drain();
    return Atomics.load(this.t.ctl, CRC) >>> 0;
  }
  digest(last: Uint8Array): string {
    if (last.length > 0) this.submit(last.length);
    this.submit(DIGEST);
    this.drain();
    return Buffer.from(this.t.digest).toString("hex");
  }
  /** After a failure part-way: the thread's hash is reset for the next call. */
  abandon(): void {
    this.submit(DIGEST);
    this.drain();
  }

  /** Hands the current slot over with `length` bytes (or a command), and waits for the next to be free. */
  private submit(length: number): void {
    const ctl = this.t.ctl;
    const submitted = Atomics.load(ctl, SUBMITTED);
    Atomics.store(ctl, LENGTHS + (submitted & (SLOTS - 1)), length);
    Atomics.store(ctl, SUBMITTED, (submitted + 1) | 0);
    Atomics.notify(ctl, SUBMITTED);
    this.slot = this.freeSlot();
  }

  /** The next slot to write, once the thread has taken what was in it. */
  private freeSlot(): Uint8Array {
    const ctl = this.t.ctl;
    const submitted = Atomics.load(ctl, SUBMITTED);
    this.waitUntil(() => ((submitted - Atomics.load(ctl, TAKEN)) | 0) < SLOTS);
    return new Uint8Array(this.t.data, (submitted & (SLOTS - 1)) * SLOT_BYTES, SLOT_BYTES);
  }

  private drain(): void {
    const ctl = this.t.ctl;
    const submitted = Atomics.load(ctl, SUBMITTED);
    this.waitUntil(() => Atomics.load(ctl, TAKEN) === submitted);
  }

  private waitUntil(done: () => boolean): void {
    const ctl = this.t.ctl;
    for (;;) {
      const taken = Atomics.load(ctl, TAKEN);
      if (done()) return;
      if (Atomics.wait(ctl, TAKEN, taken, WAIT_MS) === "timed-out" && !done()) {
        stopThread();
        throw new HashHere();
      }
    }
  }
}

/**
 * Bytes from which hashing on the thread pays: below this, handing slots over costs about what it
 * saves. A hunt of some 16,000 players writes this many.
 */
export const THREAD_FROM_BYTES = 1 << 20;

/**
 * Runs `write` over a sink and returns the hex sha256 of what it wrote. With `bytes` (an estimate of
 * the length) of at least THREAD_FROM_BYTES, the bytes are hashed on the hashing thread; should that
 * thread stop, `write` runs again over a sink that hashes here.
 */
export function hashWritten(bytes: number, write: (sink: HashSink, first: Uint8Array) => string): string {
  const t = bytes >= THREAD_FROM_BYTES ? startThread() : undefined;
  if (t) {
    let sink: ThreadSink | undefined;
    try {
      sink = new ThreadSink(t);
      return write(sink, sink.first());
    } catch (err) {
      if (!(err instanceof HashHere)) {
        try {
          sink?.abandon();
        } catch {
          // The thread is stopped then, and the next hash starts another sink.
        }
        throw err;
      }
    }
  }
  const sink = new InlineSink(1 << 17);
  return write(sink, sink.first());
}
