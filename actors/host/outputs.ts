import { Buffer } from "node:buffer";
import type { RankIndex } from "../../native/index.ts";
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
  /**
   * The index among its input's outputs of the last one stored for input `publishAfter` (-1: none):
   * the later outputs of that input are still published.
   */
  publishAfterN: number;
  /** The fold's `topVersion` last published on `hunt.<id>.top`. */
  topPublished: number;
  /** The fold's `teamTopVersion` last published on `hunt.<id>.teams.top`. */
  teamTopPublished: number;
}

/** Publishes the outputs of one hunt at a time: set `target` before folding its batch. */
export class HuntOutputs implements OutputSink {
  target!: OutputTarget;
  /**
   * The input of the last player rank message: that input's team message is its second output (n = 1).
   * One for all hunts: an input seq names one message of the one events stream, so of one hunt.
   */
  private lastRankSeq = -1;

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
    this.lastRankSeq = seq;
    if (this.stored(seq, 0)) return;
    this.publisher.rankChange(this.target.fold.huntId, seq, playerId, score, rank, previousRank, players);
  };

  readonly teamRank: OutputSink["teamRank"] = (seq, teamId, score, rank, previousRank, teams) => {
    const n = this.lastRankSeq === seq ? 1 : 0;
    if (this.stored(seq, n)) return;
    this.publisher.teamRankChange(this.target.fold.huntId, seq, n, teamId, score, rank, previousRank, teams);
  };

  readonly rejected: OutputSink["rejected"] = (seq, eventId, type, code, message) => {
    if (this.stored(seq, 0)) return;
    this.metrics?.rejected.inc({ code });
    this.publisher.rejected(this.target.fold.huntId, seq, 0, { seq, eventId, type, code, message });
  };

  readonly checkpoint: OutputSink["checkpoint"] = (seq, events, stateHash, prev, chain, n) => {
    if (this.stored(seq, n)) return;
    const message = checkpointMessage({ seq, events, stateHash, prev, chain }, this.signer);
    this.publisher.checkpoint(this.target.fold.huntId, seq, n, message);
  };

  /** Whether a public top changed since it was last published. */
  topChanged(target: OutputTarget): boolean {
    const fold = target.fold;
    return (
      fold.topVersion !== target.topPublished ||
      (fold.publicTeamBoard !== null && fold.teamTopVersion !== target.teamTopPublished)
    );
  }

  /**
   * Publishes `hunt.<id>.top`, and a team hunt's `hunt.<id>.teams.top`, if the public tops changed
   * since the last time (while the standings are frozen, the tops at the freeze; their `seq` is still
   * the last input handled, so it never goes back).
   */
  top(target: OutputTarget, n: number): void {
    const fold = target.fold;
    // Marked published once sent: a publish that throws leaves the top changed, for the next round.
    if (fold.topVersion !== target.topPublished) {
      this.publisher.topRaw(fold.huntId, topMessage(fold.seq, fold.publicBoard, n, "playerId"));
      target.topPublished = fold.topVersion;
    }
    const teams = fold.publicTeamBoard;
    if (teams !== null && fold.teamTopVersion !== target.teamTopPublished) {
      this.publisher.teamsTopRaw(fold.huntId, topMessage(fold.seq, teams, n, "teamId"));
      target.teamTopPublished = fold.teamTopVersion;
    }
  }
}

/** Where top messages are written before each is copied out at its length; grown as needed. */
let topScratch = new Uint8Array(4096);
const MAX_KEPT_TOP_SCRATCH = 65_536;
const ascii = new TextEncoder();

/**
 * A top message, `{"seq":…,"entries":[{"rank":…,"<key>":…,"score":…},…]}`, as bytes: the board
 * writes its entries from the ids it holds, so a top costs no string nor object per entry (a
 * platform of thousands of small hunts publishes thousands of tops a second).
 */
export function topMessage(seq: number, board: RankIndex, n: number, key: string): Uint8Array {
  for (;;) {
    const at = ascii.encodeInto(`{"seq":${seq},"entries":`, topScratch).written;
    const end = board.writeTopJson(topScratch, at, n, key);
    if (end >= 0 && end < topScratch.length) {
      topScratch[end] = 0x7d; // }
      // Copied into a Buffer, a view of a shared slab: a buffer of its own costs about three times more.
      const message = Buffer.allocUnsafe(end + 1);
      message.set(topScratch.subarray(0, end + 1));
      // A top of very long ids grew the scratch: it is not kept at that size.
      if (topScratch.length > MAX_KEPT_TOP_SCRATCH) topScratch = new Uint8Array(4096);
      return message;
    }
    topScratch = new Uint8Array(topScratch.length * 2);
  }
}
