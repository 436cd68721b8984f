// Time's up: for each running hunt with a duration, the engine that owns it arms a timer for the
// moment its running time reaches the duration, and then appends `HuntEnded {reason: "time_up"}` to
// the hunt's log itself (Nats-Msg-Id `<id>:time-up`). The fold never reads this timer: events stored
// after the deadline are refused by their own time, so a replay gives the same result. Armed deadlines
// are also kept in a KV bucket, so that an engine that starts, or takes a partition over, finds the
// hunts whose deadline it must watch even if no event arrives for them.
import { jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { HuntFold } from "../hunt/index.ts";

/** The KV bucket of armed deadlines: key = hunt id, value = the deadline in JetStream ms. */
export const DEADLINES_BUCKET = "CAIRN_DEADLINES";

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
const decoder = new TextDecoder();

/** The timers of the live hunts' deadlines, and their record in the KV bucket. */
export class Deadlines {
  private kv: KV | undefined;
  private readonly armed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
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

  /** Hunts whose deadline is recorded, with it (for an engine taking their lane). */
  async recorded(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const kv = this.kv;
    if (!kv) return out;
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry?.operation === "PUT") out.set(key, Number(decoder.decode(entry.value)));
    }
    return out;
  }

  /** Arms, moves or disarms a live hunt's timer after its fold changed. */
  update(huntId: string, fold: HuntFold): void {
    const at = deadlineOf(fold);
    const current = this.armed.get(huntId);
    if (at === current?.at) return;
    if (current) clearTimeout(current.timer);
    if (at === undefined || this.stopped) {
      this.armed.delete(huntId);
      // Paused, or over: a paused hunt keeps its record (its owner re-arms it on resume); an ended
      // one loses it, once.
      if (fold.rules.durationMs !== null && fold.status !== "paused" && !this.over.has(huntId)) {
        this.over.add(huntId);
        void this.kv?.delete(huntId).catch(() => {});
      }
      return;
    }
    // Time comes from the JetStream timestamps; the engine's clock is assumed to agree with the
    // server's (NTP), and the event stored a moment after the deadline ends the hunt all the same.
    const timer = setTimeout(() => void this.fire(huntId, at), Math.max(0, at - Date.now()));
    timer.unref();
    this.armed.set(huntId, { at, timer });
    void this.kv
      ?.put(huntId, encoder.encode(String(at)))
      .catch((err: Error) =>
        this.opts.logger.warn({ huntId, err: err.message }, "could not record a hunt's deadline"),
      );
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

  /** Appends the hunt's `HuntEnded`, retrying until JetStream stores it (or the engine stops). */
  private async fire(huntId: string, at: number): Promise<void> {
    const { id, body } = timeUpEvent(huntId);
    const js = jetstream(this.nc);
    for (let attempt = 0; !this.stopped && this.armed.get(huntId)?.at === at; attempt++) {
      try {
        const ack = await js.publish(`hunt.${huntId}.events`, body, { msgID: id, timeout: 5000 });
        this.opts.logger.info({ huntId, seq: ack.seq, duplicate: ack.duplicate }, "time is up: hunt ended");
        return;
      } catch (err) {
        this.opts.logger.warn(
          { huntId, attempt, err: (err as Error).message },
          "could not end the hunt at its deadline; retrying",
        );
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5000)));
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
