// The hunt as a synchronous, pure decider: its lifecycle machine, its checks and scoring (the fold),
// its canonical bytes (snapshots and stateHash), and the answers to queries. No promise, no I/O, no
// clock: the host feeds it log messages and carries its outputs to NATS.
export {
  CHECKPOINT_EVERY,
  type Checkpoint,
  type CheckpointMessage,
  CheckpointSigner,
  chainOf,
  checkpointMessage,
  GENESIS_CHAIN,
  SigningKeyError,
  signatureValid,
} from "./checkpoint.ts";
export { CorruptSnapshotError, decodeHunt, encodeHunt, stateHash } from "./codec.ts";
export {
  DEFAULT_TOP_N,
  type FoldInput,
  HuntFold,
  type HuntRules,
  type OutputSink,
  PLAYER_JOINED,
  PLAYER_LEFT,
  type Treasure,
} from "./fold.ts";
export { ACCEPTS, HUNT_STATUSES, HuntLifecycle, type HuntStatus, huntMachine } from "./machine.ts";
export { answer, publicStateReply, type QueryReply, queryError, stateReply } from "./queries.ts";
