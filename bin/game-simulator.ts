// A simulated game server for `cairn demo` and the benchmarks: publishes a hunt's events through NATS
// like any outside publisher, and measures event → rank-message latency by subscribing to the rank
// stream. It must run in a different process from the engine. It lives in bin/ beside the demo that
// runs it; bench/ may import it, as it imports flags.ts and engine-process.ts.
import { createHash } from "node:crypto";
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection, type Subscription } from "@nats-io/transport-node";

/** What to simulate. */
export interface GamePlan {
  huntId: string;
  /** Players who join. */
  players: number;
  /** Players who then play (the first `activePlayers` to join). */
  activePlayers: number;
  treasures: number;
  /** Events per second during play. */
  rate: number;
  /** Seconds of play. */
  durationSec: number;
  /** Share of finds among play events; the rest are adjustments, hints and a few invalid events. */
  findShare?: number;
  /** Share of hints. */
  hintShare?: number;
  /** Share of invalid events (bad JSON, unknown types). */
  invalidShare?: number;
  /** Share of wrong answers among finds of treasures that need an answer (default 0.2). */
  wrongAnswerShare?: number;
  /** PRNG seed (the load is random; the engine's fold is not). */
  seed?: number;
  /** A team hunt of this many teams (players join them in turn); absent or 0: a solo hunt. */
  teams?: number;
  /**
   * The rules organisers use: a clue chain, a treasure open only for a window, decaying points,
   * treasures proven by a reviewed submission (approved or not by a simulated organiser), one
   * disqualification, the standings frozen for the last seconds, and the hunt ending on the clock
   * (`rules.durationMs`: play time plus `graceSec`). The hunt starts after the joins.
   */
  organiser?: { graceSec: number };
}

/** Figures of one second (or any window) of play. */
export interface PlayWindow {
  sent: number;
  rankMessages: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Longest gap between two publish ticks (scheduled every 5 ms), ms: the publisher's own delay. */
  maxTickGapMs: number;
  /** Time spent inside publish loops, ms. */
  publishMs: number;
}

/** Finds and score adjustments only, every one accepted: each play event yields exactly one rank message. */
export const FINDS_AND_ADJUSTMENTS: Pick<
  GamePlan,
  "findShare" | "hintShare" | "invalidShare" | "wrongAnswerShare"
> = { findShare: 0.5, hintShare: 0, invalidShare: 0, wrongAnswerShare: 0 };

const ANSWER = "golden key";
const ANSWER_SHA = createHash("sha256").update(ANSWER, "utf8").digest("hex");

/** Who reviews the simulated submissions and takes the organisers' other actions. */
const ORGANISER = "organiser-1";

/** A small, fast seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function histogramMs(h: RecordableHistogram, p: number): number {
  return h.count === 0 ? 0 : h.percentile(p) / 1e6;
}

/** Publishes a hunt's events at a fixed rate and measures the rank messages that come back. */
export class GameSimulator {
  private readonly random: () => number;
  /** Per (competitor, treasure): found, hinted, a submission pending. A competitor is a team in a team hunt. */
  private readonly found: Uint8Array;
  private readonly hinted: Uint8Array;
  private readonly pending: Uint8Array;
  /** Submissions waiting for the simulated organiser's review: [submissionId, player, slot]. */
  private readonly reviewQueue: [string, number, number][] = [];
  /** The player disqualified halfway through play, -1 before. */
  private disqualified = -1;
  /** Organiser mode: the standings are frozen for this many last seconds of play. */
  static readonly FREEZE_LAST_SEC = 3;
  /** Organiser mode: whether the next play event freezes the standings, and whether they were frozen. */
  private freezeDue = false;
  frozen = false;
  /** Send time (ns, monotonic) and player of play event k, whose stream seq is `baseSeq + k`. */
  private sendTimes = new Float64Array(0);
  private sendPlayer = new Int32Array(0);
  private baseSeq = 0;
  private sent = 0;
  private sub: Subscription | undefined;
  /** Latency of every rank message of the play phase, ns. */
  readonly total: RecordableHistogram = createHistogram();
  private window: RecordableHistogram = createHistogram();
  private windowSent = 0;
  private windowRanks = 0;
  private windowMaxTickGap = 0;
  private windowPublishMs = 0;
  /** Events per second now (setRate changes it during a run). */
  private rate = 0;
  /** `sent` and time (ms) when the rate last changed: the schedule is piecewise linear. */
  private rateBaseSent = 0;
  private rateBaseMs = 0;
  private running = false;
  /** Highest play-event index k whose rank message has arrived, -1 before any. */
  lastReceivedK = -1;
  /** Rank messages whose player differs from the event at that seq (the seq mapping broke). */
  mismatches = 0;
  rankMessages = 0;
  /** The last seq of the log once the hunt has ended. */
  lastSeq = 0;

