// The actors folder's single entry. `hunt/` is the hunt as a pure decider (lifecycle, checks,
// scoring, snapshots, queries); `host/` is the runtime around it (lanes, live hunts, queries over
// NATS, metrics, ownership of partitions, replay); `audit/` is the hunt archive (its format, export
// from NATS, offline verification). Nothing outside this folder imports deeper.
export {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  ArchiveError,
  type ArchiveHeader,
  archiveEvent,
  openArchive,
} from "./audit/archive.ts";
export { type ExportResult, exportHunt } from "./audit/export.ts";
export { type VerifyResult, verifyArchive } from "./audit/verify.ts";
export { DEADLINES_BUCKET, Deadlines } from "./host/deadlines.ts";
export { type Engine, type EngineConfig, EngineStartError, startEngine } from "./host/engine.ts";
export { ActorHost, type HostOptions } from "./host/host.ts";
export { HuntOutputs, type OutputTarget } from "./host/outputs.ts";
export { OWNERS_BUCKET, PartitionOwnership, preferredOwner } from "./host/ownership.ts";
export { isReplySubjectAllowed } from "./host/query-server.ts";
export { auditHunt, type ReplayOptions, type ReplayResult, replayHunt } from "./host/replay.ts";
export * from "./hunt/index.ts";
