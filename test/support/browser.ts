/**
 * Debian's Chromium driven by playwright-core (no browser download, ever). A machine without
 * /usr/bin/chromium fails the browser tests with a message saying how to install it: skipping
 * them silently would let the browser path go untested.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page, type Request } from "playwright-core";

export const CHROMIUM = process.env.ROSTER_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Where screenshots go (git-ignored); printed by the tests. */
export const SCREENSHOT_DIR = path.resolve("test-output", "screenshots");

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every request the pages made, in order. */
  requests: Request[];
  /** Console messages and page errors (a CSP violation shows up here). */
  problems: string[];
  /** Saves a full-page screenshot of `page` (default: the first page) as <name>.png. */
  screenshot(name: string, page?: Page): Promise<string>;
  /** A page in a new context (its own storage: no token), watched like the first one. */
  newPage(opts?: { viewport?: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM} and it is missing. ` +
        "Install Debian's package (`sudo apt-get install -y chromium`), or point ROSTER_TEST_CHROMIUM at a Chromium binary.",
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    // playwright starts every browser with a new, empty profile (its own --user-data-dir).
  });
  const requests: Request[] = [];
  const problems: string[] = [];
  const watched = async (viewport = { width: 1200, height: 900 }): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport });
    // a missing element fails the test after 10 s instead of running into the test timeout
    context.setDefaultTimeout(10_000);
    context.on("request", (r) => requests.push(r));
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    return { context, page };
  };
  const { context, page } = await watched(opts.viewport);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    context,
    page,
    requests,
    problems,
    async screenshot(name, on = page) {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await on.screenshot({ path: file, fullPage: true });
      return file;
    },
    async newPage(o = {}) {
      return (await watched(o.viewport)).page;
    },
    async close() {
      await browser.close();
    },
  };
}
