// Partitioned ownership of hunts across engine processes, on NATS primitives that server 2.9 has:
// a KV bucket of leases written with compare-and-set. Each partition is owned by at most one engine
// at a time; the owner renews its lease every tick. Placement is by rendezvous hashing over the live
// engines, so it is balanced and moves as little as possible when an engine joins or dies.
import { createHash } from "node:crypto";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { noteJetStreamFailure } from "../../streams/index.ts";

/** The KV bucket of leases and engine heartbeats. */
export const OWNERS_BUCKET = "CAIRN_OWNERS";

/** The subjects the bucket stores engine heartbeats on. */
const HEARTBEAT_SUBJECTS = `$KV.${OWNERS_BUCKET}.engine.`;
/** An engine whose heartbeat has stood this many lease times is gone: its key leaves the bucket. */
const FORGET_AFTER_LEASES = 20;

/**
 * Removes an engine's heartbeat from the bucket altogether (a delete would leave a marker); with
 * `upTo`, only its revisions up to that one.
 */
function purgeHeartbeat(jsm: JetStreamManager, engineId: string, upTo?: number): Promise<unknown> {
  const filter = `${HEARTBEAT_SUBJECTS}${engineId}`;
  return jsm.streams.purge(
    `KV_${OWNERS_BUCKET}`,
    upTo === undefined ? { filter } : { filter, seq: upTo + 1 },
  );
}

/** How partitions are shared. */
export interface OwnershipOptions {
  /** Partitions of the hunt space (the server mapping's n). */
  partitions: number;
  /** This engine's id, unique among live engines. */
  engineId: string;
  /** A lease or heartbeat unchanged for this long (as seen locally) is dead. Default 3 s. */
  leaseMs?: number;
  /** How often leases and heartbeats are written. Default leaseMs / 3. */
  tickMs?: number;
  /** Replicas of the bucket (3 on a cluster). */
  replicas?: number;
  logger: Logger;
  /** Called when this engine has taken a partition: start consuming it. */
  onAcquire(partition: number): Promise<void>;
  /** Called when this engine must give a partition up: stop consuming it and snapshot its hunts. */
  onRelease(partition: number): Promise<void>;
}

/** What a lease says. */
interface Lease {
  owner: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Rendezvous weight of (engine, partition): the live engine with the highest weight should own it. */
function weight(engineId: string, partition: number): string {
  return createHash("sha1").update(`${engineId}/${partition}`).digest("hex");
}

/** The engine that should own `partition` among `engines`. */
export function preferredOwner(engines: readonly string[], partition: number): string | undefined {
  let best: string | undefined;
  let bestWeight = "";
  for (const e of engines) {
    const w = weight(e, partition);
    if (best === undefined || w > bestWeight) {
      best = e;
      bestWeight = w;
    }
  }
  return best;
}

/**
 * Liveness by observation: a key is alive while its revision keeps rising. Only this process's
 * monotonic clock is read, so clock skew between machines does not matter. A read may come from a
 * replica that lags (a node catching up after a restart answers direct gets too), so only a revision
 * above the highest seen counts: an older one read after a newer one is not a sign of life, else a
 * dead engine would seem to live again and take back the partitions it should have lost.
 */
export class RevisionWatch {
  private readonly seen = new Map<string, { revision: number; since: number }>();

  /** Records a revision read for `key`; returns how long (ms) its highest revision has stood. */
  observe(key: string, revision: number, now: number): number {
    const prev = this.seen.get(key);
    if (!prev || revision > prev.revision) {
      this.seen.set(key, { revision, since: now });
      return 0;
    }
    return now - prev.since;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}

/** One engine's side of the partition leases. */
export class PartitionOwnership {
  private kv: KV | undefined;
  private jsm: JetStreamManager | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  /** When the tick under way started (monotonic ms). */
  private tickStartedAt = 0;
  private readonly watch = new RevisionWatch();
  /** Partitions this engine holds, with the revision of its last write. */
  private readonly held = new Map<number, number>();
  /** When this engine last renewed every lease it holds (monotonic ms). */
  private lastRenewal = 0;
  private stopped = false;
  /** The engines seen alive at the last tick, this one included, sorted. */
  private live: string[] = [];
  /** Partitions this engine should own whose lease another live engine still holds. */
  private readonly heldElsewhere = new Set<number>();
  /** Partitions this engine is handing back right now. */
  private readonly releasing = new Set<number>();
  private readonly leaseMs: number;
  private readonly tickMs: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: OwnershipOptions,
  ) {
    this.leaseMs = opts.leaseMs ?? 3000;
    this.tickMs = opts.tickMs ?? Math.max(100, Math.floor(this.leaseMs / 3));
  }