  constructor(
    private readonly nc: NatsConnection,
    readonly plan: GamePlan,
  ) {
    this.random = prng(plan.seed ?? 42);
    const competitors = plan.teams ? plan.teams : plan.activePlayers;
    this.found = new Uint8Array(competitors * plan.treasures);
    this.hinted = new Uint8Array(competitors * plan.treasures);
    this.pending = new Uint8Array(competitors * plan.treasures);
  }

  /** The competitor of player `p`: their team in a team hunt (players join teams in turn). */
  private competitor(p: number): number {
    return this.plan.teams ? p % this.plan.teams : p;
  }

  /** Whether treasure `t` is proven by a reviewed submission (organiser mode: the last two). */
  private reviewed(t: number): boolean {
    return this.plan.organiser !== undefined && this.plan.treasures >= 6 && t >= this.plan.treasures - 2;
  }

  private subject(): string {
    return `hunt.${this.plan.huntId}.events`;
  }

  /** A core publish of one event with its Nats-Msg-Id, as every publisher must send it. */
  private publishEvent(subject: string, body: string, id: string): void {
    const h = headers();
    h.set("Nats-Msg-Id", id);
    this.nc.publish(subject, body, { headers: h });
  }

  private event(type: string, id: string, data?: unknown): string {
    return data === undefined
      ? `{"specversion":"1.0","id":"${id}","source":"cairn-loadgen","type":"${type}"}`
      : `{"specversion":"1.0","id":"${id}","source":"cairn-loadgen","type":"${type}","data":${JSON.stringify(data)}}`;
  }

  /** The HuntCreated event of the plan. */
  private huntCreated(): string {
    const { huntId, treasures, teams, organiser, players, durationSec } = this.plan;
    const defs = [];
    for (let t = 0; t < treasures; t++) {
      const def: Record<string, unknown> = { id: `t-${t}`, points: 10 + (t % 7) * 5 };
      if (t % 5 === 4) def.answerSha256 = ANSWER_SHA;
      if (organiser && treasures >= 6) {
        // A clue chain t-0 → t-1 → t-2, a treasure open for a window of play, decaying points.
        if (t === 1 || t === 2) def.requires = [`t-${t - 1}`];
        if (t === 3) Object.assign(def, { opensAfterMs: 1_000, closesAfterMs: durationSec * 1000 });
        if (t % 7 === 6) def.decay = { everyMs: 1_000, step: 1, min: 5 };
        if (this.reviewed(t)) def.review = true;
      }
      defs.push(def);
    }
    const rules: Record<string, unknown> = { firstFinderBonus: [50, 25, 10], hintPenalty: 5 };
    if (teams) rules.teams = { maxSize: Math.ceil(players / teams) };
    if (organiser) rules.durationMs = (durationSec + organiser.graceSec) * 1000;
    return this.event("HuntCreated", `${huntId}-created`, {
      title: `Hunt ${huntId}`,
      treasures: defs,
      rules,
    });
  }

