/**
 * Real headless Chromium (Debian's `chromium` package; `make test-deps`
 * installs it) driven by playwright-core: no browser download. Every page
 * records console errors, uncaught exceptions and Content-Security-Policy
 * violations, so a test can fail on any of them; screenshots go to one folder
 * per run whose files the test prints.
 */
import { accessSync, constants, mkdirSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

export function chromiumPath(): string {
  const explicit = process.env.SHARDGATE_CHROMIUM;
  for (const path of explicit ? [explicit] : CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  throw new Error(
    `Chromium not found at ${CANDIDATES.join(" or ")}: run \`make test-deps\` (apt-get install chromium)`,
  );
}

export interface BrowserPage {
  readonly page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  readonly problems: string[];
  /** Saves a full-page PNG and returns its path. */
  screenshot(name: string): Promise<string>;
}

export interface TestBrowser {
  open(url: string): Promise<BrowserPage>;
  close(): Promise<void>;
  readonly screenshotDir: string;
}

export async function startBrowser(name: string): Promise<TestBrowser> {
  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath(),
    // Root (CI) cannot use Chromium's user-namespace sandbox.
    args: userInfo().uid === 0 ? ["--no-sandbox"] : [],
  });
  const screenshotDir = join(
    process.env.SHARDGATE_SCREENSHOTS ?? join(tmpdir(), "shardgate-screenshots"),
    name,
  );
  mkdirSync(screenshotDir, { recursive: true });
  return {
    screenshotDir,
    async open(url) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console error: ${message.text()}`);
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      // Reported to the page as an event; injected by the driver, so the page's CSP does not apply to it.
      await page.addInitScript({
        content:
          "document.addEventListener('securitypolicyviolation', (e) => " +
          "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
      });
      await page.goto(url);
      return {
        page,
        problems,
        async screenshot(shot) {
          const path = join(screenshotDir, `${shot}.png`);
          await page.screenshot({ path, fullPage: true });
          console.log(`screenshot: ${path}`);
          return path;
        },
      };
    },
    close: () => browser.close(),
  };
}
