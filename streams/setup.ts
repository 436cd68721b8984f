// Creates Cairn's streams and snapshot bucket if missing, adds the subjects an existing stream lacks;
// refuses (never overwrites) a conflicting existing stream.
import type { JetStreamManager, StreamConfig, StreamInfo } from "@nats-io/jetstream";
import { JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { type ConfigDifference, StreamConfigConflictError } from "./errors.ts";

/** The input log stream. */
export const EVENTS_STREAM = "HUNT_EVENTS";
/** The rank-change output stream. */
export const RANKS_STREAM = "HUNT_RANKS";
/** The rejection output stream. */
export const REJECTED_STREAM = "HUNT_REJECTED";
/** The chained checkpoints of every hunt, kept forever. */
export const CHECKPOINTS_STREAM = "HUNT_CHECKPOINTS";
/** The stream holding snapshots, chunked (they can exceed the 1 MiB message limit). */
export const SNAPSHOT_STREAM = "CAIRN_SNAPSHOTS";

/** Options of ensureStreams. */
export interface StreamSetupOptions {
  /** Replicas of every stream (1 on one node, 3 on a cluster). Default 1. */
  replicas?: number;
  /** How long rank changes are kept, ms. Default 24 h. */
  ranksMaxAgeMs?: number;
  /** How long rejections are kept, ms; 0 = forever (default). */
  rejectedMaxAgeMs?: number;
  /** How long input events are kept, ms; 0 = forever (default): the log is the source of truth. */
  eventsMaxAgeMs?: number;
  /** Duplicate window of the streams, ms. Default 2 min. */
  duplicateWindowMs?: number;
  /** Also create the snapshot object store (default true). */
  snapshots?: boolean;
}

/** What ensureStreams did. */
export interface StreamSetupResult {
  /** Streams created by this call. */
  created: string[];
  /** Streams that already existed with a compatible configuration. */
  existing: string[];
  /** Existing streams (also listed in `existing`) that gained the subjects they lacked, by an update that only adds subjects. */
  updated: string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The stream configurations Cairn wants, for the given options. */
export function wantedStreams(
  options: StreamSetupOptions = {},
): Array<Partial<StreamConfig> & { name: string }> {
  const replicas = options.replicas ?? 1;
  const dup = nanos(options.duplicateWindowMs ?? 120_000);
  const base = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: replicas,
    duplicate_window: dup,
  };
  return [
    {
      ...base,
      name: EVENTS_STREAM,
      description:
        "Cairn input events: hunt.<id>.events (hunt.<id>.events.<p> when partitioned by a server mapping)",
      // The second subject takes server-side partition mappings (hunt.<id>.events -> hunt.<id>.events.<p>).
      subjects: ["hunt.*.events", "hunt.*.events.*"],
      max_age: nanos(options.eventsMaxAgeMs ?? 0),
      allow_direct: true,
    },
    {
      ...base,
      name: RANKS_STREAM,
      description: "Cairn rank changes: hunt.<id>.ranks (players) and hunt.<id>.teams.ranks (teams)",
      subjects: ["hunt.*.ranks", "hunt.*.teams.ranks"],
      max_age: nanos(options.ranksMaxAgeMs ?? DAY_MS),
      allow_direct: true,
    },
    {
      ...base,
      name: REJECTED_STREAM,
      description: "Cairn rejected input events: hunt.<id>.rejected",
      subjects: ["hunt.*.rejected"],
      max_age: nanos(options.rejectedMaxAgeMs ?? 0),
      allow_direct: true,
    },
    {
      ...base,
      name: CHECKPOINTS_STREAM,
      description: "Cairn chained checkpoints: hunt.<id>.checkpoints",
      subjects: ["hunt.*.checkpoints"],
      // An audit trail: never aged out.
      max_age: 0,
      allow_direct: true,
    },
    ...(options.snapshots === false
      ? []
      : [
          {
            ...base,
            name: SNAPSHOT_STREAM,
            description:
              "Cairn hunt snapshots: cairn.snapshot.<id>.<generation>.<chunk> and cairn.snapshot.<id>.meta",
            subjects: ["cairn.snapshot.>"],
            // Only the newest message per subject matters: two generations of chunks plus one meta.
            max_msgs_per_subject: 1,
            max_age: 0,
            allow_direct: true,
          },
        ]),
  ];
}

/** The wanted subjects an existing stream lacks: it gains them by an update that only adds subjects. */
export function missingSubjects(existing: StreamConfig, wanted: Partial<StreamConfig>): string[] {
  const have = new Set(existing.subjects ?? []);
  return (wanted.subjects ?? []).filter((s) => !have.has(s));
}

/**
 * Lists the conflicting fields between an existing stream and the wanted config. Subjects conflict
 * only when the existing stream has one that is not wanted: the ones it lacks are added, not refused.
 */
export function compareStreamConfig(
  existing: StreamConfig,
  wanted: Partial<StreamConfig>,
): ConfigDifference[] {
  const diffs: ConfigDifference[] = [];
  const name = existing.name;
  const sortedSubjects = (s: string[] | undefined) => [...(s ?? [])].sort();
  const es = sortedSubjects(existing.subjects);
  const ws = sortedSubjects(wanted.subjects);
  if (es.some((s) => !ws.includes(s)))
    diffs.push({ stream: name, field: "subjects", existing: es, wanted: ws });
  const fields = ["storage", "retention", "num_replicas", "duplicate_window", "max_age"] as const;
  for (const f of fields) {
    const e = existing[f] ?? 0;
    const w = wanted[f] ?? 0;
    if (e !== w) diffs.push({ stream: name, field: f, existing: e, wanted: w });
  }
  return diffs;
}

/**
 * Creates HUNT_EVENTS, HUNT_RANKS, HUNT_REJECTED, HUNT_CHECKPOINTS and CAIRN_SNAPSHOTS when missing
 * (a deployment made before one of them gains it, and nothing else changes). Idempotent. An
 * existing stream that lacks some of the wanted subjects (one created by an earlier version, such as
 * HUNT_RANKS without `hunt.*.teams.ranks`) gains them by an update that only adds subjects: nothing
 * stored is rewritten. When a stream exists with other subjects, storage, retention, replicas, duplicate
 * window or max age, it throws StreamConfigConflictError listing every difference, and changes nothing.
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  options: StreamSetupOptions = {},
): Promise<StreamSetupResult> {
  const wanted = wantedStreams(options);
  const infos = new Map<string, StreamInfo | undefined>();
  for (const w of wanted) {
    try {
      infos.set(w.name, await jsm.streams.info(w.name));
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)
        infos.set(w.name, undefined);
      else throw err;
    }
  }
  // Check everything before creating anything, so a conflict leaves the server as it was.
  const diffs = wanted.flatMap((w) => {
    const info = infos.get(w.name);
    return info ? compareStreamConfig(info.config, w) : [];
  });
  if (diffs.length > 0) throw new StreamConfigConflictError(diffs);
  const result: StreamSetupResult = { created: [], existing: [], updated: [] };
  for (const w of wanted) {
    const info = infos.get(w.name);
    if (info) {
      await completeExisting(jsm, info.config, w, result);
      continue;
    }
    try {
      await jsm.streams.add(w);
      result.created.push(w.name);
    } catch (err) {
      // Another engine may have created it between our info and add: fine if it now matches.
      const again = await jsm.streams.info(w.name).catch(() => undefined);
      if (!again) throw err;
      const d = compareStreamConfig(again.config, w);
      if (d.length > 0) throw new StreamConfigConflictError(d);
      await completeExisting(jsm, again.config, w, result);
    }
  }
  return result;
}

/** Brings a compatible existing stream up to the wanted one: adds the subjects it lacks, turns allow_direct on. */
async function completeExisting(
  jsm: JetStreamManager,
  config: StreamConfig,
  wanted: Partial<StreamConfig> & { name: string },
  result: StreamSetupResult,
): Promise<void> {
  result.existing.push(wanted.name);
  const missing = missingSubjects(config, wanted);
  // allow_direct is compatible to turn on; turn it on if someone created the stream without it.
  if (missing.length === 0 && config.allow_direct) return;
  const subjects = [...(config.subjects ?? []), ...missing];
  await jsm.streams.update(wanted.name, { ...config, subjects, allow_direct: true });
  if (missing.length > 0) result.updated.push(wanted.name);
}
