// `cairn bench viewer`: what a browser viewer sees, and how many viewers one nats-server feeds.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NatsConnection, wsconnect } from "@nats-io/nats-core";
import { headers } from "@nats-io/transport-node";
import { WebSocket } from "ws";
import { type EngineProcess, startEngineProcess } from "../bin/engine-process.ts";
import { durationFlag, intFlag, parseFlags, UsageError } from "../bin/flags.ts";
import { connect, type EmbeddedNats, startEmbeddedNats } from "../streams/index.ts";
import { launchBrowser, type TestBrowser } from "../test/support/browser.ts";
import { fmtInt, fmtMs, table } from "./report.ts";

export const usage = `usage: cairn bench viewer [flags]

Starts nats-server with its WebSocket listener for viewers, the engine in its own process (serving the
viewer page), a real Chromium on the hunt's page, and a game server publishing ScoreAdjusted events at
--rate. Every 250–350 ms a probe player gets a new top score; the benchmark measures, for each probe:

  DOM      event published → the page's first row shows the new score (Chromium, MutationObserver)
  viewers  event published → hunt.<id>.top delivered to each of N simulated viewers (nats.js wsconnect
           over the ws package, all in this process), and the share of updates each one received

at each viewer count in --viewers, side by side. Both include the engine's top coalescing (at most one
hunt.<id>.top per --top-interval). The simulated viewers share this one Node process, so at large N its
own event loop is part of what is measured.

flags:
  --viewers LIST     simulated WebSocket viewers per run, comma-separated (default 0,100,1000)
  --rate N           background events per second (default 2000)
  --duration D       measuring time per run (default 10s)
  --players N        players in the hunt (default 1000)
  --top-interval D   the engine's hunt.<id>.top interval (default 100ms)
  --smoke            tiny sizes: viewers 0,20, rate 200, 2 s (what CI runs)`;

const PROBE = "probe";
const PROBE_MS = 250;

interface Level {
  viewers: number;
  probes: number;
  dom: number[];
  lag: number[];
  delivered: number;
  connectMs: number;
}

const now = () => performance.timeOrigin + performance.now();

function pct(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((q / 100) * s.length))];
}

// Runs inside the page: records when each probe score first shows in the board's first row.
const OBSERVE = `(() => {
  window.__seen = {};
  const body = document.querySelector("#board tbody");
  const look = () => {
    const row = body.rows[0];
    if (!row || row.dataset.id !== "${PROBE}") return;
    const score = row.cells[3].textContent.replace(/,/g, "");
    if (!(score in window.__seen)) window.__seen[score] = performance.timeOrigin + performance.now();
  };
  new MutationObserver(look).observe(body, { subtree: true, childList: true, characterData: true });
  look();
})()`;

