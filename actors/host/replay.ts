// Rebuilds a hunt from its log alone, in a fresh fold: for audits (`cairn replay`, `cairn audit`), for
// the demo's closing check, and for the replay benchmark.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { createRankIndex, type RankIndexKind } from "../../native/index.ts";
import { EventLog, type LogMessage } from "../../streams/index.ts";
import {
  type CheckpointMessage,
  type CheckpointSigner,
  type Competitor,
  checkpointMessage,
  HuntAudit,
  HuntFold,
  type OutputSink,
} from "../hunt/index.ts";

/** What a replay produced. */
export interface ReplayResult {
  fold: HuntFold;
  /** Log messages folded. */
  events: number;
  /** Rank messages and rejections the fold produced. */
  ranks: number;
  rejections: number;
  /** Every checkpoint the fold produced, in order (signed when a signer was given). */
  checkpoints: CheckpointMessage[];
  /** Wall time, ms. */
  ms: number;
}

/** Where a fold of a hunt's log stops, where it reads, and whom it tells of its progress. */
export interface ReplayOptions {
  /** The last seq folded (default: the log's end when reading starts). */
  untilSeq?: number;
  /** The server's partition count (0: none); unset, the log looks up where the hunt is stored. */
  partitions?: number;
  indexKind?: RankIndexKind;
  /** Signs the checkpoints, as an engine with this key did. */
  signer?: CheckpointSigner;
  onProgress?: (events: number, seq: number) => void;
  /** Each batch of the log as read, before it is folded (an export writes it out). */
  onBatch?: (batch: readonly LogMessage[]) => void | Promise<void>;
}

/** Folds the hunt's log from seq 1 up to `untilSeq` (default: its end when reading starts). */
export async function replayHunt(
  nc: NatsConnection,
  huntId: string,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const started = performance.now();
  const fold = new HuntFold(huntId, createRankIndex(options.indexKind ?? "auto"));
  let ranks = 0;
  let rejections = 0;
  const checkpoints: CheckpointMessage[] = [];
  const sink: OutputSink = {
    rank: () => {
      ranks++;
    },
    teamRank: () => {
      ranks++;
    },
    rejected: () => {
      rejections++;
    },
    checkpoint: (seq, events, stateHash, prev, chain) => {
      checkpoints.push(checkpointMessage({ seq, events, stateHash, prev, chain }, options.signer));
    },
  };
  const log = new EventLog(jetstream(nc), await jetstreamManager(nc), options.partitions);
  const events = await readLog(
    log.readBatches(huntId, 1, { untilSeq: options.untilSeq }),
    options,
    async (batch) => {
      await options.onBatch?.(batch);
      fold.applyBatch(batch, sink);
      return fold.seq;
    },
  );
  return { fold, events, ranks, rejections, checkpoints, ms: performance.now() - started };
}

/**
 * Folds the hunt's log from seq 1 for its audit (`cairn audit`): a competitor's statement, or with no
 * competitor the hunt's report. The log is read a batch ahead only, so memory stays bounded however
 * long the log is.
 */
export async function auditHunt(
  nc: NatsConnection,
  huntId: string,
  competitor: Competitor | null,
  options: ReplayOptions = {},
): Promise<{ audit: HuntAudit; ms: number }> {
  const started = performance.now();
  const audit = new HuntAudit(huntId, createRankIndex(options.indexKind ?? "auto"), competitor);
  const log = new EventLog(jetstream(nc), await jetstreamManager(nc), options.partitions);
  await readLog(log.readPaced(huntId, 1, { untilSeq: options.untilSeq }), options, (batch) => {
    audit.feed(batch);
    return audit.ledger.fold.seq;
  });
  return { audit, ms: performance.now() - started };
}

/** Feeds a read of the log to `fold` (which returns the seq reached), telling of progress; returns the messages read. */
async function readLog(
  batches: AsyncIterable<LogMessage[]>,
  options: ReplayOptions,
  fold: (batch: LogMessage[]) => number | Promise<number>,
): Promise<number> {
  let events = 0;
  let seq = 0;
  let lastReport = performance.now();
  for await (const batch of batches) {
    seq = await fold(batch);
    events += batch.length;
    const now = performance.now();
    if (options.onProgress && now - lastReport > 250) {
      lastReport = now;
      options.onProgress(events, seq);
    }
  }
  options.onProgress?.(events, seq);
  return events;
}
