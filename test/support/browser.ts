// A real Chromium for the viewer's tests and benchmark: Debian's system browser driven by playwright-core
// (which downloads no browser of its own), headless, with a fresh profile each time.
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/** Where the browser is: CHROMIUM_BIN, or Debian's package. */
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

export const CHROMIUM_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A running browser with its own profile; `close()` removes the profile. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium, or fails saying the one command that installs it. */
export async function launchBrowser(viewport = { width: 1100, height: 720 }): Promise<TestBrowser> {
  try {
    accessSync(CHROMIUM_BIN, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_BIN}; the viewer's tests need a real browser. ` +
        "Install it with: sudo apt-get install -y chromium (npm install does it when run as root on Debian), " +
        "or set CHROMIUM_BIN to another Chromium.",
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "cairn-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
