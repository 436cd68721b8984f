// The browser viewer end to end: a real nats-server with the shipped accounts layout and a WebSocket
// listener, the real engine serving the page, events published through NATS by a game server, and a
// real Chromium showing the page. Every wait is for the DOM (or a reply) with a deadline, never a sleep.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { wsconnect } from "@nats-io/nats-core";
import { type NatsConnection, PermissionViolationError } from "@nats-io/transport-node";
import pino from "pino";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type Engine, startEngine } from "../../actors/index.ts";
import { connect, type EmbeddedNats, queryHunt } from "../../streams/index.ts";
import { launchBrowser, type TestBrowser } from "../support/browser.ts";
import { ACCOUNTS_USERS, cloudEvent, startAccountsLayout, waitFor } from "../support/nats.ts";

// nats.js's WebSocket transport uses the global WebSocket, which Node 20 lacks.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const ROOT = resolve(import.meta.dirname, "../..");
/** Set CAIRN_SCREENSHOT=1 to write the README's screenshot again (it is also written when missing). */
const SCREENSHOT = join(ROOT, "docs/viewer.png");
const { ENGINE, OPERATOR, PUBLISHER } = ACCOUNTS_USERS;
const HUNT = "harbour-night";
const TOP_N = 10;
const quiet = pino({ level: "silent" });
const PLAYERS = [
  "ada",
  "grace",
  "alan",
  "edsger",
  "barbara",
  "donald",
  "margaret",
  "ken",
  "dennis",
  "radia",
  "frances",
  "leslie",
  "tony",
  "niklaus",
  "katherine",
  "annie",
  "john",
  "hedy",
];

interface Row {
  rank: string;
  move: string;
  player: string;
  score: string;
}

/** The rows of a table body, as text. */
async function rows(page: Page, table: string): Promise<Row[]> {
  return page.locator(`${table} tbody tr`).evaluateAll((trs) =>
    trs.map((tr) => {
      const cells = Array.from(
        (tr as { cells: ArrayLike<{ textContent: string | null }> }).cells,
        (c) => c.textContent ?? "",
      );
      return { rank: cells[0]!, move: cells[1]!, player: cells[2]!, score: cells[3]! };
    }),
  );
}

/** Polls the page's rows until `ok` holds, with a deadline. */
function waitRows(page: Page, table: string, ok: (r: Row[]) => boolean, message: string) {
  return waitFor(async () => ok(await rows(page, table)), { timeoutMs: 10_000, intervalMs: 50, message });
}

