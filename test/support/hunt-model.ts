// A deliberately simple reference model of the hunt rules (schemas/CONTRACT.md): plain objects, and ranks by
// sorting everybody after every change. Property tests compare the engine's fold with it. It covers version 1
// and of version 2 the time rules, treasure conditions, disqualification, finalisation, teams, reviews
// and the standings freeze; a log that uses no version 2 event or field gets exactly the version 1 results.
import { createHash } from "node:crypto";

/** The JetStream time (ms) of an input that does not give its own: one second per sequence number. */
export function defaultTime(seq: number): number {
  return 1_700_000_000_000 + seq * 1000;
}

/** An input for the model: a well-formed event, or a message known to be invalid; `time` is its JetStream time in ms. */
export type ModelInput =
  | { kind: "event"; event: { id: string; type: string; data?: Record<string, unknown> }; time?: number }
  | { kind: "invalid"; eventId: string | null; type: string | null; time?: number };

/** What the model expects the fold to output for one input. */
export type ModelOutput =
  | {
      kind: "rank";
      seq: number;
      playerId: string;
      score: number;
      rank: number;
      previousRank: number;
      players: number;
    }
  | {
      kind: "teamRank";
      seq: number;
      teamId: string;
      score: number;
      rank: number;
      previousRank: number;
      teams: number;
    }
  | { kind: "rejected"; seq: number; eventId: string | null; type: string | null; code: string };

interface ModelPlayer {
  id: string;
  score: number;
  changedAt: number;
  /** On the player board now: joined, and neither left nor disqualified. */
  joined: boolean;
  left: boolean;
  disqualified: boolean;
  /** The team joined, in a team hunt. */
  team?: string;
}

/** A team of a team hunt: it never leaves the team board. */
interface ModelTeam {
  id: string;
  score: number;
  changedAt: number;
  /** Everyone who ever joined it. */
  members: number;
}

/** A treasure as HuntCreated defines it; the version 2 conditions are null when absent. */
export interface ModelTreasure {
  points: number;
  sha: string | null;
  requires: string[];
  opensAfterMs: number | null;
  closesAfterMs: number | null;
  decay: { everyMs: number; step: number; min: number } | null;
  location: { lat: number; lon: number; radiusM: number } | null;
  review: boolean;
}

/** A submission: who made it, for what, what an approval gives by default, and where it stands. */
interface ModelSubmission {
  playerId: string;
  treasureId: string;
  points: number;
  state: "pending" | "approved" | "rejected" | "closed";
}

/** One row of a board as the queries answer it. */
export interface ModelEntry {
  rank: number;
  playerId: string;
  score: number;
}

const EARTH_RADIUS_M = 6_371_008.8;

/** The contract's equirectangular distance in metres between two points given in degrees. */
export function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) * rad) / 2);
  const y = (b.lat - a.lat) * rad;
  return EARTH_RADIUS_M * Math.sqrt(x * x + y * y);
}

/** A treasure's points at running time `rt`, after its decay. */
export function decayedPoints(t: ModelTreasure, rt: number): number {
  if (t.decay === null || t.points < t.decay.min) return t.points;
  return Math.max(t.decay.min, t.points - t.decay.step * Math.floor(rt / t.decay.everyMs));
}

/** True when every `requires` names another treasure of the hunt and they form no cycle. */
function requiresValid(treasures: { id: string; requires?: string[] }[]): boolean {
  const ids = new Set(treasures.map((t) => t.id));
  for (const t of treasures) {
    for (const r of t.requires ?? []) if (r === t.id || !ids.has(r)) return false;
  }
  // Peel off treasures whose requirements are all peeled; whatever is left lies on a cycle.
  const peeled = new Set<string>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const t of treasures) {
      if (!peeled.has(t.id) && (t.requires ?? []).every((r) => peeled.has(r))) {
        peeled.add(t.id);
        progress = true;
      }
    }
  }
  return peeled.size === treasures.length;
}

