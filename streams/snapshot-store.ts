// Hunt snapshots in the CAIRN_SNAPSHOTS stream, in chunks under the 1 MiB message limit. Two
// generations alternate: a snapshot's chunks are written first and its meta last, so a crash in the
// middle leaves the previous snapshot whole. The snapshot's own checksum guards the rest.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertHuntId } from "./errors.ts";
import { toJetStream } from "./event-log.ts";
import { SNAPSHOT_STREAM } from "./setup.ts";

/** Bytes per chunk message. */
const CHUNK = 512 * 1024;

/** What `cairn.snapshot.<id>.meta` says. */
interface SnapshotMeta {
  /** Generation (0 or 1) whose chunks hold the snapshot. */
  gen: number;
  chunks: number;
  bytes: number;
}

/** Stores one snapshot per hunt (the newest replaces the previous one). */
export class SnapshotStore {
  private readonly js: JetStreamClient;
  private jsmPromise: Promise<JetStreamManager> | undefined;

  constructor(
    /** A JetStream client or a plain connection. */
    conn: JetStreamClient | NatsConnection,
  ) {
    this.js = toJetStream(conn);
  }

  private jsm(): Promise<JetStreamManager> {
    this.jsmPromise ??= this.js.jetstreamManager();
    return this.jsmPromise;
  }

  private async meta(huntId: string): Promise<SnapshotMeta | undefined> {
    const m = await (await this.jsm()).direct.getMessage(SNAPSHOT_STREAM, {
      last_by_subj: `cairn.snapshot.${huntId}.meta`,
    });
    if (!m || m.data.length === 0) return undefined;
    return m.json<SnapshotMeta>();
  }

  /** Saves the hunt's snapshot, replacing the previous one once all of it is stored. */
  async put(huntId: string, bytes: Uint8Array): Promise<void> {
    assertHuntId(huntId);
    const previous = await this.meta(huntId);
    const gen = previous ? 1 - previous.gen : 0;
    const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK));
    const acks = [];
    for (let i = 0; i < chunks; i++) {
      acks.push(
        this.js.publish(`cairn.snapshot.${huntId}.${gen}.${i}`, bytes.subarray(i * CHUNK, (i + 1) * CHUNK)),
      );
    }
    await Promise.all(acks);
    const meta: SnapshotMeta = { gen, chunks, bytes: bytes.length };
    await this.js.publish(`cairn.snapshot.${huntId}.meta`, JSON.stringify(meta));
  }

  /** The hunt's snapshot, or undefined when it has none (or its chunks are gone). */
  async get(huntId: string): Promise<Uint8Array | undefined> {
    assertHuntId(huntId);
    const meta = await this.meta(huntId);
    if (!meta) return undefined;
    const jsm = await this.jsm();
    const parts = await Promise.all(
      Array.from({ length: meta.chunks }, (_, i) =>
        jsm.direct.getMessage(SNAPSHOT_STREAM, { last_by_subj: `cairn.snapshot.${huntId}.${meta.gen}.${i}` }),
      ),
    );
    const out = new Uint8Array(meta.bytes);
    let offset = 0;
    for (const part of parts) {
      if (!part || offset + part.data.length > out.length) return undefined;
      out.set(part.data, offset);
      offset += part.data.length;
    }
    return offset === meta.bytes ? out : undefined;
  }

  /** Deletes the hunt's snapshot (no error when it has none). */
  async delete(huntId: string): Promise<void> {
    assertHuntId(huntId);
    await (await this.jsm()).streams.purge(SNAPSHOT_STREAM, { filter: `cairn.snapshot.${huntId}.>` });
  }
}
