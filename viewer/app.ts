// The hunt page in the browser: connects to NATS over WebSocket as the read-only viewer, shows the player
// board live from hunt.<id>.top (movement arrows, a brief highlight on change), the hunt's status, a
// player search that follows them, and a ticker of changes. The engine is never in the path of a live
// update: the page only listens to hunt.<id>.top and asks hunt.<id>.public.* when it needs more.
// Venue mode (?screen=1) pages through the whole board with large type and takes no input; when frozen
// standings are revealed it uncovers the final board from the last place upward, one row at a time.
import { type NatsConnection, wsconnect } from "@nats-io/nats-core";
import {
  type Board,
  type BoardEntry,
  clock,
  type Movement,
  movements,
  parseBoard,
  parseState,
  replyError,
  throttle,
  tickerLines,
} from "./board.ts";
import type { ViewerConfig } from "./pages.ts";

/** How long a row shows its last movement. */
const ARROW_MS = 4_000;
/** How often the status is asked again. */
const STATE_MS = 5_000;
/** The followed player's neighbourhood is asked at most this often. */
const FOLLOW_MS = 1_000;
/** Venue mode: how long each page stays, and how often the page in view is refreshed. */
const PAGE_MS = 8_000;
/** `?dwell=S` sets the seconds a page stays (at least 1). */
const dwellMs = Math.max(1_000, Number(new URL(location.href).searchParams.get("dwell")) * 1000 || PAGE_MS);
const PAGE_REFRESH_MS = 1_000;
/** Ticker lines kept. */
const TICKER_KEEP = 12;
const REQUEST_TIMEOUT_MS = 5_000;
/** Venue mode: the pause between two rows of the reveal. */
const REVEAL_STEP_MS = 700;

const config = JSON.parse(document.getElementById("cairn-config")!.textContent!) as ViewerConfig;
const screenMode = document.body.classList.contains("screen");
const hunt = config.huntId;
const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)").matches;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T | null;
const el = {
  status: $("status")!,
  timeLeftFact: $("time-left-fact")!,
  timeLeft: $("time-left")!,
  frozen: $("frozen")!,
  players: $("players")!,
  seq: $("seq")!,
  conn: $("conn")!,
  boardTitle: $("board-title")!,
  board: $<HTMLTableElement>("board")!.tBodies[0]!,
  boardEmpty: $("board-empty")!,
  teams: $("teams")!,
  teamsBoard: $<HTMLTableElement>("teams-board")!.tBodies[0]!,
  ticker: $("ticker")!,
  searchForm: $<HTMLFormElement>("search-form"),
  search: $<HTMLInputElement>("search"),
  searchStatus: $("search-status"),
  around: $<HTMLTableElement>("around"),
};

let nc: NatsConnection | undefined;
/** The newest player board seen (from hunt.<id>.top or a top reply). */
let live: Board | undefined;
let teamsLive: Board | undefined;
/** The last movement of each row: kept ARROW_MS so that people can see it at any update rate. */
const lastMove = new Map<string, Movement & { at: number }>();
const teamMove = new Map<string, Movement & { at: number }>();
let followed: string | undefined;
/** Whether the followed id is a player's or a team's (found out by asking). */
let followedBoard: "player" | "team" = "player";
/** Whether the public standings are frozen, as the last state reply said. */
let frozen = false;
/** Venue mode: while the reveal runs, paging waits. */
let revealing = false;
/** Time left at the last state reply, and when it came (page clock), while the hunt has a duration. */
let timeLeft: { ms: number; at: number; running: boolean } | undefined;

const fmt = (n: number) => n.toLocaleString("en-US");
const STATUS_TEXT: Record<string, string> = {
  none: "not created yet",
  created: "not started",
  running: "running",
  paused: "paused",
  ended: "ended",
  finalized: "final result",
};

async function ask(op: "top" | "around" | "state", body: unknown): Promise<unknown> {
  if (!nc) throw new Error("not connected");
  const m = await nc.request(`hunt.${hunt}.public.${op}`, JSON.stringify(body), {
    timeout: REQUEST_TIMEOUT_MS,
  });
  return m.json<unknown>();
}

function setText(node: Element, text: string): boolean {
  if (node.textContent === text) return false;
  node.textContent = text;
  return true;
}

function flash(row: HTMLElement): void {
  if (reducedMotion) return;
  row.animate([{ backgroundColor: "var(--flash)" }, { backgroundColor: "transparent" }], {
    duration: 1200,
    easing: "ease-out",
  });
}

function remember(moves: Map<string, Movement>, into: Map<string, Movement & { at: number }>, now: number) {
  for (const [id, m] of moves) into.set(id, { ...m, at: now });
}