  /** Creates and starts the hunt, and joins every player; `progress` sees the joins. */
  async setup(progress?: (joined: number) => void): Promise<void> {
    const { huntId, players } = this.plan;
    const teams = this.plan.teams ?? 0;
    const js = jetstream(this.nc);
    const created = await js.publish(this.subject(), this.huntCreated(), { msgID: `${huntId}-created` });
    let published = 0;
    const start = async () => {
      await this.nc.flush();
      await js.publish(this.subject(), this.event("HuntStarted", `${huntId}-started`), {
        msgID: `${huntId}-started`,
      });
      published++;
    };
    // An organiser's hunt runs on the clock: it starts once everyone is in.
    if (!this.plan.organiser) await start();
    // Teams and joins go out as core publishes in chunks, each chunk confirmed by a flush: fast, and a
    // load generator needs no per-message ack.
    for (let team = 0; team < teams; team++) {
      const id = `${huntId}-team-${team}`;
      this.publishEvent(this.subject(), this.event("TeamCreated", id, { teamId: `team-${team}` }), id);
      published++;
      if (team % 5000 === 4999) await this.nc.flush();
    }
    for (let p = 0; p < players; p++) {
      const id = `${huntId}-join-${p}`;
      this.publishEvent(this.subject(), this.event("PlayerJoined", id, this.joinData(p)), id);
      published++;
      if (p % 5000 === 4999) {
        await this.nc.flush();
        progress?.(p + 1);
      }
    }
    progress?.(players);
    if (this.plan.organiser) await start();
    await this.nc.flush();
    // A flush means the server has read the joins, not that the stream has stored them all; play
    // maps seqs from the stream's last one, so wait until every join is in.
    const jsm = await jetstreamManager(this.nc);
    const want = created.seq + published;
    const deadline = performance.now() + 60_000;
    while ((await jsm.streams.info("HUNT_EVENTS")).state.last_seq < want) {
      if (performance.now() > deadline)
        throw new Error(`the stream stored fewer than ${players} joins within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Subscribes to the rank stream; call before `run`. */
  listen(): void {
    const seqRe = /"seq":(\d+),"playerId":"p-(\d+)"/;
    this.sub = this.nc.subscribe(`hunt.${this.plan.huntId}.ranks`, {
      callback: (_err, msg) => {
        const now = performance.now() * 1e6;
        const m = seqRe.exec(msg.string());
        if (!m) return;
        const k = Number(m[1]) - this.baseSeq;
        if (k < 0 || k >= this.sent) return;
        if (k > this.lastReceivedK) this.lastReceivedK = k;
        if (this.sendPlayer[k] !== Number(m[2])) {
          this.mismatches++;
          return;
        }
        const ns = Math.max(1, Math.round(now - this.sendTimes[k]!));
        this.total.record(ns);
        this.window.record(ns);
        this.rankMessages++;
        this.windowRanks++;
      },
    });
  }

  /** The figures since the previous call. */
  takeWindow(): PlayWindow {
    const w: PlayWindow = {
      sent: this.windowSent,
      rankMessages: this.windowRanks,
      p50Ms: histogramMs(this.window, 50),
      p99Ms: histogramMs(this.window, 99),
      maxMs: this.window.count === 0 ? 0 : this.window.max / 1e6,
      maxTickGapMs: this.windowMaxTickGap,
      publishMs: this.windowPublishMs,
    };
    this.window = createHistogram();
    this.windowSent = 0;
    this.windowRanks = 0;
    this.windowMaxTickGap = 0;
    this.windowPublishMs = 0;
    return w;
  }

  /** The data of player `p`'s PlayerJoined: players join the teams in turn. */
  private joinData(p: number): Record<string, unknown> {
    const data: Record<string, unknown> = { playerId: `p-${p}`, name: `Player ${p}` };
    if (this.plan.teams) data.teamId = `team-${this.competitor(p)}`;
    return data;
  }

  /**
   * The event id (and Nats-Msg-Id) of play event k of the current run or offline batch. Ids go on
   * from the last run's, so that a second run (a ramp after the fixed load) or a run after offline
   * plays is not taken by JetStream for a retry of the first and dropped as a duplicate.
   */
  private playId(k: number): string {
    return `${this.plan.huntId}-${this.idsBefore + k}`;
  }
  /** Play ids used by the runs and offline batches before the current one. */
  private idsBefore = 0;

  /**
   * Play event k: its body, and the player whose rank message it gives (-1 when it gives none: an
   * invalid event, a rejected review, a team's own adjustment).
   */
  private playEvent(k: number): { body: string; player: number } {
    const { activePlayers, treasures, organiser, teams } = this.plan;
    const r = this.random();
    let p = Math.floor(this.random() * activePlayers);
    const id = this.playId(k);
    if (organiser) {
      if (this.disqualified < 0 && k > 0 && k === Math.floor((this.plan.rate * this.plan.durationSec) / 2)) {
        this.disqualified = p;
        return {
          body: this.event("PlayerDisqualified", id, {
            playerId: `p-${p}`,
            reason: "shared the answers",
            by: ORGANISER,
          }),
          player: p,
        };
      }
      if (this.freezeDue && !this.frozen) {
        this.frozen = true;
        return { body: this.event("StandingsFrozen", id, { by: ORGANISER }), player: -1 };
      }
      if (p === this.disqualified) p = (p + 1) % activePlayers;
      const review = this.organiserPlay(k, r, p);
      if (review) return review;
    }
    const findShare = this.plan.findShare ?? 0.55;
    const hintShare = this.plan.hintShare ?? 0.08;
    const invalidShare = this.plan.invalidShare ?? 0.005;
    if (r < invalidShare) {
      return {
        body: r < invalidShare / 2 ? `{"not json":` : this.event("Teleported", id, { playerId: `p-${p}` }),
        player: -1,
      };
    }
    if (r < invalidShare + findShare + hintShare) {
      const t = Math.floor(this.random() * treasures);
      const slot = this.competitor(p) * treasures + t;
      if (!this.found[slot] && !this.reviewed(t)) {
        if (r >= invalidShare + findShare) {
          if (!this.hinted[slot]) {
            this.hinted[slot] = 1;
            return {
              body: this.event("HintTaken", id, { playerId: `p-${p}`, treasureId: `t-${t}` }),
              player: p,
            };
          }
        } else {
          const needsAnswer = t % 5 === 4;
          const wrong = needsAnswer && this.random() < (this.plan.wrongAnswerShare ?? 0.2);
          if (!wrong) this.found[slot] = 1;
          const data = needsAnswer
            ? { playerId: `p-${p}`, treasureId: `t-${t}`, answer: wrong ? "brass key" : ANSWER }
            : { playerId: `p-${p}`, treasureId: `t-${t}` };
          return { body: this.event("TreasureFound", id, data), player: p };
        }
      }
    }
    const delta = Math.floor(this.random() * 21) - 8 || 1;
    if (organiser && teams && r > 0.99) {
      return {
        body: this.event("ScoreAdjusted", id, {
          teamId: `team-${this.competitor(p)}`,
          delta,
          reason: "team bonus round",
          by: ORGANISER,
        }),
        player: -1,
      };
    }
    return {
      body: this.event("ScoreAdjusted", id, { playerId: `p-${p}`, delta, reason: "bonus round" }),
      player: p,
    };
  }

  /**
   * Organiser mode: now and then a submission for a reviewed treasure, and the organiser's review of
   * the oldest one waiting (four in five approved); otherwise undefined.
   */
  private organiserPlay(k: number, r: number, p: number): { body: string; player: number } | undefined {
    const { huntId, treasures } = this.plan;
    const id = `${huntId}-${k}`;
    if (r > 0.985 && this.reviewQueue.length > 0) {
      const [submissionId, player, slot] = this.reviewQueue.shift()!;
      this.pending[slot] = 0;
      const approved = player !== this.disqualified && this.random() < 0.8;
      if (approved) this.found[slot] = 1;
      const data: Record<string, unknown> = { submissionId, approved, reviewer: ORGANISER };
      if (!approved) data.reason = "the photo does not show the treasure";
      return { body: this.event("SubmissionReviewed", id, data), player: approved ? player : -1 };
    }
    if (r > 0.97 && r <= 0.985 && treasures >= 6) {
      const t = treasures - 1 - (k % 2);
      const slot = this.competitor(p) * treasures + t;
      if (this.found[slot] || this.pending[slot]) return undefined;
      this.pending[slot] = 1;
      const submissionId = `${huntId}-sub-${k}`;
      this.reviewQueue.push([submissionId, p, slot]);
      return {
        body: this.event("SubmissionMade", id, {
          submissionId,
          playerId: `p-${p}`,
          treasureId: `t-${t}`,
          evidence: `https://photos.example/${huntId}/${k}.jpg`,
        }),
        player: -1,
      };
    }
    return undefined;
  }

  /**
   * Organiser mode, once the hunt has ended: reveals the standings and finalises the result; returns
   * the seq of HuntFinalized.
   */
  async revealAndFinalize(): Promise<number> {
    if (this.frozen) await this.organiserAction("StandingsRevealed", "revealed");
    return this.organiserAction("HuntFinalized", "finalized");
  }

  private async organiserAction(type: string, name: string): Promise<number> {
    const id = `${this.plan.huntId}-${name}`;
    const ack = await jetstream(this.nc).publish(this.subject(), this.event(type, id, { by: ORGANISER }), {
      msgID: id,
    });
    return ack.seq;
  }

  /**
   * Plays at `plan.rate` (or the rate set by `setRate` meanwhile) for `plan.durationSec`, publishing each
   * 5 ms tick's events in one synchronous loop. Every play event's stream seq is `baseSeq + k` because this
   * is the log's only publisher while it runs; rank messages whose player does not match are counted as
   * mismatches. Each call starts a new play phase (k from 0): wait until the engine has handled the previous
   * one before calling it again.
   */
  async run(onTick?: (elapsedSec: number) => void, shouldStop?: () => boolean): Promise<void> {
    const { durationSec } = this.plan;
    const jsm = await jetstreamManager(this.nc);
    await this.nc.flush();
    const info = await jsm.streams.info("HUNT_EVENTS");
    this.baseSeq = info.state.last_seq + 1;
    this.sent = 0;
    this.lastReceivedK = -1;
    this.rate = this.plan.rate;
    const capacity = Math.ceil(this.rate * Math.min(durationSec, 60) * 1.05) + 1000;
    this.sendTimes = new Float64Array(capacity);
    this.sendPlayer = new Int32Array(capacity);
    const subject = this.subject();
    const start = performance.now();
    this.rateBaseSent = 0;
    this.rateBaseMs = start;
    this.running = true;
    let lastTick = start;
    let lastRun = start;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const gap = now - lastRun;
        lastRun = now;
        if (gap > this.windowMaxTickGap) this.windowMaxTickGap = gap;
        const elapsed = (now - start) / 1000;
        if (elapsed >= durationSec - GameSimulator.FREEZE_LAST_SEC) this.freezeDue = true;
        const until = Math.min(now, start + durationSec * 1000);
        const due = this.rateBaseSent + Math.floor(((until - this.rateBaseMs) / 1000) * this.rate);
        if (due > this.sendTimes.length) this.grow(due);
        const nowNs = now * 1e6;
        while (this.sent < due) {
          const k = this.sent;
          const { body, player } = this.playEvent(k);
          this.sendTimes[k] = nowNs;
          this.sendPlayer[k] = player;
          this.publishEvent(subject, body, this.playId(k));
          this.sent++;
          this.windowSent++;
        }
        this.windowPublishMs += performance.now() - now;
        if (now - lastTick >= 250) {
          lastTick = now;
          onTick?.(elapsed);
        }
        if (elapsed >= durationSec || shouldStop?.()) {
          clearInterval(timer);
          this.running = false;
          this.idsBefore += this.sent;
          resolve();
        }
      }, 5);
    });
  }

  /** Changes the play rate from now on (during `run`, e.g. for a ramp); before `run`, sets its first rate. */
  setRate(rate: number): void {
    if (this.running) {
      const now = performance.now();
      this.rateBaseSent += Math.floor(((now - this.rateBaseMs) / 1000) * this.rate);
      this.rateBaseMs = now;
    }
    this.rate = rate;
    this.plan.rate = rate;
  }

  /** The current play rate. */
  get currentRate(): number {
    return this.rate;
  }

  private grow(n: number): void {
    const size = Math.max(n + 1000, this.sendTimes.length * 2);
    const times = new Float64Array(size);
    times.set(this.sendTimes);
    const players = new Int32Array(size);
    players.set(this.sendPlayer);
    this.sendTimes = times;
    this.sendPlayer = players;
  }

  /** Stream seq of the first play event of the current (or last) run. */
  get firstPlaySeq(): number {
    return this.baseSeq;
  }

  /** Stream seq of the last play event published so far (firstPlaySeq - 1 before any). */
  get lastPlaySeq(): number {
    return this.baseSeq + this.sent - 1;
  }

  /** Play events published whose rank message has not arrived yet (by the newest one that has). */
  get backlog(): number {
    return this.sent - 1 - this.lastReceivedK;
  }

  /**
   * The bodies of a hunt's events without publishing them, for folding in-process: HuntCreated and
   * HuntStarted, the joins, then `plays` play events (the same sequence `setup` + `run` publish).
   */
  *offlineEvents(plays: number): Generator<string> {
    yield* this.offlineOpening();
    yield* this.offlineJoins();
    yield* this.offlinePlays(plays);
  }

  /** The first part of `offlineEvents`: HuntCreated, then HuntStarted unless the hunt starts after the joins. */
  *offlineOpening(): Generator<string> {
    yield this.huntCreated();
    if (!this.plan.organiser) yield this.event("HuntStarted", `${this.plan.huntId}-started`);
  }

  /** The second part of `offlineEvents`: the teams and the joins (and HuntStarted after them in organiser mode). */
  *offlineJoins(): Generator<string> {
    const { huntId, players } = this.plan;
    for (let team = 0; team < (this.plan.teams ?? 0); team++) {
      yield this.event("TeamCreated", `${huntId}-team-${team}`, { teamId: `team-${team}` });
    }
    for (let p = 0; p < players; p++)
      yield this.event("PlayerJoined", `${huntId}-join-${p}`, this.joinData(p));
    if (this.plan.organiser) yield this.event("HuntStarted", `${huntId}-started`);
  }

  /** The last part of `offlineEvents`: `plays` play events (a later `run` goes on from where they left the game). */
  *offlinePlays(plays: number): Generator<string> {
    for (let k = 0; k < plays; k++) yield this.playEvent(k).body;
    this.idsBefore += plays;
  }

  /** Events published in the play phase. */
  get playEvents(): number {
    return this.sent;
  }

  /** Ends the hunt; returns the seq of HuntEnded, the last event of the log. */
  async end(): Promise<number> {
    const js = jetstream(this.nc);
    await this.nc.flush();
    const ack = await js.publish(this.subject(), this.event("HuntEnded", `${this.plan.huntId}-ended`), {
      msgID: `${this.plan.huntId}-ended`,
    });
    this.lastSeq = ack.seq;
    return ack.seq;
  }

  /** Stops listening. */
  close(): void {
    this.sub?.unsubscribe();
  }
}
