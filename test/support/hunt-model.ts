// A deliberately simple reference model of the hunt rules (schemas/CONTRACT.md): plain objects, and ranks by
// sorting everybody after every change. Property tests compare the engine's fold with it.
import { createHash } from "node:crypto";

/** An input for the model: a well-formed event, or a message known to be invalid. */
export type ModelInput =
  | { kind: "event"; event: { id: string; type: string; data?: Record<string, unknown> } }
  | { kind: "invalid"; eventId: string | null; type: string | null };

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
  | { kind: "rejected"; seq: number; eventId: string | null; type: string | null; code: string };

interface ModelPlayer {
  id: string;
  score: number;
  changedAt: number;
  joined: boolean;
}

export class HuntModel {
  status = "none";
  treasures = new Map<string, { points: number; sha: string | null }>();
  finds = new Map<string, number>();
  bonus: number[] = [];
  hintPenalty = 0;
  maxPlayers: number | null = null;
  players = new Map<string, ModelPlayer>();
  found = new Set<string>();
  hinted = new Set<string>();
  outputs: ModelOutput[] = [];

  /** Joined players sorted by the contract's order. */
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

  private reject(seq: number, input: ModelInput & { kind: "event" }, code: string): void {
    this.outputs.push({ kind: "rejected", seq, eventId: input.event.id, type: input.event.type, code });
  }

  private rankOutput(seq: number, p: ModelPlayer, previousRank: number): void {
    const rank = p.joined ? this.rankOf(p.id) : 0;
    const players = this.leaderboard().length;
    this.outputs.push({ kind: "rank", seq, playerId: p.id, score: p.score, rank, previousRank, players });
  }

  apply(seq: number, input: ModelInput): void {
    if (input.kind === "invalid") {
      this.outputs.push({
        kind: "rejected",
        seq,
        eventId: input.eventId,
        type: input.type,
        code: "invalid_event",
      });
      return;
    }
    const { type } = input.event;
    // biome-ignore lint/suspicious/noExplicitAny: the model reads event data loosely on purpose
    const d = (input.event.data ?? {}) as Record<string, any>;
    const allowed: Record<string, string[]> = {
      HuntCreated: ["none"],
      HuntStarted: ["created"],
      HuntPaused: ["running"],
      HuntResumed: ["paused"],
      HuntEnded: ["running", "paused"],
      PlayerJoined: ["created", "running"],
      PlayerLeft: ["created", "running", "paused", "ended"],
      TreasureFound: ["running"],
      HintTaken: ["running"],
      ScoreAdjusted: ["created", "running", "paused", "ended"],
    };
    if (!allowed[type]!.includes(this.status)) {
      this.reject(seq, input, "invalid_state");
      return;
    }
    const next: Record<string, string> = {
      HuntCreated: "created",
      HuntStarted: "running",
      HuntPaused: "paused",
      HuntResumed: "running",
      HuntEnded: "ended",
    };
    if (next[type]) {
      if (type === "HuntCreated") {
        for (const t of d.treasures)
          this.treasures.set(t.id, { points: t.points, sha: t.answerSha256?.toLowerCase() ?? null });
        this.bonus = d.rules?.firstFinderBonus ?? [];
        this.hintPenalty = d.rules?.hintPenalty ?? 0;
        this.maxPlayers = d.rules?.maxPlayers ?? null;
      }
      this.status = next[type]!;
      return;
    }
    const p = this.players.get(d.playerId);
    if (type === "PlayerJoined") {
      if (p?.joined) {
        this.reject(seq, input, "already_joined");
        return;
      }
      if (p) {
        this.reject(seq, input, "player_left");
        return;
      }
      if (this.maxPlayers !== null && this.leaderboard().length >= this.maxPlayers) {
        this.reject(seq, input, "hunt_full");
        return;
      }
      const np = { id: d.playerId, score: 0, changedAt: seq, joined: true };
      this.players.set(np.id, np);
      this.rankOutput(seq, np, 0);
      return;
    }
    if (!p?.joined) {
      this.reject(seq, input, "unknown_player");
      return;
    }
    const previousRank = this.rankOf(p.id);
    let delta = 0;
    if (type === "PlayerLeft") {
      p.joined = false;
      this.rankOutput(seq, p, previousRank);
      return;
    }
    if (type === "TreasureFound" || type === "HintTaken") {
      const t = this.treasures.get(d.treasureId);
      if (!t) {
        this.reject(seq, input, "unknown_treasure");
        return;
      }
      const key = `${p.id}\u0000${d.treasureId}`;
      if (this.found.has(key)) {
        this.reject(seq, input, "already_found");
        return;
      }
      if (type === "TreasureFound") {
        if (t.sha !== null) {
          const got =
            d.answer === undefined ? "" : createHash("sha256").update(d.answer, "utf8").digest("hex");
          if (got !== t.sha) {
            this.reject(seq, input, "wrong_answer");
            return;
          }
        }
        const k = this.finds.get(d.treasureId) ?? 0;
        this.finds.set(d.treasureId, k + 1);
        this.found.add(key);
        delta = t.points + (k < this.bonus.length ? this.bonus[k]! : 0);
      } else {
        if (this.hinted.has(key)) {
          this.reject(seq, input, "already_hinted");
          return;
        }
        this.hinted.add(key);
        delta = -this.hintPenalty;
      }
    }
    if (type === "ScoreAdjusted") delta = d.delta;
    if (delta === 0) return;
    p.score += delta;
    p.changedAt = seq;
    this.rankOutput(seq, p, previousRank);
  }
}