const ALLOWED: Record<string, string[]> = {
  HuntCreated: ["none"],
  HuntStarted: ["created"],
  HuntPaused: ["running"],
  HuntResumed: ["paused"],
  HuntEnded: ["running", "paused"],
  HuntFinalized: ["ended"],
  PlayerJoined: ["created", "running"],
  TeamCreated: ["created", "running"],
  PlayerLeft: ["created", "running", "paused", "ended"],
  PlayerDisqualified: ["created", "running", "paused", "ended"],
  TreasureFound: ["running"],
  HintTaken: ["running"],
  ScoreAdjusted: ["created", "running", "paused", "ended"],
  SubmissionMade: ["running"],
  SubmissionReviewed: ["running", "paused", "ended"],
  StandingsFrozen: ["running", "paused"],
  // Whether the standings are frozen is checked next, with the same code.
  StandingsRevealed: ["created", "running", "paused", "ended"],
};

const NEXT_STATUS: Record<string, string> = {
  HuntCreated: "created",
  HuntStarted: "running",
  HuntPaused: "paused",
  HuntResumed: "running",
  HuntEnded: "ended",
  HuntFinalized: "finalized",
};

export class HuntModel {
  status = "none";
  treasures = new Map<string, ModelTreasure>();
  finds = new Map<string, number>();
  bonus: number[] = [];
  hintPenalty = 0;
  maxPlayers: number | null = null;
  durationMs: number | null = null;
  players = new Map<string, ModelPlayer>();
  /** null in a solo hunt; in a team hunt, the most members a team may ever have (null: any). */
  teamRule: { maxSize: number | null } | null = null;
  teams = new Map<string, ModelTeam>();
  /** "competitor\u0000treasure" → the player who found it (or took the hint). */
  found = new Map<string, string>();
  hinted = new Map<string, string>();
  outputs: ModelOutput[] = [];
  /** Running time of the spans closed so far, ms. */
  closedRunningMs = 0;
  /** Time of the HuntStarted or HuntResumed that opened the current running span. */
  spanStart = 0;
  submissions = new Map<string, ModelSubmission>();
  /** The public standings while frozen: the freeze's seq, the board then, and every known player's score then. */
  frozen: { seq: number; board: ModelEntry[]; scores: Map<string, number>; teams: number } | null = null;

  /** The live board as the queries answer it. */
  board(): ModelEntry[] {
    return this.leaderboard().map((p, i) => ({ rank: i + 1, playerId: p.id, score: p.score }));
  }

  /** How many teams the public sees: those of the freeze while frozen (teams never leave their board). */
  publicTeams(): number {
    return this.frozen === null ? this.teams.size : this.frozen.teams;
  }

  /** The public board: the board at the freeze while frozen, the live one otherwise. */
  publicBoard(): ModelEntry[] {
    return this.frozen === null ? this.board() : this.frozen.board;
  }

  /** A player's public rank (0: not ranked) and score (0: unknown). */
  publicRank(id: string): { rank: number; score: number } {
    if (this.frozen === null) return { rank: this.rankOf(id), score: this.players.get(id)?.score ?? 0 };
    const entry = this.frozen.board.find((e) => e.playerId === id);
    return { rank: entry?.rank ?? 0, score: this.frozen.scores.get(id) ?? 0 };
  }

