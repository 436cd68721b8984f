// The viewer's HTML, rendered by the engine's HTTP server (actors/host/viewer-http.ts): the index of live
// hunts and one hunt's page. The page's script (app.ts) reads its settings from the JSON block in it, so
// the same bundle serves any engine and any NATS WebSocket URL.

/** What the page's script needs from the server. */
export interface ViewerConfig {
  huntId: string;
  /** The NATS WebSocket URL the browser connects to. */
  wsUrl: string;
  /** The viewer role's inbox prefix (its permissions allow only replies under it). */
  inboxPrefix: string;
  /** Entries the engine puts in `hunt.<id>.top`. */
  topN: number;
  /** The hunt's `rules.durationMs` when the engine serving the page holds the hunt: the page counts down. */
  durationMs?: number | null;
}

/** One line of the index. */
export interface HuntSummary {
  huntId: string;
  status: string;
  players: number;
  seq: number;
  /** `rules.durationMs`, null when the hunt has no time limit. */
  durationMs: number | null;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

function layout(title: string, body: string, bodyClass = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/viewer/viewer.css">
</head>
<body${bodyClass ? ` class="${bodyClass}"` : ""}>
${body}
</body>
</html>
`;
}

/** The index: the hunts this engine has live, each with its page and its venue screen. */
export function indexPage(hunts: readonly HuntSummary[]): string {
  const rows = hunts
    .map(
      (h) =>
        `<tr><th scope="row"><a href="/hunts/${esc(h.huntId)}">${esc(h.huntId)}</a></th>` +
        `<td>${esc(h.status)}</td><td class="num">${h.players.toLocaleString("en-US")}</td>` +
        `<td><a href="/hunts/${esc(h.huntId)}?screen=1">venue screen</a></td></tr>`,
    )
    .join("\n");
  const table = hunts.length
    ? `<table class="board"><caption>Hunts live on this engine</caption>
<thead><tr><th scope="col">Hunt</th><th scope="col">Status</th><th scope="col" class="num">Players</th><th scope="col"><span class="sr-only">Screen</span></th></tr></thead>
<tbody>
${rows}
</tbody></table>`
    : `<p>No hunt has had events on this engine since it started. Open one by its id below.</p>`;
  return layout(
    "Hunts — Cairn",
    `<header><h1>Hunts</h1><p><a href="/">Refresh</a></p></header>
<main>
${table}
<form class="open" action="/hunts" method="get">
<label for="hunt">Hunt id</label>
<input id="hunt" name="id" required maxlength="64" pattern="[A-Za-z0-9_\\-]{1,64}" autocomplete="off" spellcheck="false">
<button>Open</button>
</form>
</main>`,
  );
}

/** One hunt's page; `screen` is the venue mode (large type, auto-paging, no input). */
export function huntPage(config: ViewerConfig, screen: boolean): string {
  // JSON inside a script element: "<" escaped so that no value can close the element.
  const json = JSON.stringify(config).replace(/</g, "\\u003c");
  const id = esc(config.huntId);
  const search = screen
    ? ""
    : `<section class="search" aria-labelledby="search-title">
<h2 id="search-title">Find a player or a team</h2>
<form id="search-form" role="search">
<label for="search">Player or team id</label>
<input id="search" name="player" required maxlength="256" autocomplete="off" spellcheck="false">
<button>Find</button>
</form>
<p id="search-status" role="status"></p>
<table id="around" class="board" hidden><caption class="sr-only">Ranks around the player</caption>
<thead><tr><th scope="col" class="num">Rank</th><th scope="col"><span class="sr-only">Movement</span></th><th scope="col">Name</th><th scope="col" class="num">Score</th></tr></thead>
<tbody></tbody></table>
</section>`;
  return layout(
    `${config.huntId} — Cairn`,
    `<script type="application/json" id="cairn-config">${json}</script>
<header>
<h1><span class="label">Hunt</span> ${id}</h1>
<dl class="facts">
<div><dt>Status</dt><dd id="status">…</dd></div>
<div id="time-left-fact" hidden><dt>Time left</dt><dd id="time-left" role="timer">…</dd></div>
<div><dt>Players</dt><dd id="players">…</dd></div>
<div><dt>Event</dt><dd id="seq">…</dd></div>
</dl>
<p id="frozen" class="frozen" role="status" hidden>Standings frozen: the board shows them as they were at the freeze, until the reveal.</p>
<p id="conn" role="status" data-state="connecting">Connecting…</p>
</header>
<main>
<section class="players" aria-labelledby="board-title">
<h2 id="board-title">Players</h2>
<table id="board" class="board">
<thead><tr><th scope="col" class="num">Rank</th><th scope="col"><span class="sr-only">Movement</span></th><th scope="col">Player</th><th scope="col" class="num">Score</th></tr></thead>
<tbody></tbody></table>
<p id="board-empty" hidden>No player has joined yet.</p>
</section>
<section id="teams" class="teams" aria-labelledby="teams-title" hidden>
<h2 id="teams-title">Teams</h2>
<table id="teams-board" class="board">
<thead><tr><th scope="col" class="num">Rank</th><th scope="col"><span class="sr-only">Movement</span></th><th scope="col">Team</th><th scope="col" class="num">Score</th></tr></thead>
<tbody></tbody></table>
</section>
${search}
<section class="ticker" aria-labelledby="ticker-title">
<h2 id="ticker-title">Latest changes</h2>
<ol id="ticker"></ol>
</section>
</main>
<script type="module" src="/viewer/app.js"></script>`,
    screen ? "screen" : "",
  );
}
