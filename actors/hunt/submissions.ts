// The hunt's submissions for treasures that need a review (schemas/CONTRACT.md, "Reviews"): every one
// ever made, in log order, and which of them are pending, per competitor and treasure.
import { NO_ENTRIES } from "./no-entries.ts";

/** A submission's state. */
export const SUBMISSION_PENDING = 1;
export const SUBMISSION_APPROVED = 2;
export const SUBMISSION_REJECTED = 3;
/** Closed unreviewed because its player left or was disqualified. */
export const SUBMISSION_CLOSED = 4;

/** Submissions numbered in log order (`sid`); per-submission fields are arrays indexed by sid. */
export class Submissions {
  /** sid → submission id. */
  readonly ids: string[] = [];
  /** Submission id → sid. */
  sids: Map<string, number> = NO_ENTRIES;
  /** sid → pid of the player who made it. */
  readonly pids: number[] = [];
  /** sid → treasure index. */
  readonly treasures: number[] = [];
  /** sid → the competitor-and-treasure key it counts under (as `found` is keyed). */
  readonly keys: number[] = [];
  /** sid → SUBMISSION_PENDING, _APPROVED, _REJECTED or _CLOSED. */
  readonly states: number[] = [];
  /** sid → the treasure's points decayed at the submission's running time (what an approval gives by default). */
  readonly points: number[] = [];
  /** Key → sid of the pending submission under it. */
  pending: Map<number, number> = NO_ENTRIES;
  /** pid → how many of their submissions are pending (absent: none), so leaving looks only when needed. */
  private pendingOf: Map<number, number> = NO_ENTRIES;

  get size(): number {
    return this.ids.length;
  }

  /** Records a submission in the given state; returns its sid. */
  add(id: string, pid: number, treasure: number, key: number, points: number, state = SUBMISSION_PENDING) {
    const sid = this.ids.length;
    if (sid === 0) {
      // The maps are made with the first submission: most hunts never review one.
      this.sids = new Map();
      this.pending = new Map();
      this.pendingOf = new Map();
    }
    this.ids.push(id);
    this.sids.set(id, sid);
    this.pids.push(pid);
    this.treasures.push(treasure);
    this.keys.push(key);
    this.points.push(points);
    this.states.push(state);
    if (state === SUBMISSION_PENDING) {
      this.pending.set(key, sid);
      this.pendingOf.set(pid, (this.pendingOf.get(pid) ?? 0) + 1);
    }
    return sid;
  }

  /** Ends a pending submission with its verdict (or closed). */
  close(sid: number, state: number): void {
    this.states[sid] = state;
    this.pending.delete(this.keys[sid]!);
    const pid = this.pids[sid]!;
    const left = this.pendingOf.get(pid)! - 1;
    if (left === 0) this.pendingOf.delete(pid);
    else this.pendingOf.set(pid, left);
  }

  /** Closes every pending submission of a player (who left or was disqualified). */
  closeAllOf(pid: number): void {
    if (!this.pendingOf.has(pid)) return;
    for (const sid of [...this.pending.values()]) {
      if (this.pids[sid] === pid) this.close(sid, SUBMISSION_CLOSED);
    }
  }
}

/** The submissions of a hunt that has had none: one shared, empty object that refuses to record any. */
class NoSubmissions extends Submissions {
  override add(): number {
    throw new Error("these submissions are the shared empty ones: make a Submissions of your own first");
  }
}

/** The shared empty submissions: hold them until the first submission, then a `new Submissions()`. */
export const NO_SUBMISSIONS: Submissions = new NoSubmissions();
