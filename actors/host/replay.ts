// Rebuilds a hunt from its log alone, in a fresh fold: for audits (`cairn replay`), for the demo's
// closing check, and for the replay benchmark.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { createRankIndex, type RankIndexKind } from "../../native/index.ts";
import { EventLog } from "../../streams/index.ts";
import { HuntFold, type OutputSink } from "../hunt/index.ts";

/** What a replay produced. */
export interface ReplayResult {
  fold: HuntFold;
  /** Log messages folded. */
  events: number;
  /** Rank messages and rejections the fold produced. */
  ranks: number;
  rejections: number;
  /** Wall time, ms. */
  ms: number;
}

/** Folds the hunt's log from seq 1 up to `untilSeq` (default: its end when reading starts). */
export async function replayHunt(
  nc: NatsConnection,
  huntId: string,
  options: {
    untilSeq?: number;
    /** The server's partition count (0: none); unset, the log looks up where the hunt is stored. */
    partitions?: number;
    indexKind?: RankIndexKind;
    onProgress?: (events: number, seq: number) => void;
  } = {},
): Promise<ReplayResult> {
  const started = performance.now();
  const log = new EventLog(jetstream(nc), await jetstreamManager(nc), options.partitions);
  const fold = new HuntFold(huntId, createRankIndex(options.indexKind ?? "auto"));
  let ranks = 0;
  let rejections = 0;
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
  };
  let events = 0;
  let lastReport = started;
  for await (const batch of log.readBatches(huntId, 1, { untilSeq: options.untilSeq })) {
    fold.applyBatch(batch, sink);
    events += batch.length;
    const now = performance.now();
    if (options.onProgress && now - lastReport > 250) {
      lastReport = now;
      options.onProgress(events, fold.seq);
    }
  }
  options.onProgress?.(events, fold.seq);
  return { fold, events, ranks, rejections, ms: performance.now() - started };
}
