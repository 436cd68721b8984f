// Stream set-up against a real nats-server: idempotent, and a clear refusal when an existing stream conflicts.
import { RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ensureStreams,
  SNAPSHOT_STREAM,
  StreamConfigConflictError,
  wantedStreams,
} from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats } from "../support/nats.ts";

let server: TestNats;
let client: TestClient;

beforeAll(async () => {
  server = await startTestNats();
  client = await connectTest(server.url);
});

afterAll(async () => {
  await client?.nc.close();
  await server?.cleanup();
});

describe("ensureStreams", () => {
  it("creates the streams and the snapshot bucket, and is idempotent", async () => {
    const first = await ensureStreams(client.jsm, { ranksMaxAgeMs: 3_600_000 });
    expect(first.created.sort()).toEqual([
      "CAIRN_SNAPSHOTS",
      "HUNT_CHECKPOINTS",
      "HUNT_EVENTS",
      "HUNT_RANKS",
      "HUNT_REJECTED",
    ]);
    const second = await ensureStreams(client.jsm, { ranksMaxAgeMs: 3_600_000 });
    expect(second).toEqual({
      created: [],
      existing: ["HUNT_EVENTS", "HUNT_RANKS", "HUNT_REJECTED", "HUNT_CHECKPOINTS", "CAIRN_SNAPSHOTS"],
      updated: [],
    });
    const checkpoints = await client.jsm.streams.info("HUNT_CHECKPOINTS");
    expect(checkpoints.config.subjects).toEqual(["hunt.*.checkpoints"]);
    expect(checkpoints.config.storage).toBe(StorageType.File);
    expect(checkpoints.config.max_age).toBe(0);
    const events = await client.jsm.streams.info("HUNT_EVENTS");
    expect(events.config.subjects.sort()).toEqual(["hunt.*.events", "hunt.*.events.*"]);
    expect(events.config.storage).toBe(StorageType.File);
    expect(events.config.retention).toBe(RetentionPolicy.Limits);
    expect(events.config.duplicate_window).toBe(nanos(120_000));
    const ranks = await client.jsm.streams.info("HUNT_RANKS");
    expect(ranks.config.subjects).toEqual(["hunt.*.ranks", "hunt.*.teams.ranks"]);
    expect(ranks.config.max_age).toBe(nanos(3_600_000));
    expect(ranks.config.allow_direct).toBe(true);
    expect((await client.jsm.streams.info("HUNT_REJECTED")).config.allow_direct).toBe(true);
    const snapshots = await client.jsm.streams.info(SNAPSHOT_STREAM);
    expect(snapshots.config.subjects).toEqual(["cairn.snapshot.>"]);
    expect(snapshots.config.max_msgs_per_subject).toBe(1);
  });

  it("gives a deployment made before checkpoints its HUNT_CHECKPOINTS, leaving the other streams as they were", async () => {
    const own = await startTestNats();
    const oc = await connectTest(own.url);
    try {
      const older = wantedStreams().filter((w) => w.name !== "HUNT_CHECKPOINTS");
      for (const w of older) await oc.jsm.streams.add(w);
      await oc.js.publish("hunt.old.events", "{}", { msgID: "setup-old-1" });
      const before = await oc.jsm.streams.info("HUNT_EVENTS");
      const result = await ensureStreams(oc.jsm);
      expect(result.created).toEqual(["HUNT_CHECKPOINTS"]);
      const after = await oc.jsm.streams.info("HUNT_EVENTS");
      expect(after.config).toEqual(before.config);
      expect(after.state.messages).toBe(1);
    } finally {
      await oc.nc.close();
      await own.cleanup();
    }
  });

  it("adds hunt.*.teams.ranks to a HUNT_RANKS created the old way, keeping what it stores", async () => {
    const own = await startTestNats();
    const oc = await connectTest(own.url);
    try {
      // HUNT_RANKS as the engine created it before team hunts: one subject, no allow_direct.
      const old = wantedStreams().find((w) => w.name === "HUNT_RANKS")!;
      await oc.jsm.streams.add({ ...old, subjects: ["hunt.*.ranks"], allow_direct: false });
      await oc.js.publish("hunt.h.ranks", "{}", { msgID: "h:1:0" });
      const result = await ensureStreams(oc.jsm);
      expect(result.created.sort()).toEqual([
        "CAIRN_SNAPSHOTS",
        "HUNT_CHECKPOINTS",
        "HUNT_EVENTS",
        "HUNT_REJECTED",
      ]);
      expect(result.existing).toEqual(["HUNT_RANKS"]);
      expect(result.updated).toEqual(["HUNT_RANKS"]);
      const info = await oc.jsm.streams.info("HUNT_RANKS");
      expect(info.config.subjects).toEqual(["hunt.*.ranks", "hunt.*.teams.ranks"]);
      expect(info.config.allow_direct).toBe(true);
      expect(info.state.messages).toBe(1);
      const ack = await oc.js.publish("hunt.h.teams.ranks", "{}", { msgID: "h:1:1" });
      expect(ack.stream).toBe("HUNT_RANKS");
      // Once updated, the next start finds nothing to do.
      expect((await ensureStreams(oc.jsm)).updated).toEqual([]);
    } finally {
      await oc.nc.close();
      await own.cleanup();
    }
  });

  it("refuses a conflicting existing stream, naming every difference, and changes nothing", async () => {
    const own = await startTestNats();
    const oc = await connectTest(own.url);
    try {
      await oc.jsm.streams.add({
        name: "HUNT_RANKS",
        subjects: ["hunt.*.ranks", "extra.>"],
        storage: StorageType.Memory,
        max_age: nanos(60_000),
      });
      const err = await ensureStreams(oc.jsm).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StreamConfigConflictError);
      const conflict = err as StreamConfigConflictError;
      expect(conflict.code).toBe("stream_config_conflict");
      expect(conflict.differences.map((d) => d.field).sort()).toEqual([
        "duplicate_window",
        "max_age",
        "storage",
        "subjects",
      ]);
      expect(conflict.message).toContain('HUNT_RANKS.storage: existing "memory" vs wanted "file"');
      expect(conflict.message).toContain(
        'HUNT_RANKS.subjects: existing ["extra.>","hunt.*.ranks"] vs wanted ["hunt.*.ranks","hunt.*.teams.ranks"]',
      );
      expect(conflict.message).toContain("HUNT_RANKS.max_age: existing 60000000000 vs wanted 86400000000000");
      const names: string[] = [];
      for await (const s of oc.jsm.streams.names()) names.push(s);
      expect(names).toEqual(["HUNT_RANKS"]); // nothing created, nothing overwritten
      expect((await oc.jsm.streams.info("HUNT_RANKS")).config.storage).toBe(StorageType.Memory);
    } finally {
      await oc.nc.close();
      await own.cleanup();
    }
  });
});
