// Hunt snapshots in the CAIRN_SNAPSHOTS object store: chunked, so multi-MB snapshots fit under the 1 MiB message limit.
import type { JetStreamClient } from "@nats-io/jetstream";
import { type ObjectStore, Objm } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertHuntId } from "./errors.ts";
import { SNAPSHOT_BUCKET } from "./setup.ts";

/** Stores one snapshot per hunt (the newest replaces the previous one). */
export class SnapshotStore {
  private store: Promise<ObjectStore> | undefined;

  constructor(
    /** A JetStream client or a plain connection. */
    private readonly js: JetStreamClient | NatsConnection,
    /** Bucket name (default CAIRN_SNAPSHOTS, created by ensureStreams). */
    private readonly bucket: string = SNAPSHOT_BUCKET,
  ) {}

  private os(): Promise<ObjectStore> {
    this.store ??= new Objm(this.js).open(this.bucket).catch((err: unknown) => {
      this.store = undefined;
      throw err;
    });
    return this.store;
  }

  /** Saves the hunt's snapshot, replacing the previous one. */
  async put(huntId: string, bytes: Uint8Array): Promise<void> {
    assertHuntId(huntId);
    await (await this.os()).putBlob({ name: huntId }, bytes);
  }

  /** The hunt's snapshot, or undefined when it has none. */
  async get(huntId: string): Promise<Uint8Array | undefined> {
    assertHuntId(huntId);
    const data = await (await this.os()).getBlob(huntId);
    return data ?? undefined;
  }

  /** Deletes the hunt's snapshot (no error when it has none). */
  async delete(huntId: string): Promise<void> {
    assertHuntId(huntId);
    const os = await this.os();
    if (await os.info(huntId)) await os.delete(huntId);
  }
}