/** Runs the benchmark; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags("bench viewer", argv, {
    smoke: { type: "boolean", default: false },
    viewers: { type: "string" },
    rate: { type: "string" },
    duration: { type: "string" },
    players: { type: "string" },
    "top-interval": { type: "string" },
  });
  const smoke = values.smoke === true;
  const viewerList = values.viewers ?? (smoke ? "0,20" : "0,100,1000");
  const levels = viewerList.split(",").map(Number);
  if (!levels.every((n) => Number.isSafeInteger(n) && n >= 0 && n <= 20_000)) {
    throw new UsageError(
      `--viewers must be whole numbers from 0 to 20000, comma-separated, got "${viewerList}"`,
      "for example --viewers 0,100,1000",
    );
  }
  const rate = intFlag("bench viewer", "rate", values.rate, smoke ? 200 : 2000, 0, 200_000);
  const durationMs = durationFlag("bench viewer", "duration", values.duration, smoke ? 2000 : 10_000);
  const players = intFlag("bench viewer", "players", values.players, smoke ? 100 : 1000, 1, 1_000_000);
  const topInterval = values["top-interval"] ?? "100ms";
  durationFlag("bench viewer", "top-interval", topInterval, 100);
  // nats.js's WebSocket transport uses the global WebSocket, which Node 20 lacks.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

  const storeDir = mkdtempSync(join(tmpdir(), "cairn-bench-viewer-"));
  let server: EmbeddedNats | undefined;
  let engine: EngineProcess | undefined;
  let nc: NatsConnection | undefined;
  let browser: TestBrowser | undefined;
  try {
    server = await startEmbeddedNats({ storeDir, viewers: {} });
    engine = await startEngineProcess(server.url, [
      "--metrics-port",
      "0",
      "--viewer-ws",
      server.wsUrl!,
      "--top-interval",
      topInterval,
    ]);
    nc = await connect({ servers: server.url, name: "cairn-bench-viewer" });
    const pub = nc;
    const hunt = `bench-viewer-${Date.now().toString(36)}`;
    const subject = `hunt.${hunt}.events`;
    let ids = 0;
    const send = (type: string, data?: Record<string, unknown>) => {
      const id = `${hunt}-${++ids}`;
      const h = headers();
      h.set("Nats-Msg-Id", id);
      const e = { specversion: "1.0", id, source: "bench", type, ...(data ? { data } : {}) };
      pub.publish(subject, JSON.stringify(e), { headers: h });
    };
    send("HuntCreated", { title: "viewer bench", treasures: [{ id: "t", points: 1 }] });
    send("HuntStarted");
    for (let p = 0; p < players; p++) {
      send("PlayerJoined", { playerId: `p-${p}` });
      if (p % 1000 === 999) await pub.flush();
    }
    send("PlayerJoined", { playerId: PROBE });
    await pub.flush();
    browser = await launchBrowser({ width: 1200, height: 800 });
    const page = await browser.context.newPage();
    const pageUrl = `${engine.viewerUrl}hunts/${hunt}`;
    let probeScore = 0;
    const results: Level[] = [];

    for (const viewers of levels) {
      const started = performance.now();
      const sentAt = new Map<number, number>();
      const lag: number[] = [];
      let delivered = 0;
      const conns: NatsConnection[] = [];
      for (let i = 0; i < viewers; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, viewers - i) }, () =>
            wsconnect({ servers: server!.wsUrl!, inboxPrefix: "_INBOX.viewer", maxReconnectAttempts: 0 }),
          ),
        );
        for (const c of batch) {
          let last = -1;
          c.subscribe(`hunt.${hunt}.top`, {
            callback: (err, m) => {
              if (err) return;
              const top = m.json<{ entries: { playerId: string; score: number }[] }>();
              const first = top.entries[0];
              if (first?.playerId !== PROBE || first.score === last) return;
              last = first.score;
              const at = sentAt.get(first.score);
              if (at === undefined) return;
              lag.push(now() - at);
              delivered++;
            },
          });
          conns.push(c);
        }
      }
      await Promise.all(conns.map((c) => c.flush()));
      const connectMs = performance.now() - started;
      await page.goto(pageUrl);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 15_000 });
      await page.evaluate(OBSERVE);

      // The load: `rate` background events a second in 10 ms ticks, and a probe every PROBE_MS.
      const end = performance.now() + durationMs;
      let sent = 0;
      const t0 = performance.now();
      const load = setInterval(() => {
        const due = Math.floor(((performance.now() - t0) / 1000) * rate);
        for (; sent < due; sent++) {
          send("ScoreAdjusted", {
            playerId: `p-${(sent * 7919) % players}`,
            delta: 1 + (sent % 5),
            reason: "bench",
          });
        }
      }, 10);
      let probes = 0;
      while (performance.now() < end) {
        probeScore += 1_000_000;
        sentAt.set(probeScore, now());
        send("ScoreAdjusted", { playerId: PROBE, delta: 1_000_000, reason: "probe" });
        probes++;
        // Spread over the engine's top interval, so every phase of its timer is sampled.
        await new Promise((r) => setTimeout(r, PROBE_MS + ((probes * 37) % 100)));
      }
      clearInterval(load);
      // Let the last probes arrive (the engine may be a little behind at high rates).
      await pub.flush();
      await new Promise((r) => setTimeout(r, 1500));
      const seen = (await page.evaluate("window.__seen")) as Record<string, number>;
      const dom: number[] = [];
      for (const [score, at] of sentAt) {
        const shown = seen[String(score)];
        if (shown !== undefined) dom.push(shown - at);
      }
      await Promise.all(conns.map((c) => c.close().catch(() => {})));
      results.push({ viewers, probes, dom, lag, delivered, connectMs });
      console.log(
        `viewers ${viewers}: ${probes} probes, DOM p50 ${fmtMs(pct(dom, 50))}, viewers' lag p99 ${fmtMs(pct(lag, 99))}`,
      );
    }

    console.log("");
    console.log(
      `cairn bench viewer: ${fmtInt(rate)} events/s, ${fmtInt(players)} players, top interval ${topInterval}, ${durationMs / 1000} s per run, a probe every ${PROBE_MS}–${PROBE_MS + 100} ms`,
    );
    console.log(
      table(
        [
          "viewers",
          "connect",
          "DOM p50",
          "DOM p99",
          "DOM seen",
          "viewer p50",
          "viewer p99",
          "viewer max",
          "delivered",
        ],
        results.map((r) => [
          fmtInt(r.viewers),
          r.viewers ? fmtMs(r.connectMs) : "—",
          fmtMs(pct(r.dom, 50)),
          fmtMs(pct(r.dom, 99)),
          `${r.dom.length}/${r.probes}`,
          r.viewers ? fmtMs(pct(r.lag, 50)) : "—",
          r.viewers ? fmtMs(pct(r.lag, 99)) : "—",
          r.viewers ? fmtMs(Math.max(...r.lag)) : "—",
          r.viewers ? `${((100 * r.delivered) / (r.probes * r.viewers)).toFixed(1)} %` : "—",
        ]),
      ),
    );
    const missing = results.some((r) => r.dom.length === 0);
    if (missing) console.error("cairn bench viewer: the page never showed a probe in some run");
    return missing ? 1 : 0;
  } finally {
    await browser?.close();
    await nc?.close().catch(() => {});
    await engine?.stop();
    await server?.stop();
    rmSync(storeDir, { recursive: true, force: true });
  }
}
