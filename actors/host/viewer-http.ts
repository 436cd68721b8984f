// Serves the browser viewer (viewer/) on the engine's HTTP port: `/` and `/hunts` list the live hunts,
// `/hunts/<id>` is a hunt's page (`?screen=1` for a venue screen), `/viewer-config` says where NATS's
// WebSocket listener is, and `/viewer/app.js` is the page's script, bundled with esbuild on first use
// and kept in memory (no CDN, no build step, works offline). The page then talks to NATS directly: the
// engine serves files, never live updates.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { isValidHuntId } from "../../streams/index.ts";
import { type HuntSummary, huntPage, indexPage } from "../../viewer/pages.ts";

const VIEWER_DIR = fileURLToPath(new URL("../../viewer/", import.meta.url));

/** The inbox prefix of the viewer role (deploy/nats/permissions.conf lets it subscribe only there). */
export const VIEWER_INBOX_PREFIX = "_INBOX.viewer";

/** Where the browser finds NATS, and what the index lists. */
export interface ViewerOptions {
  /** The NATS WebSocket URL browsers connect to, e.g. ws://127.0.0.1:8443 or wss://nats.example.org. */
  wsUrl: string;
  /** Entries in `hunt.<id>.top`, so the page's first `top` request asks as many. */
  topN: number;
  /** The live hunts, for the index. */
  hunts: () => HuntSummary[];
  /** Inbox prefix of the viewer role; default `_INBOX.viewer`. */
  inboxPrefix?: string;
}

interface Asset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  type: string;
}

function asset(body: Buffer | string, type: string): Asset {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const etag = `"${createHash("sha256").update(buf).digest("base64url").slice(0, 22)}"`;
  return { body: buf, gzip: gzipSync(buf), etag, type };
}

/** Bundles viewer/app.ts and its imports (the nats.js WebSocket client) into one ES module. */
async function bundle(): Promise<Asset> {
  const { build } = await import("esbuild");
  const out = await build({
    entryPoints: [`${VIEWER_DIR}app.ts`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
    legalComments: "none",
  });
  return asset(Buffer.from(out.outputFiles[0]!.contents), "text/javascript; charset=utf-8");
}

/**
 * The viewer's request handler: returns false for paths it does not serve, so the caller can answer
 * them (or 404). Starts bundling the script at once, so that the first page opens fast.
 */
export function viewerRoutes(options: ViewerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const inboxPrefix = options.inboxPrefix ?? VIEWER_INBOX_PREFIX;
  let script: Promise<Asset> | undefined;
  const loadScript = () => {
    script ??= bundle().catch((err: Error) => {
      script = undefined; // a failed build is tried again on the next request
      throw err;
    });
    return script;
  };
  void loadScript().catch(() => {});
  let css: Asset | undefined;
  const wsOrigin = new URL(options.wsUrl).origin.replace(/^http/, "ws");
  const headers = {
    // Scripts and styles from this server only; the page may open its NATS WebSocket and nothing else.
    "content-security-policy": `default-src 'none'; script-src 'self'; style-src 'self'; connect-src ${wsOrigin}; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, a: Asset, cache: string) => {
    if (req.headers["if-none-match"] === a.etag) {
      res.writeHead(304, { etag: a.etag, "cache-control": cache });
      res.end();
      return;
    }
    const gz = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    res.writeHead(status, {
      ...headers,
      "content-type": a.type,
      "cache-control": cache,
      etag: a.etag,
      vary: "accept-encoding",
      ...(gz ? { "content-encoding": "gzip" } : {}),
    });
    res.end(req.method === "HEAD" ? undefined : gz ? a.gzip : a.body);
  };
  const html = (req: IncomingMessage, res: ServerResponse, status: number, body: string) =>
    send(req, res, status, asset(body, "text/html; charset=utf-8"), "no-cache");

  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const url = new URL(req.url ?? "/", "http://viewer");
    const path = url.pathname;
    if (path === "/" || path === "/hunts" || path === "/hunts/") {
      const open = url.searchParams.get("id");
      if (open !== null && isValidHuntId(open)) {
        res.writeHead(303, { location: `/hunts/${open}` });
        res.end();
      } else html(req, res, 200, indexPage(options.hunts()));
      return true;
    }
    if (path === "/hunts.json") {
      send(req, res, 200, asset(JSON.stringify(options.hunts()), "application/json"), "no-cache");
      return true;
    }
    if (path === "/viewer-config") {
      const config = { wsUrl: options.wsUrl, inboxPrefix, topN: options.topN };
      send(req, res, 200, asset(JSON.stringify(config), "application/json"), "no-cache");
      return true;
    }
    const hunt = /^\/hunts\/([^/]+)$/.exec(path);
    if (hunt) {
      const huntId = hunt[1]!;
      if (!isValidHuntId(huntId)) {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        res.end("not a hunt id: 1-64 characters of [A-Za-z0-9_-]\n");
        return true;
      }
      const durationMs = options.hunts().find((h) => h.huntId === huntId)?.durationMs;
      const page = huntPage(
        { huntId, wsUrl: options.wsUrl, inboxPrefix, topN: options.topN, durationMs },
        url.searchParams.get("screen") === "1",
      );
      html(req, res, 200, page);
      return true;
    }
    if (path === "/viewer/app.js") {
      loadScript().then(
        (a) => send(req, res, 200, a, "no-cache"),
        (err: Error) => {
          res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
          res.end(`could not bundle the viewer: ${err.message}\n`);
        },
      );
      return true;
    }
    if (path === "/viewer/viewer.css") {
      css ??= asset(readFileSync(`${VIEWER_DIR}viewer.css`), "text/css; charset=utf-8");
      send(req, res, 200, css, "no-cache");
      return true;
    }
    return false;
  };
}
