// What the viewer page derives from the engine's messages, with no DOM: shape checks (viewers share one
// anonymous NATS user, so a message on hunt.<id>.top may come from another viewer and must at least be
// well formed), movements between two successive boards, and the ticker lines they make.

/** One row of a board: a player's (or, on the teams board, a team's) rank and score. */
export interface BoardEntry {
  rank: number;
  id: string;
  score: number;
}

/** A board as `hunt.<id>.top` or a `top` reply carries it. */
export interface Board {
  seq: number;
  entries: BoardEntry[];
  /** Cursor of the next page (`top` replies only). */
  next?: string;
}

/** The public state of a hunt (`public.state`). */
export interface PublicState {
  seq: number;
  status: string;
  players: number;
  /** Where the standings were frozen; absent on engines without the standings freeze. */
  frozenAt?: number | null;
  /** Running time at the last handled input, ms; absent on engines that do not report it. */
  runningMs?: number;
}

/** How a row moved since the previous board. */
export interface Movement {
  kind: "up" | "down" | "new";
  /** Places moved (0 for new). */
  by: number;
}

/** One line of the ticker. */
export interface TickerLine {
  id: string;
  text: string;
  kind: "up" | "new" | "score" | "out";
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isScore = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 256;

/** A board from a message or reply, or undefined when it is not one (the key is `playerId` or `teamId`). */
export function parseBoard(body: unknown): Board | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { seq, entries, next } = body as Record<string, unknown>;
  if (!isCount(seq) || !Array.isArray(entries) || entries.length > 1000) return undefined;
  const out: BoardEntry[] = [];
  for (const e of entries as unknown[]) {
    if (typeof e !== "object" || e === null) return undefined;
    const { rank, playerId, teamId, score } = e as Record<string, unknown>;
    const id = playerId ?? teamId;
    if (!isCount(rank) || rank === 0 || !isId(id) || !isScore(score)) return undefined;
    out.push({ rank, id, score });
  }
  for (let i = 1; i < out.length; i++) if (out[i]!.rank <= out[i - 1]!.rank) return undefined;
  const board: Board = { seq, entries: out };
  if (typeof next === "string" && next.length > 0) board.next = next;
  return board;
}

/** A public state reply, or undefined when it is not one. */
export function parseState(body: unknown): PublicState | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { seq, status, players, frozenAt, runningMs } = body as Record<string, unknown>;
  if (!isCount(seq) || typeof status !== "string" || status.length > 32 || !isCount(players))
    return undefined;
  const state: PublicState = { seq, status, players };
  if (frozenAt === null || isCount(frozenAt)) state.frozenAt = frozenAt;
  if (isCount(runningMs)) state.runningMs = runningMs;
  return state;
}

/** "1:05:09", "4:09", "0:07": a duration for a countdown, never negative. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** The error of a query reply (`{"error":{"code","message"}}`), if it is one. */
export function replyError(body: unknown): { code: string; message: string } | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const { code, message } = error as Record<string, unknown>;
  return { code: String(code), message: String(message) };
}

/** How each row of `next` moved since `prev` (rows that did not move are absent). */
export function movements(prev: readonly BoardEntry[] | undefined, next: readonly BoardEntry[]) {
  const moved = new Map<string, Movement>();
  if (!prev) return moved;
  const before = new Map(prev.map((e) => [e.id, e.rank]));
  for (const e of next) {
    const was = before.get(e.id);
    if (was === undefined) moved.set(e.id, { kind: "new", by: 0 });
    else if (was > e.rank) moved.set(e.id, { kind: "up", by: was - e.rank });
    else if (was < e.rank) moved.set(e.id, { kind: "down", by: e.rank - was });
  }
  return moved;
}

/**
 * The ticker lines of one board update: who climbed, who entered, who scored without moving, who fell
 * out. Falls are left out (each climb implies them). At most `limit`, the highest ranks first, so a
 * busy hunt gives a screen the same few lines per update whatever the event rate.
 */
export function tickerLines(
  prev: readonly BoardEntry[] | undefined,
  next: readonly BoardEntry[],
  limit = 4,
): TickerLine[] {
  if (!prev) return [];
  const before = new Map(prev.map((e) => [e.id, e]));
  const lines: (TickerLine & { order: number })[] = [];
  const size = Math.max(prev.length, next.length);
  for (const e of next) {
    const was = before.get(e.id);
    const pts = `${e.score.toLocaleString("en-US")} pts`;
    if (!was)
      lines.push({ id: e.id, kind: "new", order: e.rank, text: `${e.id} enters at #${e.rank} (${pts})` });
    else if (was.rank > e.rank)
      lines.push({ id: e.id, kind: "up", order: e.rank, text: `${e.id} climbs to #${e.rank} (${pts})` });
    else if (was.rank === e.rank && was.score !== e.score) {
      const delta = e.score - was.score;
      lines.push({
        id: e.id,
        kind: "score",
        order: e.rank,
        text: `${e.id} ${delta > 0 ? "+" : "−"}${Math.abs(delta).toLocaleString("en-US")} at #${e.rank} (${pts})`,
      });
    }
  }
  const still = new Set(next.map((e) => e.id));
  for (const e of prev) {
    if (!still.has(e.id))
      lines.push({
        id: e.id,
        kind: "out",
        order: size + e.rank,
        text: `${e.id} drops out of the top ${size}`,
      });
  }
  lines.sort((a, b) => a.order - b.order);
  return lines.slice(0, limit).map(({ id, kind, text }) => ({ id, kind, text }));
}

/** Calls `run` at most once per `ms`, the last call of a burst included; never two runs at once. */
export function throttle(run: () => Promise<void> | void, ms: number): () => void {
  let last = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  const fire = async () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    last = Date.now();
    try {
      await run();
    } catch {
      // The caller shows its own errors; a throttled refresh just tries again next time.
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer !== undefined) return;
    timer = setTimeout(fire, Math.max(0, last + ms - Date.now()));
  };
  return schedule;
}