  /** Players on the board, sorted by the contract's order. */
  leaderboard(): ModelPlayer[] {
    const joined = [...this.players.values()].filter((p) => p.joined);
    joined.sort((a, b) => {
      if (a.score !== b.score) return b.score - a.score;
      if (a.changedAt !== b.changedAt) return a.changedAt - b.changedAt;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    return joined;
  }

  rankOf(id: string): number {
    return this.leaderboard().findIndex((p) => p.id === id) + 1;
  }

  /** Every team, sorted by the contract's order. */
  teamBoard(): ModelTeam[] {
    return [...this.teams.values()].sort((a, b) => {
      if (a.score !== b.score) return b.score - a.score;
      if (a.changedAt !== b.changedAt) return a.changedAt - b.changedAt;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
  }

  teamRankOf(id: string): number {
    return this.teamBoard().findIndex((t) => t.id === id) + 1;
  }

  /** Who competes for a player: the player, or their team in a team hunt. */
  private competitor(p: ModelPlayer): string {
    return this.teamRule === null ? `player ${p.id}` : `team ${p.team}`;
  }

  /** Changes a team's score; a zero change does nothing, any other publishes the team's message. */
  private moveTeam(seq: number, team: ModelTeam, delta: number): void {
    if (delta === 0) return;
    const previousRank = this.teamRankOf(team.id);
    team.score += delta;
    team.changedAt = seq;
    this.teamOutput(seq, team, previousRank);
  }

  private teamOutput(seq: number, t: ModelTeam, previousRank: number): void {
    this.outputs.push({
      kind: "teamRank",
      seq,
      teamId: t.id,
      score: t.score,
      rank: this.teamRankOf(t.id),
      previousRank,
      teams: this.teams.size,
    });
  }

  /** The hunt's running time at an event of the given time. */
  runningTime(time: number): number {
    const open = this.status === "running" ? Math.max(0, time - this.spanStart) : 0;
    return this.closedRunningMs + open;
  }

  private rankOutput(seq: number, p: ModelPlayer, previousRank: number): void {
    const rank = p.joined ? this.rankOf(p.id) : 0;
    const players = this.leaderboard().length;
    this.outputs.push({ kind: "rank", seq, playerId: p.id, score: p.score, rank, previousRank, players });
  }

  /** The time of the last input applied or rejected: `state`'s running time is read there. */
  lastTime = 0;

  /** The running time `state` reports: at the last input. */
  get runningMs(): number {
    return this.runningTime(this.lastTime);
  }

  apply(seq: number, input: ModelInput): void {
    this.lastTime = input.time ?? defaultTime(seq);
    const code = this.decide(seq, input, this.lastTime);
    if (code === null) return;
    this.outputs.push({
      kind: "rejected",
      seq,
      eventId: input.kind === "event" ? input.event.id : input.eventId,
      type: input.kind === "event" ? input.event.type : input.type,
      code,
    });
  }

  /** Applies one input; returns the rejection code, or null when it was applied. */
  private decide(seq: number, input: ModelInput, time: number): string | null {
    if (input.kind === "invalid") return "invalid_event";
    const { type } = input.event;
    // biome-ignore lint/suspicious/noExplicitAny: the model reads event data loosely on purpose
    const d = (input.event.data ?? {}) as Record<string, any>;
    // Schema checks come before everything: ScoreAdjusted names exactly one competitor.
    if (type === "ScoreAdjusted" && (d.playerId === undefined) === (d.teamId === undefined)) {
      return "invalid_event";
    }
    if (this.status === "finalized" && type !== "HuntCreated") return "finalized";
    if (!ALLOWED[type]!.includes(this.status)) return "invalid_state";
    if (NEXT_STATUS[type]) return this.lifecycle(type, d, time);
    if (type === "StandingsFrozen") {
      if (this.frozen !== null) return "invalid_state";
      const scores = new Map([...this.players.values()].map((p) => [p.id, p.score]));
      this.frozen = { seq, board: this.board(), scores, teams: this.teams.size };
      return null;
    }
    if (type === "StandingsRevealed") {
      if (this.frozen === null) return "invalid_state";
      this.frozen = null;
      return null;
    }
    if (type === "SubmissionReviewed") return this.review(seq, d);

    const rt = this.runningTime(time);
    const timed = type === "TreasureFound" || type === "HintTaken" || type === "SubmissionMade";
    if (timed && this.durationMs !== null && rt >= this.durationMs) return "time_up";
    if (type === "TeamCreated") {
      if (this.teamRule === null) return "not_team_hunt";
      if (this.teams.has(d.teamId)) return "team_exists";
      const team = { id: d.teamId, score: 0, changedAt: seq, members: 0 };
      this.teams.set(team.id, team);
      this.teamOutput(seq, team, 0);
      return null;
    }
    if (type === "ScoreAdjusted" && d.teamId !== undefined) {
      // A solo hunt has no teams: an adjustment of a team names an unknown one.
      const team = this.teams.get(d.teamId);
      if (!team) return "unknown_team";
      if (!Number.isSafeInteger(team.score + d.delta)) return "invalid_event";
      this.moveTeam(seq, team, d.delta);
      return null;
    }
    const p = this.players.get(d.playerId);
    if (type === "PlayerDisqualified") return this.disqualify(seq, p);
    if (p?.disqualified) return "disqualified";
    if (type === "PlayerJoined") {
      if (p?.joined) return "already_joined";
      if (p) return "player_left";
      const seats = [...this.players.values()].filter((q) => !q.left).length;
      if (this.maxPlayers !== null && seats >= this.maxPlayers) return "hunt_full";
      let team: ModelTeam | undefined;
      if (this.teamRule !== null) {
        team = d.teamId === undefined ? undefined : this.teams.get(d.teamId);
        if (!team) return "unknown_team";
        if (this.teamRule.maxSize !== null && team.members >= this.teamRule.maxSize) return "team_full";
        team.members++;
      }
      const np: ModelPlayer = {
        id: d.playerId,
        score: 0,
        changedAt: seq,
        joined: true,
        left: false,
        disqualified: false,
        team: team?.id,
      };
      this.players.set(np.id, np);
      this.rankOutput(seq, np, 0);
      return null;
    }
    if (!p?.joined) return "unknown_player";
    const previousRank = this.rankOf(p.id);
    if (type === "PlayerLeft") {
      p.joined = false;
      p.left = true;
      this.closeSubmissions(p.id);
      this.rankOutput(seq, p, previousRank);
      return null;
    }
    let delta = d.delta as number;
    let record = () => {};
    if (timed) {
      const t = this.treasures.get(d.treasureId);
      if (!t) return "unknown_treasure";
      if (type === "TreasureFound" && t.review) return "needs_review";
      if (type === "SubmissionMade") {
        if (!t.review) return "no_review";
        if (this.submissions.has(d.submissionId)) return "submission_exists";
      }
      const key = `${this.competitor(p)}\u0000${d.treasureId}`;
      if (this.found.has(key)) return "already_found";
      if (type === "SubmissionMade") {
        const problem = this.unfindable(this.competitor(p), t, rt, d, false);
        if (problem) return problem;
        for (const sub of this.submissions.values()) {
          const by = this.players.get(sub.playerId)!;
          if (
            sub.state === "pending" &&
            this.competitor(by) === this.competitor(p) &&
            sub.treasureId === d.treasureId
          ) {
            return "already_pending";
          }
        }
        this.submissions.set(d.submissionId, {
          playerId: p.id,
          treasureId: d.treasureId,
          points: decayedPoints(t, rt),
          state: "pending",
        });
        return null;
      }
      if (type === "TreasureFound") {
        const problem = this.unfindable(this.competitor(p), t, rt, d, true);
        if (problem) return problem;
        const k = this.finds.get(d.treasureId) ?? 0;
        delta = decayedPoints(t, rt) + (k < this.bonus.length ? this.bonus[k]! : 0);
        record = () => {
          this.finds.set(d.treasureId, k + 1);
          this.found.set(key, p.id);
        };
      } else {
        if (this.hinted.has(key)) return "already_hinted";
        delta = -this.hintPenalty;
        record = () => this.hinted.set(key, p.id);
      }
    }
    const team = p.team === undefined ? undefined : this.teams.get(p.team);
    if (!Number.isSafeInteger(p.score + delta)) return "invalid_event";
    if (team && !Number.isSafeInteger(team.score + delta)) return "invalid_event";
    record();
    if (delta === 0) return null;
    p.score += delta;
    p.changedAt = seq;
    this.rankOutput(seq, p, previousRank);
    if (team) this.moveTeam(seq, team, delta);
    return null;
  }

  /** HuntCreated and the status changes; running spans open and close with them. */
  // biome-ignore lint/suspicious/noExplicitAny: the model reads event data loosely on purpose
  private lifecycle(type: string, d: Record<string, any>, time: number): string | null {
    if (type === "HuntCreated") {
      if (!requiresValid(d.treasures)) return "invalid_event";
      for (const t of d.treasures) {
        this.treasures.set(t.id, {
          points: t.points,
          sha: t.answerSha256?.toLowerCase() ?? null,
          requires: t.requires ?? [],
          opensAfterMs: t.opensAfterMs ?? null,
          closesAfterMs: t.closesAfterMs ?? null,
          decay: t.decay ?? null,
          location: t.location ?? null,
          review: t.review === true,
        });
      }
      this.bonus = d.rules?.firstFinderBonus ?? [];
      this.hintPenalty = d.rules?.hintPenalty ?? 0;
      this.maxPlayers = d.rules?.maxPlayers ?? null;
      this.durationMs = d.rules?.durationMs ?? null;
      this.teamRule = d.rules?.teams ? { maxSize: d.rules.teams.maxSize ?? null } : null;
    }
    if (type === "HuntStarted" || type === "HuntResumed") this.spanStart = time;
    if ((type === "HuntPaused" || type === "HuntEnded") && this.status === "running") {
      this.closedRunningMs += Math.max(0, time - this.spanStart);
    }
    this.status = NEXT_STATUS[type]!;
    return null;
  }

  /** The version 2 conditions of a find or a submission (the answer: finds only), after `already_found`, in the contract's order. */
  private unfindable(
    competitor: string,
    t: ModelTreasure,
    rt: number,
    // biome-ignore lint/suspicious/noExplicitAny: the model reads event data loosely on purpose
    d: Record<string, any>,
    withAnswer: boolean,
  ): string | null {
    if (t.opensAfterMs !== null && rt < t.opensAfterMs) return "not_open";
    if (t.closesAfterMs !== null && rt >= t.closesAfterMs) return "closed";
    if (!t.requires.every((r) => this.found.has(`${competitor}\u0000${r}`))) return "locked";
    if (
      t.location !== null &&
      (d.location === undefined || distanceM(t.location, d.location) > t.location.radiusM)
    ) {
      return "too_far";
    }
    if (withAnswer && t.sha !== null) {
      const got = d.answer === undefined ? "" : createHash("sha256").update(d.answer, "utf8").digest("hex");
      if (got !== t.sha) return "wrong_answer";
    }
    return null;
  }

  /** SubmissionReviewed after the status checks: an approval is a find at the review, without a bonus. */
  // biome-ignore lint/suspicious/noExplicitAny: the model reads event data loosely on purpose
  private review(seq: number, d: Record<string, any>): string | null {
    const sub = this.submissions.get(d.submissionId);
    if (!sub) return "unknown_submission";
    if (sub.state !== "pending") return "already_reviewed";
    if (!d.approved) {
      sub.state = "rejected";
      return null;
    }
    const p = this.players.get(sub.playerId)!;
    const delta: number = d.points ?? sub.points;
    const team = p.team === undefined ? undefined : this.teams.get(p.team);
    if (!Number.isSafeInteger(p.score + delta)) return "invalid_event";
    if (team && !Number.isSafeInteger(team.score + delta)) return "invalid_event";
    sub.state = "approved";
    this.found.set(`${this.competitor(p)}\u0000${sub.treasureId}`, p.id);
    this.finds.set(sub.treasureId, (this.finds.get(sub.treasureId) ?? 0) + 1);
    if (delta === 0) return null;
    const previousRank = this.rankOf(p.id);
    p.score += delta;
    p.changedAt = seq;
    this.rankOutput(seq, p, previousRank);
    if (team) this.moveTeam(seq, team, delta);
    return null;
  }

  /** A player who leaves or is disqualified leaves no pending submission. */
  private closeSubmissions(playerId: string): void {
    for (const sub of this.submissions.values()) {
      if (sub.playerId === playerId && sub.state === "pending") sub.state = "closed";
    }
  }

  /**
   * PlayerDisqualified after the status checks: off the board (with a rank message if on it), for good;
   * in a team hunt, out of the team's score, finds and hints too.
   */
  private disqualify(seq: number, p: ModelPlayer | undefined): string | null {
    if (!p) return "unknown_player";
    if (p.disqualified) return "disqualified";
    const team = p.team === undefined ? undefined : this.teams.get(p.team);
    if (team && !Number.isSafeInteger(team.score - p.score)) return "invalid_event";
    p.disqualified = true;
    this.closeSubmissions(p.id);
    if (p.joined) {
      const previousRank = this.rankOf(p.id);
      p.joined = false;
      this.rankOutput(seq, p, previousRank);
    }
    if (team) {
      for (const map of [this.found, this.hinted]) {
        for (const [key, by] of [...map]) if (by === p.id) map.delete(key);
      }
      this.moveTeam(seq, team, -p.score);
    }
    return null;
  }
}