  /** Partitions held now. */
  get partitions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /**
   * Whether this engine may act for `partition` now: it holds the lease and renewed it recently
   * enough that nobody else can have taken it (fencing against a paused process).
   */
  owns(partition: number): boolean {
    return this.held.has(partition) && performance.now() - this.lastRenewal < this.leaseMs;
  }

  /**
   * Whether `partition` is between owners as this engine sees it, so that it should answer for the
   * partition's hunts that they are moving rather than stay silent: it is handing the partition
   * back, or it is the engine that should own it next and no live engine holds the lease.
   */
  isMovingHere(partition: number): boolean {
    if (this.releasing.has(partition)) return true;
    return (
      !this.held.has(partition) &&
      !this.heldElsewhere.has(partition) &&
      preferredOwner(this.live, partition) === this.opts.engineId
    );
  }

  /** Creates the bucket and starts the lease loop. */
  async start(): Promise<void> {
    this.kv = await new Kvm(this.nc).create(OWNERS_BUCKET, { history: 1, replicas: this.opts.replicas ?? 1 });
    this.jsm = await jetstreamManager(this.nc);
    await this.tick();
    this.timer = setInterval(() => {
      if (this.ticking) return;
      this.tickStartedAt = performance.now();
      this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, this.tickMs);
  }

  /** How long the tick under way has run (ms), 0 between ticks: a tick that never ends stops the heartbeat. */
  tickRunningMs(now = performance.now()): number {
    return this.ticking ? now - this.tickStartedAt : 0;
  }

  private async tick(): Promise<void> {
    const { kv, jsm } = this;
    if (!kv || !jsm || this.stopped) return;
    const { engineId, partitions, logger } = this.opts;
    const now = performance.now();
    try {
      // 1. Heartbeat, and the live engines.
      await kv.put(`engine.${engineId}`, encoder.encode(String(now)));
      // The engines are listed from the stream's subjects, one request: `kv.keys` would make a
      // consumer at every tick, through the cluster's meta group, and its push delivery can hang
      // across a node restart, stopping this heartbeat while the engine holds partitions.
      const { state } = await jsm.streams.info(`KV_${OWNERS_BUCKET}`, {
        subjects_filter: `${HEARTBEAT_SUBJECTS}>`,
      });
      // The reads of the heartbeats, then the renewals, then the reads of the leases to take, each go
      // out at once: a tick of one round trip after another (one per engine, one per partition)
      // outlasts the lease on a loaded cluster, and its peers then take this engine for dead.
      const others = Object.keys(state.subjects ?? {})
        .map((subject) => subject.slice(HEARTBEAT_SUBJECTS.length))
        .filter((id) => id !== engineId)
        .sort();
      const heartbeats = await Promise.all(others.map((id) => kv.get(`engine.${id}`)));
      const live = [engineId];
      others.forEach((id, i) => {
        const entry = heartbeats[i];
        // Not found: a replica that has not seen a new engine's first heartbeat yet. Not live for now,
        // and not to be removed.
        if (!entry) return;
        const stood = entry.operation === "PUT" ? this.watch.observe(`engine.${id}`, entry.revision, now) : 0;
        if (entry.operation === "PUT" && stood < this.leaseMs) live.push(id);
        // An engine gone for good (deleted, or silent for many leases) leaves the bucket, so that
        // ticks do not read more heartbeats with every engine that ever ran.
        else if (entry.operation !== "PUT" || stood >= this.leaseMs * FORGET_AFTER_LEASES)
          this.forgetEngine(jsm, id, entry.revision);
      });
      live.sort();
      this.live = live;

      // 2. Renew what is held and kept, then give up what another live engine should own.
      const held = [...this.held];
      const kept = held.filter(([p]) => preferredOwner(live, p) === engineId);
      const lease = encoder.encode(JSON.stringify({ owner: engineId } satisfies Lease));
      const renewals = await Promise.allSettled(
        kept.map(([p, revision]) => kv.update(`p.${p}`, lease, revision)),
      );
      let renewedAll = true;
      for (let i = 0; i < kept.length; i++) {
        const p = kept[i]![0];
        const renewal = renewals[i]!;
        if (renewal.status === "fulfilled") {
          this.held.set(p, renewal.value);
          continue;
        }
        renewedAll = false;
        logger.warn({ partition: p, err: (renewal.reason as Error).message }, "lost a partition lease");
        this.held.delete(p);
        await this.opts.onRelease(p);
      }
      for (const [p, revision] of held) {
        if (preferredOwner(live, p) !== engineId) await this.release(p, revision);
      }
      if (renewedAll) this.lastRenewal = now;

      // 3. Take what this engine should own and nobody live holds.
      const wanted: number[] = [];
      for (let p = 0; p < partitions; p++) {
        if (!this.held.has(p) && preferredOwner(live, p) === engineId) wanted.push(p);
      }
      const leases = await Promise.all(wanted.map((p) => kv.get(`p.${p}`)));
      for (let i = 0; i < wanted.length; i++) {
        const p = wanted[i]!;
        const entry = leases[i] ?? null;
        if (!this.free(entry, p, now)) {
          this.heldElsewhere.add(p);
          continue;
        }
        this.heldElsewhere.delete(p);
        try {
          const revision = entry
            ? await kv.update(`p.${p}`, lease, entry.revision)
            : await kv.create(`p.${p}`, lease);
          this.held.set(p, revision);
          this.watch.forget(`p.${p}`);
          logger.info({ partition: p, engines: live.length }, "partition acquired");
          await this.opts.onAcquire(p);
        } catch {
          // Another engine won the compare-and-set: it owns the partition now.
        }
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "ownership tick failed");
      noteJetStreamFailure(this.nc, err, logger);
    }
  }

  /** A lease is free when empty, deleted, ours, or not renewed for longer than the lease time. */
  private free(entry: KvEntry | null, partition: number, now: number): boolean {
    if (entry?.operation !== "PUT" || entry.value.length === 0) return true;
    const lease = JSON.parse(decoder.decode(entry.value)) as Lease;
    if (lease.owner === this.opts.engineId) return true;
    return this.watch.observe(`p.${partition}`, entry.revision, now) >= this.leaseMs;
  }

  /** Hands a partition back: stop consuming it first, then clear the lease for its next owner. */
  private async release(partition: number, revision: number): Promise<void> {
    this.held.delete(partition);
    this.releasing.add(partition);
    try {
      await this.opts.onRelease(partition);
      await this.kv?.update(`p.${partition}`, new Uint8Array(0), revision).catch(() => {});
    } finally {
      this.releasing.delete(partition);
    }
    this.opts.logger.info({ partition }, "partition released");
  }

  /**
   * Removes a dead engine's heartbeat: only the revisions up to the one judged dead, so a heartbeat
   * written since survives. Until the purge
   * is done the watch keeps the revision, so a failed purge neither revives the engine nor stops the
   * next tick from trying again.
   */
  private forgetEngine(jsm: JetStreamManager, id: string, revision: number): void {
    purgeHeartbeat(jsm, id, revision)
      .then(() => this.watch.forget(`engine.${id}`))
      .catch(() => {});
  }

  /** Gives every partition back (graceful shutdown) and stops the loop. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    for (const [p, revision] of [...this.held]) await this.release(p, revision);
    if (this.jsm) await purgeHeartbeat(this.jsm, this.opts.engineId).catch(() => {});
  }
}