describe("the viewer page in Chromium", () => {
  let dir: string;
  let server: EmbeddedNats;
  let engine: Engine;
  let operator: NatsConnection;
  let publisher: NatsConnection;
  let js: JetStreamClient;
  let browser: TestBrowser;
  let wsUrl: string;
  let ids = 0;

  async function publish(type: string, data?: Record<string, unknown>): Promise<number> {
    const id = `viewer-${++ids}`;
    const ack = await js.publish(`hunt.${HUNT}.events`, JSON.stringify(cloudEvent(id, type, data)), {
      msgID: id,
    });
    return ack.seq;
  }

  /** Waits until the engine has handled `seq` (its own state reply says so). */
  async function handled(seq: number): Promise<void> {
    await waitFor(async () => (await queryHunt<{ seq: number }>(operator, HUNT, "state")).seq >= seq, {
      message: `the engine to handle seq ${seq}`,
    });
  }

  /** The engine's own answer to `top`, as the page should show it. */
  async function engineTop(n = TOP_N): Promise<{ player: string; score: string; rank: string }[]> {
    const top = await queryHunt<{ entries: { rank: number; playerId: string; score: number }[] }>(
      operator,
      HUNT,
      "top",
      { n },
    );
    return top.entries.map((e) => ({
      rank: String(e.rank),
      player: e.playerId,
      score: e.score.toLocaleString("en-US"),
    }));
  }

  const pageUrl = (query = "") => `http://127.0.0.1:${engine.metricsPort}/hunts/${HUNT}${query}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-test-viewer-"));
    ({ server, wsUrl } = await startAccountsLayout(dir));
    engine = await startEngine({
      nats: { servers: server.url, ...ENGINE },
      metricsPort: 0,
      viewerWsUrl: wsUrl,
      topN: TOP_N,
      topIntervalMs: 50,
      logger: quiet,
    });
    operator = await connect({ servers: server.url, name: "viewer-operator", ...OPERATOR });
    publisher = await connect({ servers: server.url, name: "viewer-game-server", ...PUBLISHER });
    js = jetstream(publisher);
    await publish("HuntCreated", { title: "Harbour night", treasures: [{ id: "t1", points: 5 }] });
    await publish("HuntStarted");
    for (const p of PLAYERS) await publish("PlayerJoined", { playerId: p });
    // Distinct scores, so every rank is settled: ada 180, grace 170, ... hedy 10.
    let last = 0;
    for (const [i, p] of PLAYERS.entries()) {
      last = await publish("ScoreAdjusted", {
        playerId: p,
        delta: (PLAYERS.length - i) * 10,
        reason: "warm-up",
      });
    }
    await handled(last);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    for (const nc of [publisher, operator]) await nc?.close().catch(() => {});
    await engine?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the live hunt on the index, with its page and venue screen", async () => {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${engine.metricsPort}/`);
    const link = page.getByRole("link", { name: HUNT, exact: true });
    expect(await link.getAttribute("href")).toBe(`/hunts/${HUNT}`);
    expect(await page.getByRole("link", { name: "venue screen" }).getAttribute("href")).toBe(
      `/hunts/${HUNT}?screen=1`,
    );
    const config = await (await fetch(`http://127.0.0.1:${engine.metricsPort}/viewer-config`)).json();
    expect(config).toEqual({ wsUrl, inboxPrefix: "_INBOX.viewer", topN: TOP_N });
    await page.close();
  });

  it("is complete at once when opened mid-hunt: the top-N and the status, before any new update", async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const expected = await engineTop();
    await page.goto(pageUrl());
    // No event is published while the page opens, so hunt.<id>.top stays quiet: the page must fill
    // itself from public.top and public.state.
    await waitRows(
      page,
      "#board",
      (r) =>
        JSON.stringify(r.map(({ rank, player, score }) => ({ rank, player, score }))) ===
        JSON.stringify(expected),
      "the board to show the engine's top 10",
    );
    await waitFor(async () => (await page.locator("#status").textContent()) === "running", {
      message: "the status",
    });
    expect(await page.locator("#players").textContent()).toBe(String(PLAYERS.length));
    expect(await page.locator("#conn").getAttribute("data-state")).toBe("live");
    expect(await page.locator("#teams").isHidden()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("moves rows live with arrows, and the ticker says who climbed", async () => {
    const page = await browser.context.newPage();
    await page.goto(pageUrl());
    await waitRows(page, "#board", (r) => r.length === TOP_N, "the first board");
    // frances is 11th (80 points); 200 more puts her first, and everyone above her moves down one place.
    await publish("ScoreAdjusted", { playerId: "frances", delta: 200, reason: "golden key" });
    const after = await waitRows(
      page,
      "#board",
      (r) => r[0]?.player === "frances" && r[0].score === "280",
      "frances to top the board",
    );
    expect(after).toBeTruthy();
    const board = await rows(page, "#board");
    expect(board[0]).toMatchObject({ rank: "1", player: "frances", move: "new" });
    expect(board[1]).toMatchObject({ rank: "2", player: "ada", move: "↓1" });
    expect(board.map((r) => r.player)).not.toContain("radia"); // pushed out of the top 10
    // A climb inside the board: ken, 9th now, climbs to 3rd.
    await publish("ScoreAdjusted", { playerId: "ken", delta: 65, reason: "riddle" });
    const climbed = await waitRows(page, "#board", (r) => r[2]?.player === "ken", "ken to climb to 3rd");
    expect(climbed).toBeTruthy();
    const again = await rows(page, "#board");
    expect(again[2]).toMatchObject({ rank: "3", player: "ken", move: "↑6" });
    expect(await page.locator("#ticker li").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("ken climbs to #3")]),
    );
    await page.close();
  });

  it("finds a player, shows the ranks around them, and follows them", async () => {
    const page = await browser.context.newPage();
    await page.goto(pageUrl());
    await waitRows(page, "#board", (r) => r.length === TOP_N, "the first board");
    await page.getByLabel("Player or team id").fill("annie");
    await page.getByRole("button", { name: "Find" }).click();
    const expected = await queryHunt<{ entries: { rank: number; playerId: string }[] }>(
      operator,
      HUNT,
      "around",
      {
        playerId: "annie",
        before: 5,
        after: 5,
      },
    );
    await waitRows(
      page,
      "#around",
      (r) => r.map((x) => x.player).join() === expected.entries.map((e) => e.playerId).join(),
      "the ranks around annie",
    );
    const annie = expected.entries.find((e) => e.playerId === "annie")!;
    expect(await page.locator("#around tr.me th").textContent()).toBe(String(annie.rank));
    expect(await page.locator("#search-status").textContent()).toContain(`Following annie: #${annie.rank}`);
    expect(new URL(page.url()).searchParams.get("player")).toBe("annie");
    // She scores: the page follows her on the next top update.
    await publish("ScoreAdjusted", { playerId: "annie", delta: 1000, reason: "treasure chest" });
    await waitFor(
      async () => (await page.locator("#search-status").textContent())?.includes("Following annie: #1 "),
      {
        message: "the followed player's new rank",
      },
    );
    await waitRows(page, "#board", (r) => r[0]?.player === "annie", "annie on top of the board");
    expect(await page.locator("#board tbody tr.me td.name").textContent()).toBe("annie");
    await page.close();
  });

  it("shows a team hunt's team board at once and from hunt.<id>.teams.top, and none for a solo hunt", async () => {
    const solo = await browser.context.newPage();
    await solo.goto(pageUrl());
    await waitRows(solo, "#board", (r) => r.length === TOP_N, "the first board");
    expect(await solo.locator("#teams").isHidden()).toBe(true);
    await solo.close();

    const hunt = "harbour-teams";
    const send = async (type: string, data?: Record<string, unknown>) => {
      const id = `viewer-${++ids}`;
      return (
        await js.publish(`hunt.${hunt}.events`, JSON.stringify(cloudEvent(id, type, data)), { msgID: id })
      ).seq;
    };
    await send("HuntCreated", { title: "Teams", treasures: [{ id: "t1", points: 5 }], rules: { teams: {} } });
    await send("HuntStarted");
    for (const team of ["lighthouse", "tide"]) await send("TeamCreated", { teamId: team });
    await send("PlayerJoined", { playerId: "ada", teamId: "lighthouse" });
    await send("PlayerJoined", { playerId: "grace", teamId: "tide" });
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${engine.metricsPort}/hunts/${hunt}`);
    // The page's first board comes after it has subscribed: only then do the updates below reach it.
    await waitRows(page, "#board", (r) => r.length === 2, "the team hunt's player board");
    await send("ScoreAdjusted", { playerId: "grace", delta: 30, reason: "r" });
    const last = await send("ScoreAdjusted", { teamId: "lighthouse", delta: 50, reason: "team bonus" });
    await waitFor(async () => (await queryHunt<{ seq: number }>(operator, hunt, "state")).seq >= last, {
      message: "the team hunt to be handled",
    });
    /** The team board with both teams' scores, shown. */
    const showsTeams = async (p: Page, message: string) => {
      await waitRows(
        p,
        "#teams-board",
        (r) => r.map((x) => `${x.player}:${x.score}`).join() === "lighthouse:50,tide:30",
        message,
      );
      expect(await p.locator("#teams").isVisible()).toBe(true);
    };
    await showsTeams(page, "the team board");
    await page.close();

    // A page opened now, while the team hunt is quiet, fills its team board at once from public.top.
    const late = await browser.context.newPage();
    await late.goto(`http://127.0.0.1:${engine.metricsPort}/hunts/${hunt}`);
    await showsTeams(late, "the team board of a page opened mid-hunt");
    await late.close();
  });

  it("pages through the whole board in venue mode, with no input", async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 560 });
    await page.goto(pageUrl("?screen=1&dwell=1"));
    expect(await page.locator("input").count()).toBe(0);
    const first = await waitRows(page, "#board", (r) => r.length > 0 && r[0]!.rank === "1", "the first page");
    expect(first).toBeTruthy();
    const size = (await rows(page, "#board")).length;
    expect(size).toBeLessThan(PLAYERS.length);
    // The next page starts where the first ended, and the title says which ranks are shown.
    await waitRows(page, "#board", (r) => r[0]?.rank === String(size + 1), "the second page");
    expect(await page.locator("#board-title").textContent()).toMatch(new RegExp(`^Players ${size + 1}–`));
    // After the last page it starts again at rank 1.
    await waitRows(page, "#board", (r) => r[0]?.rank === "1", "the first page again");
    await page.close();
  });

  it("holds the board at a freeze while query.top moves on, and reveals the final board from the last place up on a screen", async () => {
    const page = await browser.context.newPage();
    await page.goto(pageUrl());
    const before = await waitRows(page, "#board", (r) => r.length === TOP_N, "the first board");
    expect(before).toBeTruthy();
    const shown = (await rows(page, "#board")).map((r) => r.player);
    const screen = await browser.context.newPage();
    await screen.setViewportSize({ width: 1280, height: 900 });
    await screen.goto(pageUrl("?screen=1&dwell=60"));
    await waitRows(screen, "#board", (r) => r[0]?.rank === "1", "the venue screen's first page");

    await handled(await publish("StandingsFrozen", { by: "org" }));
    // hedy, last, takes the lead: the organisers see it, the public boards do not.
    const moved = await publish("ScoreAdjusted", { playerId: "hedy", delta: 100_000, reason: "late find" });
    await handled(moved);
    expect((await engineTop(1))[0]!.player).toBe("hedy");
    await waitFor(async () => (await page.locator("#frozen").isVisible()) === true, {
      timeoutMs: 10_000,
      message: "the page to say the standings are frozen",
    });
    expect((await rows(page, "#board")).map((r) => r.player)).toEqual(shown);
    const publicTop = await operator.request(`hunt.${HUNT}.public.top`, JSON.stringify({ n: 1 }), {
      timeout: 5000,
    });
    expect((publicTop.json() as { entries: { playerId: string }[] }).entries[0]!.playerId).not.toBe("hedy");

    // A screen learns of the freeze from its next state poll (every few seconds).
    await waitFor(async () => (await screen.locator("#frozen").isVisible()) === true, {
      timeoutMs: 10_000,
      message: "the screen to say the standings are frozen",
    });
    // The reveal: the live board comes back; the screen uncovers it from the last row up.
    await handled(await publish("StandingsRevealed", { by: "org" }));
    await waitRows(page, "#board", (r) => r[0]?.player === "hedy", "the revealed board on the page");
    await waitFor(async () => (await screen.locator("#board tbody tr.veiled").count()) > 0, {
      timeoutMs: 10_000,
      message: "the screen to start its reveal with the rows covered",
    });
    // Rows are uncovered from the bottom: while any is covered, the first (the winner) is one of them.
    expect(await screen.locator("#board tbody tr").first().getAttribute("class")).toContain("veiled");
    await waitFor(async () => (await screen.locator("#board tbody tr.veiled").count()) === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: "the reveal to uncover every row",
    });
    const final = await rows(screen, "#board");
    expect(final[0]).toMatchObject({ rank: "1", player: "hedy" });
    expect(await screen.locator("#board-title").textContent()).toBe("Final standings");
    await screen.close();
    await page.close();
  });

  it("takes the README's screenshot during play", async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1000, height: 680 });
    await page.goto(pageUrl("?player=katherine"));
    await waitRows(page, "#around", (r) => r.some((x) => x.player === "katherine"), "the followed player");
    await publish("ScoreAdjusted", { playerId: "katherine", delta: 260, reason: "map fragment" });
    await publish("ScoreAdjusted", { playerId: "donald", delta: 25, reason: "riddle" });
    await waitRows(page, "#board", (r) => r.some((x) => x.player === "katherine"), "katherine on the board");
    await waitFor(async () => (await page.locator("#ticker li").count()) >= 2, { message: "the ticker" });
    await waitFor(
      async () => (await page.locator("#search-status").textContent())?.includes(" with 300 pts"),
      {
        message: "the followed player's new rank",
      },
    );
    const png = await page.screenshot({ type: "png" });
    expect(png.length).toBeLessThan(200 * 1024);
    if (process.env.CAIRN_SCREENSHOT === "1" || !existsSync(SCREENSHOT)) {
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      writeFileSync(SCREENSHOT, png);
      expect(statSync(SCREENSHOT).size).toBe(png.length);
    }
    await page.close();
  });

  it("keeps a viewer's connection read-only: no events, no live queries, and it stays open", async () => {
    const viewer = await wsconnect({ servers: wsUrl, inboxPrefix: "_INBOX.viewer", maxReconnectAttempts: 0 });
    const violations: PermissionViolationError[] = [];
    (async () => {
      for await (const s of viewer.status()) {
        if (s.type === "error" && s.error instanceof PermissionViolationError) violations.push(s.error);
      }
    })().catch(() => {});
    const before = (await queryHunt<{ seq: number }>(operator, HUNT, "state")).seq;
    viewer.publish("hunt.x.events", JSON.stringify(cloudEvent("forged", "HuntEnded")));
    viewer.publish(`hunt.${HUNT}.events`, JSON.stringify(cloudEvent("forged-2", "HuntEnded")));
    await expect(viewer.request("hunt.x.query.state", "{}", { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(viewer.request(`hunt.${HUNT}.query.top`, "{}", { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation/,
    );
    await waitFor(() => violations.length >= 2, { message: "the publish violations" });
    expect(violations.map((v) => v.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Publish to "hunt.x.events"'),
        expect.stringContaining(`Publish to "hunt.${HUNT}.events"`),
      ]),
    );
    // Still connected, and still allowed what a viewer may do.
    expect(viewer.isClosed()).toBe(false);
    const state = (await viewer.request(`hunt.${HUNT}.public.state`, "{}", { timeout: 5000 })).json<{
      seq: number;
      status: string;
    }>();
    expect(state.status).toBe("running");
    expect(state.seq).toBe(before); // nothing the viewer sent reached the log
    await viewer.close();
  });
});

describe("the embedded dev server's viewer door", () => {
  let engine: Engine;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-test-viewer-embedded-"));
    engine = await startEngine({ storeDir: join(dir, "nats"), metricsPort: 0, logger: quiet });
  });

  afterAll(async () => {
    await engine?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("opens a loopback WebSocket listener where a viewer may only read, and serves the page for it", async () => {
    expect(engine.embedded?.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(engine.viewerUrl).toBe(`http://127.0.0.1:${engine.metricsPort}/`);
    // A TCP client without credentials keeps every right, as before: it appends an event.
    const game = await connect({ servers: engine.url });
    const ack = await jetstream(game).publish(
      "hunt.dev.events",
      JSON.stringify(cloudEvent("c", "HuntCreated", { title: "dev", treasures: [{ id: "t", points: 1 }] })),
      { msgID: "c" },
    );
    expect(ack.seq).toBe(1);
    const viewer = await wsconnect({
      servers: engine.embedded!.wsUrl!,
      inboxPrefix: "_INBOX.viewer",
      maxReconnectAttempts: 0,
    });
    await waitFor(
      async () =>
        (await viewer.request("hunt.dev.public.state", "{}", { timeout: 2000 })).json<{ seq: number }>()
          .seq === 1,
      { message: "the viewer's public state" },
    );
    await expect(viewer.request("hunt.dev.query.state", "{}", { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation/,
    );
    await expect(
      wsconnect({ servers: engine.embedded!.wsUrl!, maxReconnectAttempts: 0 }).then((nc) =>
        nc.request("hunt.dev.public.state", "{}", { timeout: 2000 }),
      ),
    ).rejects.toThrow(/Permissions Violation/); // only its own inbox prefix
    expect(viewer.isClosed()).toBe(false);
    const page = await fetch(`${engine.viewerUrl}hunts/dev`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`"wsUrl":"${engine.embedded!.wsUrl}"`);
    const index = await (await fetch(`${engine.viewerUrl}hunts.json`)).json();
    expect(index).toEqual([{ huntId: "dev", status: "created", players: 0, seq: 1, durationMs: null }]);
    await viewer.close();
    await game.close();
  });
});
