// The streams folder's single entry: everything that touches NATS (connection, set-up, log, consumers, outputs, snapshots).

// The hunt-id rule belongs to the contract; streams/ re-exports it beside assertHuntId for its callers.
export { isValidHuntId } from "../schemas/index.ts";
export type {
  BatchConsumer,
  BatchConsumerOptions,
  BatchConsumerState,
  BatchConsumerStats,
  BatchConsumerStatus,
} from "./batch-consumer.ts";
export { batchConsumerConfig, consumeBatches } from "./batch-consumer.ts";
export { readCheckpoints, type StoredCheckpoint } from "./checkpoints.ts";
export type { ConnectOptions, ServerFeatures } from "./connection.ts";
export {
  connect,
  DEFAULT_NATS_URL,
  MIN_SERVER_VERSION,
  natsOptions,
  noteJetStreamFailure,
  serverFeatures,
  versionAtLeast,
} from "./connection.ts";
export type { EmbeddedNats, EmbeddedNatsOptions } from "./embedded-nats.ts";
export { defaultStoreDir, findNatsServer, freePort, startEmbeddedNats } from "./embedded-nats.ts";
export type { ConfigDifference } from "./errors.ts";
export {
  AmbiguousEventsSubjectError,
  assertHuntId,
  ConcurrencyError,
  InvalidHuntIdError,
  isJetStreamUnavailable,
  NatsConnectError,
  NatsServerNotFoundError,
  NatsServerStartError,
  ServerVersionError,
  StreamConfigConflictError,
  StreamsError,
} from "./errors.ts";
export type { AppendOptions, AppendResult, LogMessage, ReadOptions } from "./event-log.ts";
export {
  deliveryOf,
  EventLog,
  eventsSubject,
  huntIdOf,
  logMessageOf,
  msgIdOf,
  storedEventSubjects,
  toJetStream,
} from "./event-log.ts";
export {
  partitionFilter,
  partitionMapping,
  partitionMappingConfig,
  partitionOf,
  storedEventsSubject,
} from "./partitions.ts";
export type { OutputPosition } from "./publishers.ts";
export {
  lastOutput,
  lastOutputSeq,
  OutputPublisher,
  PLAYER_RANK_KEYS,
  parseOutputId,
  rankMessage,
  TEAM_RANK_KEYS,
} from "./publishers.ts";
export { QueryFailedError, queryHunt } from "./query-client.ts";
export type { StreamSetupOptions, StreamSetupResult } from "./setup.ts";
export {
  CHECKPOINTS_STREAM,
  compareStreamConfig,
  EVENTS_STREAM,
  ensureStreams,
  RANKS_STREAM,
  REJECTED_STREAM,
  SNAPSHOT_STREAM,
  wantedStreams,
} from "./setup.ts";
export { SnapshotStore } from "./snapshot-store.ts";
