// Carries a hunt's outputs to NATS: its rank changes and rejections as the fold emits them (skipping
// those already stored before an activation), and its coalesced top-N.
import type { RejectionCode } from "../../schemas/index.ts";
import type { OutputPublisher } from "../../streams/index.ts";
import type { HuntFold, OutputSink } from "../hunt/index.ts";
import type { EngineMetrics } from "./metrics.ts";

/** What the sink needs to know of the hunt being folded. */
export interface OutputTarget {
  fold: HuntFold;
  /** Outputs of inputs up to this seq are already stored (found on activation); not published again. */
  publishAfter: number;
  /** The fold's `topVersion` last published on `hunt.<id>.top`. */
  topPublished: number;
}

/** Publishes the outputs of one hunt at a time: set `target` before folding its batch. */
export class HuntOutputs implements OutputSink {
  target!: OutputTarget;

  constructor(
    private readonly publisher: OutputPublisher,
    private readonly metrics: EngineMetrics | undefined,
  ) {}

  rank(
    seq: number,
    playerId: string,
    score: number,
    rank: number,
    previousRank: number,
    players: number,
  ): void {
    if (seq <= this.target.publishAfter) return;
    const json = `{"seq":${seq},"playerId":${JSON.stringify(playerId)},"score":${score},"rank":${rank},"previousRank":${previousRank},"players":${players}}`;
    this.publisher.rankRaw(this.target.fold.huntId, seq, 0, json);
  }

  rejected(
    seq: number,
    eventId: string | null,
    type: string | null,
    code: RejectionCode,
    message: string,
  ): void {
    if (seq <= this.target.publishAfter) return;
    this.metrics?.rejected.inc({ code });
    this.publisher.rejected(this.target.fold.huntId, seq, 0, { seq, eventId, type, code, message });
  }

  /** Publishes `hunt.<id>.top` if the top changed since the last time. */
  top(target: OutputTarget, n: number): void {
    const fold = target.fold;
    if (fold.topVersion === target.topPublished) return;
    target.topPublished = fold.topVersion;
    this.publisher.topRaw(fold.huntId, JSON.stringify({ seq: fold.seq, entries: fold.index.top(n) }));
  }
}
