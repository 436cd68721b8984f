import type { OutputPublisher } from "../../streams/index.ts";
import { type CheckpointSigner, checkpointMessage, type HuntFold, type OutputSink } from "../hunt/index.ts";
import type { EngineMetrics } from "./metrics.ts";

/** What the sink needs to know of the hunt being folded. */
export interface OutputTarget {
  fold: HuntFold;
  /**
   * The last output already stored (found on activation): the input seq, and its index among that
   * input's outputs. Outputs up to it are not published again.
   */
  publishAfter: number;
  publishAfterN: number;
  /** The fold's `topVersion` last published on `hunt.<id>.top`. */
  topPublished: number;
}

/** Publishes the outputs of one hunt at a time: set `target` before folding its batch. */
export class HuntOutputs implements OutputSink {
  target!: OutputTarget;

  constructor(
    private readonly publisher: OutputPublisher,
    private readonly metrics: EngineMetrics | undefined,
    /** Signs each checkpoint, when the engine has a signing key. */
    private readonly signer: CheckpointSigner | undefined,
  ) {}

  /** Whether output `n` of input `seq` was stored before the hunt was activated. */
  private stored(seq: number, n: number): boolean {
    const t = this.target;
    return seq < t.publishAfter || (seq === t.publishAfter && n <= t.publishAfterN);
  }

  // Properties typed by OutputSink rather than methods, so the parameters take their types from there.
  readonly rank: OutputSink["rank"] = (seq, playerId, score, rank, previousRank, players) => {
    if (seq <= this.target.publishAfter) return;
    this.publisher.rankChange(this.target.fold.huntId, seq, playerId, score, rank, previousRank, players);
  };

  readonly rejected: OutputSink["rejected"] = (seq, eventId, type, code, message) => {
    if (seq <= this.target.publishAfter) return;
    this.metrics?.rejected.inc({ code });
    this.publisher.rejected(this.target.fold.huntId, seq, 0, { seq, eventId, type, code, message });
  };

  readonly checkpoint: OutputSink["checkpoint"] = (seq, events, stateHash, prev, chain, n) => {
    if (this.stored(seq, n)) return;
    const message = checkpointMessage({ seq, events, stateHash, prev, chain }, this.signer);
    this.publisher.checkpoint(this.target.fold.huntId, seq, n, message);
  };

  /**
   * Publishes `hunt.<id>.top` if the public top changed since the last time (while the standings are
   * frozen, the top at the freeze; its `seq` is still the last input handled, so it never goes back).
   */
  top(target: OutputTarget, n: number): void {
    const fold = target.fold;
    if (fold.topVersion === target.topPublished) return;
    target.topPublished = fold.topVersion;
    this.publisher.topRaw(fold.huntId, JSON.stringify({ seq: fold.seq, entries: fold.publicBoard.top(n) }));
  }
}