/** Renders rows into a table body, reusing rows, touching only what changed. */
function renderRows(
  body: HTMLTableSectionElement,
  entries: readonly BoardEntry[],
  moves: Map<string, Movement & { at: number }>,
  now: number,
): void {
  while (body.rows.length > entries.length) body.deleteRow(-1);
  while (body.rows.length < entries.length) {
    const row = body.insertRow();
    const rank = document.createElement("th");
    rank.scope = "row";
    rank.className = "num";
    row.append(rank);
    for (const cls of ["move", "name", "num"]) row.insertCell().className = cls;
  }
  entries.forEach((e, i) => {
    const row = body.rows[i]!;
    const [rankCell, moveCell, nameCell, scoreCell] = row.cells as unknown as HTMLTableCellElement[];
    const changedId = row.dataset.id !== e.id;
    row.dataset.id = e.id;
    setText(rankCell!, String(e.rank));
    setText(nameCell!, e.id);
    const scoreChanged = setText(scoreCell!, fmt(e.score));
    const m = moves.get(e.id);
    const showing = m && now - m.at < ARROW_MS ? m : undefined;
    const arrow = !showing
      ? ""
      : showing.kind === "new"
        ? "new"
        : `${showing.kind === "up" ? "↑" : "↓"}${showing.by}`;
    setText(moveCell!, arrow);
    moveCell!.dataset.kind = showing?.kind ?? "";
    if (showing) {
      moveCell!.title =
        showing.kind === "new"
          ? "new on this board"
          : `${showing.kind} ${showing.by} place${showing.by > 1 ? "s" : ""}`;
    } else moveCell!.removeAttribute("title");
    row.classList.toggle("me", e.id === followed);
    if ((changedId || scoreChanged) && body.dataset.rendered === "1") flash(row);
  });
  body.dataset.rendered = "1";
}

// --- the player board -------------------------------------------------------------------------------

let renderPending = false;
function scheduleRender(): void {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderBoard();
  });
}

/** Normal mode shows `live`; venue mode shows the page in view. */
let shown: Board | undefined;
function renderBoard(): void {
  const now = Date.now();
  const board = screenMode ? shown : live;
  if (!board) return;
  renderRows(el.board, board.entries, lastMove, now);
  el.boardEmpty.hidden = board.entries.length > 0 || (screenMode && page > 0);
  if (teamsLive) renderRows(el.teamsBoard, teamsLive.entries, teamMove, now);
}

/** A new player board, from the subject or a reply; older or repeated ones are dropped. */
function onBoard(board: Board): void {
  const prev = live;
  if (prev && board.seq <= prev.seq) return;
  live = board;
  setText(el.seq, fmt(board.seq));
  addTicker(tickerLines(prev?.entries, board.entries));
  // The live board comes back at the reveal: ask the state now rather than at the next poll.
  if (frozen) stateSoon();
  if (screenMode) {
    if (page === 0) refreshPage();
  } else {
    remember(movements(prev?.entries, board.entries), lastMove, Date.now());
    scheduleRender();
  }
  if (followed) followRefresh();
}

function onTeams(board: Board): void {
  const prev = teamsLive;
  if (prev && board.seq <= prev.seq) return;
  teamsLive = board;
  remember(movements(prev?.entries, board.entries), teamMove, Date.now());
  el.teams.hidden = false;
  scheduleRender();
}

// --- status -----------------------------------------------------------------------------------------

async function refreshState(): Promise<void> {
  const body = await ask("state", {});
  const err = replyError(body);
  if (err) {
    setText(el.status, err.code === "unknown_hunt" ? "no such hunt" : `unavailable (${err.message})`);
    return;
  }
  const state = parseState(body);
  if (!state) return;
  const wasFrozen = frozen;
  frozen = state.frozenAt !== undefined && state.frozenAt !== null;
  el.frozen.hidden = !frozen;
  setText(el.status, (STATUS_TEXT[state.status] ?? state.status) + (frozen ? " · standings frozen" : ""));
  if (wasFrozen && !frozen && screenMode) void reveal().catch(() => {});
  const duration = config.durationMs;
  if (duration && state.runningMs !== undefined) {
    timeLeft = { ms: duration - state.runningMs, at: Date.now(), running: state.status === "running" };
    if (state.status === "ended" || state.status === "finalized") timeLeft.ms = 0;
    el.timeLeftFact.hidden = false;
    renderTimeLeft();
  }
  document.body.dataset.status = state.status;
  setText(el.players, fmt(state.players));
  if (!live || state.seq > live.seq) setText(el.seq, fmt(state.seq));
  el.boardEmpty.hidden = state.players > 0;
}

