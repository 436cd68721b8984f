// The hunt as a synchronous, pure decider: its lifecycle machine, its checks and scoring (the fold),
// its canonical bytes (snapshots and stateHash), and the answers to queries. No promise, no I/O, no
// clock: the host feeds it log messages and carries its outputs to NATS.
export { HuntAudit, type HuntReport, ORGANISER_ACTIONS, type OrganiserAction } from "./audit.ts";
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
export { FrozenStandings } from "./frozen-standings.ts";
export {
  type Competitor,
  decodeLedgerCursor,
  encodeLedgerCursor,
  LedgerFold,
  type LedgerStep,
  ledgerShortcut,
  type Rejection,
} from "./ledger.ts";
export { ACCEPTS, HUNT_STATUSES, type HuntStatus, huntMachine, NEXT } from "./machine.ts";
export {
  answer,
  type LiveQueryOp,
  publicStateReply,
  type QueryReply,
  queryError,
  type Standings,
  stateReply,
} from "./queries.ts";
