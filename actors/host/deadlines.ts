// Time's up: for each running hunt with a duration, the engine that owns it arms a timer for the
// moment its running time reaches the duration, and then appends `HuntEnded {reason: "time_up"}` to
// the hunt's log itself (Nats-Msg-Id `<id>:time-up`). The fold never reads this timer: events stored
// after the deadline are refused by their own time, so a replay gives the same result. Armed deadlines
// are also kept in a KV bucket, so that an engine that starts, or takes a partition over, finds the
// hunts whose deadline it must watch even if no event arrives for them.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { HuntFold } from "../hunt/index.ts";

/** The KV bucket of armed deadlines: key = hunt id, value = the deadline in JetStream ms. */
export const DEADLINES_BUCKET = "CAIRN_DEADLINES";

/**
 * How long after a deadline the engine appends the hunt's end. Late costs nothing (finds and hints
 * after the deadline are refused by their own time); early, with the engine's clock ahead of the
 * server's, would end a hunt while finds are still legal.
 */
const GRACE_MS = 250;

/** The longest delay a Node timer takes (a longer one fires at once): longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The deadline of a hunt, in JetStream time (ms), or undefined when none is running. */
export function deadlineOf(fold: HuntFold): number | undefined {
  const duration = fold.rules.durationMs;
  if (duration === null || fold.status !== "running") return undefined;
  return fold.runSpanStart + duration - fold.runClosedMs;
}

/** The event the engine appends at a hunt's deadline. */
export function timeUpEvent(huntId: string): { id: string; body: string } {
  const id = `${huntId}:time-up`;
  return {
    id,
    body: JSON.stringify({
      specversion: "1.0",
      id,
      source: "cairn-engine",
      type: "HuntEnded",
      data: { reason: "time_up" },
    }),
  };
}

const encoder = new TextEncoder();

/** The timers of the live hunts' deadlines, and their record in the KV bucket. */
export class Deadlines {
  private kv: KV | undefined;
  private readonly armed = new Map<string, { at: number; timer: NodeJS.Timeout; fold: HuntFold }>();
  /** Timed hunts seen over, whose record has been removed. */
  private readonly over = new Set<string>();
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: { replicas: number; logger: Logger },
  ) {}

  /** Opens (or creates) the bucket. */
  async start(): Promise<void> {
    this.kv = await new Kvm(this.nc).create(DEADLINES_BUCKET, { history: 1, replicas: this.opts.replicas });
  }

  /** Hunts whose deadline is recorded (for an engine taking their lane). */
  async recorded(): Promise<string[]> {
    const out: string[] = [];
    const kv = this.kv;
    if (!kv) return out;
    for await (const key of await kv.keys()) out.push(key);
    return out;
  }

  /** Arms, moves or disarms a live hunt's timer after its fold changed. */
  update(huntId: string, fold: HuntFold): void {
    // Once stopping, the records stay as they are: the next engine arms them again.
    if (this.stopped) return;
    const at = deadlineOf(fold);
    const current = this.armed.get(huntId);
    if (at !== undefined && at === current?.at) return;
    if (current) clearTimeout(current.timer);
    if (at === undefined) {
      this.armed.delete(huntId);
      // A paused hunt keeps its record (its owner re-arms it on resume); an ended or finalised one
      // loses it, once per engine, even if this engine never armed it (a record left by a crash).
      const over = fold.status === "ended" || fold.status === "finalized";
      if (fold.rules.durationMs !== null && over && !this.over.has(huntId)) {
        this.over.add(huntId);
        void this.kv?.delete(huntId).catch(() => {});
      }
      return;
    }
    this.arm(huntId, at, fold);
    void this.kv
      ?.put(huntId, encoder.encode(String(at)))
      .catch((err: Error) =>
        this.opts.logger.warn({ huntId, err: err.message }, "could not record a hunt's deadline"),
      );
  }

  /** Sets the timer of a deadline; a wait longer than a Node timer takes is re-armed when it fires. */
  private arm(huntId: string, at: number, fold: HuntFold): void {
    // Time comes from the JetStream timestamps; the engine's clock is assumed to agree with the
    // server's (NTP) to within GRACE_MS.
    const wait = at + GRACE_MS - Date.now();
    const timer = setTimeout(
      () => (wait > MAX_TIMER_MS ? this.arm(huntId, at, fold) : void this.fire(huntId, at)),
      Math.min(Math.max(0, wait), MAX_TIMER_MS),
    );
    timer.unref();
    this.armed.set(huntId, { at, timer, fold });
  }

  /** Whether a hunt has a deadline armed (it is not passivated then: its timer must run). */
  has(huntId: string): boolean {
    return this.armed.has(huntId);
  }

  /** Forgets a hunt's timer (the hunt left this engine); its record stays for the next owner. */
  forget(huntId: string): void {
    const current = this.armed.get(huntId);
    if (current) clearTimeout(current.timer);
    this.armed.delete(huntId);
  }

  /**
   * Appends the hunt's `HuntEnded`, retrying until JetStream stores it (or the engine stops, or the
   * deadline moves). The append expects the hunt's log to end where this engine's fold is: an event
   * stored meanwhile (a pause just before the deadline) makes JetStream refuse it, and the engine
   * folds that event first and decides again, so that a hunt paused in time is never ended early.
   */
  private async fire(huntId: string, at: number): Promise<void> {
    const { id, body } = timeUpEvent(huntId);
    for (let attempt = 0; !this.stopped; attempt++) {
      const armed = this.armed.get(huntId);
      if (armed?.at !== at) return;
      try {
        const js = jetstream(this.nc);
        const ack = await js.publish(`hunt.${huntId}.events`, body, {
          msgID: id,
          timeout: 5000,
          expect: { lastSubjectSequence: armed.fold.seq },
        });
        if (ack.duplicate) {
          // Our own earlier append (a retry, a restart), or a publisher that used this id: say which.
          const jsm = await jetstreamManager(this.nc);
          const stored = await jsm.streams.getMessage(ack.stream, { seq: ack.seq });
          if (stored && !stored.subject.startsWith(`hunt.${huntId}.events`)) {
            this.opts.logger.error(
              { huntId, seq: ack.seq, subject: stored.subject },
              `another event holds the id ${id} in the duplicate window: the hunt was not ended; publish HuntEnded for it`,
            );
            return;
          }
        }
        this.opts.logger.info({ huntId, seq: ack.seq, duplicate: ack.duplicate }, "time is up: hunt ended");
        return;
      } catch (err) {
        const message = (err as Error).message;
        if (/wrong last sequence/i.test(message)) {
          this.opts.logger.info(
            { huntId, seq: armed.fold.seq },
            "time is up, but the hunt's log has events this engine has not folded yet: folding them first",
          );
          // The engine folds them within a batch or two: ask again soon, without backing off.
          attempt = -1;
        } else {
          this.opts.logger.warn(
            { huntId, attempt, err: message },
            "could not end the hunt at its deadline; retrying",
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5000)).unref());
      }
    }
  }

  /** Stops every timer (the records stay: the next engine arms them again). */
  stop(): void {
    this.stopped = true;
    for (const { timer } of this.armed.values()) clearTimeout(timer);
    this.armed.clear();
  }
}