const stateSoon = throttle(refreshState, 1_000);

/** The countdown: from the last state reply, counting on while the hunt runs. */
function renderTimeLeft(): void {
  if (!timeLeft) return;
  const left = timeLeft.running ? timeLeft.ms - (Date.now() - timeLeft.at) : timeLeft.ms;
  setText(el.timeLeft, left > 0 ? clock(left) : "time's up");
}

// --- venue mode: paging through the board -----------------------------------------------------------

let page = 0;
let cursors: (string | undefined)[] = [undefined];

/** Rows that fit the screen below the header and above the ticker. */
function pageSize(): number {
  const rowPx = Number.parseFloat(getComputedStyle(el.board).fontSize) * 1.9;
  const room = window.innerHeight - el.board.getBoundingClientRect().top - el.ticker.offsetHeight - 32;
  return Math.max(3, Math.min(100, Math.floor(room / rowPx)));
}

async function loadPage(): Promise<void> {
  if (revealing) return;
  const body = await ask("top", { n: pageSize(), ...(cursors[page] ? { after: cursors[page] } : {}) });
  const board = parseBoard(body);
  if (!board) return;
  if (board.entries.length === 0 && page > 0) {
    page = 0;
    cursors = [undefined];
    return loadPage();
  }
  cursors[page + 1] = board.next;
  const prev = shown;
  shown = board;
  const first = board.entries[0]?.rank;
  const last = board.entries.at(-1)?.rank;
  setText(el.boardTitle, first && page > 0 ? `Players ${first}–${last}` : "Players");
  remember(
    movements(prev && prev.entries[0]?.rank === first ? prev.entries : undefined, board.entries),
    lastMove,
    Date.now(),
  );
  scheduleRender();
}

const refreshPage = throttle(loadPage, PAGE_REFRESH_MS);

/**
 * Venue mode, at the reveal: the first page of the final board, uncovered from the last place upward
 * one row at a time; paging resumes once the winner is shown.
 */
async function reveal(): Promise<void> {
  if (revealing) return;
  revealing = true;
  try {
    page = 0;
    cursors = [undefined];
    const board = parseBoard(await ask("top", { n: pageSize() }));
    if (!board) return;
    shown = board;
    setText(el.boardTitle, "Final standings");
    renderRows(el.board, board.entries, new Map(), Date.now());
    const rows = Array.from(el.board.rows);
    for (const row of rows) row.classList.add("veiled");
    for (let i = rows.length - 1; i >= 0; i--) {
      await new Promise((resolve) =>
        setTimeout(resolve, reducedMotion ? REVEAL_STEP_MS / 4 : REVEAL_STEP_MS),
      );
      rows[i]!.classList.remove("veiled");
      flash(rows[i]!);
    }
    await new Promise((resolve) => setTimeout(resolve, dwellMs));
  } finally {
    revealing = false;
  }
}

function startPaging(): void {
  setInterval(() => {
    if (revealing) return;
    page = cursors[page + 1] ? page + 1 : 0;
    if (page === 0) cursors = [undefined];
    shown = undefined;
    void loadPage().catch(() => {});
  }, dwellMs);
}

// --- search and follow ------------------------------------------------------------------------------

/** The ranks around `id` on one board, and its own entry there (absent when it is not on that board). */
async function aroundOn(kind: "player" | "team", id: string) {
  const body = await ask("around", {
    ...(kind === "player" ? { playerId: id } : { teamId: id }),
    before: 5,
    after: 5,
  });
  const err = replyError(body);
  const board = err ? undefined : parseBoard(body);
  return { err, board, me: board?.entries.find((e) => e.id === id) };
}

async function loadAround(): Promise<void> {
  const id = followed;
  if (!id || !el.around || !el.searchStatus) return;
  let found = await aroundOn(followedBoard, id);
  // Not on the board searched: the other board may know the id (a team hunt has both).
  if (!found.me) {
    const other = followedBoard === "player" ? "team" : "player";
    const there = await aroundOn(other, id);
    if (there.me) {
      followedBoard = other;
      found = there;
    }
  }
  if (id !== followed) return;
  const { err, board, me } = found;
  if (!board && err) {
    setText(el.searchStatus, `Could not look up ${id}: ${err.message}`);
    return;
  }
  if (!board || !me) {
    el.around.hidden = true;
    setText(el.searchStatus, `No player or team “${id}” in this hunt (yet); still looking on each update.`);
    return;
  }
  const what = followedBoard === "team" ? "team " : "";
  setText(el.searchStatus, `Following ${what}${id}: #${me.rank} with ${fmt(me.score)} pts.`);
  el.around.hidden = false;
  renderRows(el.around.tBodies[0]!, board.entries, lastMove, Date.now());
}

const followRefresh = throttle(loadAround, FOLLOW_MS);

function follow(player: string): void {
  followed = player || undefined;
  followedBoard = "player";
  const url = new URL(location.href);
  if (followed) url.searchParams.set("player", followed);
  else url.searchParams.delete("player");
  history.replaceState(null, "", url);
  if (el.around) {
    el.around.hidden = true;
    el.around.tBodies[0]!.replaceChildren();
    el.around.tBodies[0]!.dataset.rendered = "";
  }
  if (el.searchStatus) setText(el.searchStatus, followed ? `Looking for ${followed}…` : "");
  scheduleRender();
  if (followed) void loadAround().catch((e: Error) => el.searchStatus && setText(el.searchStatus, e.message));
}

// --- ticker -----------------------------------------------------------------------------------------

function addTicker(lines: ReturnType<typeof tickerLines>): void {
  if (lines.length === 0) return;
  const time = new Date().toLocaleTimeString("en-GB");
  const items = lines.map((line) => {
    const li = document.createElement("li");
    li.dataset.kind = line.kind;
    const t = document.createElement("time");
    t.textContent = time;
    li.append(t, ` ${line.text}`);
    return li;
  });
  el.ticker.prepend(...items.reverse());
  while (el.ticker.children.length > TICKER_KEEP) el.ticker.lastElementChild!.remove();
}

// --- connection -------------------------------------------------------------------------------------

function setConn(state: "connecting" | "live" | "reconnecting" | "failed", text: string): void {
  el.conn.dataset.state = state;
  setText(el.conn, text);
}

/** Everything a page needs at once: the board (or the page in view) and the status. */
async function fill(): Promise<void> {
  const jobs: Promise<unknown>[] = [refreshState()];
  if (screenMode) jobs.push(loadPage());
  else
    jobs.push(
      ask("top", { n: config.topN }).then((body) => {
        const board = parseBoard(body);
        if (board) onBoard(board);
        else {
          const err = replyError(body);
          if (err) setText(el.status, `unavailable (${err.message})`);
        }
      }),
    );
  // A team hunt's team board, at once: hunt.<id>.teams.top says nothing until a team's rank changes.
  // A solo hunt's team board is empty and stays hidden.
  jobs.push(
    ask("top", { n: config.topN, board: "teams" }).then((body) => {
      const board = parseBoard(body);
      if (board && board.entries.length > 0) onTeams(board);
    }),
  );
  if (followed) jobs.push(loadAround());
  await Promise.allSettled(jobs);
  document.body.dataset.ready = "1";
}

async function start(): Promise<void> {
  setConn("connecting", "Connecting…");
  nc = await wsconnect({
    servers: config.wsUrl,
    inboxPrefix: config.inboxPrefix,
    name: "cairn-viewer",
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 1_000,
  });
  setConn("live", "Live");
  const parsed = (m: { json<T>(): T }) => {
    try {
      return parseBoard(m.json<unknown>());
    } catch {
      return undefined;
    }
  };
  // Subscribe first, then ask: a board that arrives in between is ordered by its seq.
  nc.subscribe(`hunt.${hunt}.top`, {
    callback: (err, m) => {
      const board = err ? undefined : parsed(m);
      if (board) onBoard(board);
    },
  });
  nc.subscribe(`hunt.${hunt}.teams.top`, {
    callback: (err, m) => {
      const board = err ? undefined : parsed(m);
      if (board) onTeams(board);
    },
  });
  await fill();
  setInterval(() => void refreshState().catch(() => {}), STATE_MS);
  setInterval(() => {
    scheduleRender(); // lets arrows expire on a quiet board
    renderTimeLeft();
  }, 1_000);
  if (screenMode) startPaging();
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") setConn("reconnecting", "Reconnecting…");
      else if (s.type === "reconnect") {
        setConn("live", "Live");
        void fill();
      }
    }
  })().catch(() => {});
  nc.closed().then(() => setConn("failed", "Disconnected: reload the page to try again"));
}

if (el.searchForm && el.search) {
  const input = el.search;
  el.searchForm.addEventListener("submit", (e) => {
    e.preventDefault();
    follow(input.value.trim());
  });
  const initial = new URL(location.href).searchParams.get("player");
  if (initial) {
    input.value = initial;
    followed = initial;
  }
}

start().catch((err: Error) => setConn("failed", `Cannot reach the live feed (${err.message})`));
