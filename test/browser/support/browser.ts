// The Chromium the global setup found (find-chromium.ts) driven by playwright-core: no browser is ever
// downloaded. Each launch gets a new, empty profile folder, removed on close.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe, inject } from 'vitest';

/** `describe` for tests that need the browser: skipped when the global setup found none (it said why). */
export const describeInBrowser = describe.skipIf(!inject('chromiumPath'));
const SCREENSHOTS = new URL('../../screenshots/', import.meta.url).pathname;

export interface Browser {
  /** A new tab (its own sessionStorage) at `width` × 800, with CSP violations and page errors recorded. */
  newPage(width?: number): Promise<Page>;
  /** Messages the browser printed about CSP violations and uncaught errors, on every tab so far. */
  problems: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = inject('chromiumPath');
  if (!executablePath) throw new TypeError('launchBrowser outside describeInBrowser: no Chromium was found');
  const profile = mkdtempSync(join(tmpdir(), 'agentidp-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 800 },
      colorScheme: 'light',
      reducedMotion: 'reduce',
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  // The suite's clock (TEST_NOW): the console's own Date reads the same awkward instant as the Worker.
  const offsetMs = inject('testClockOffsetMs');
  if (offsetMs !== 0) await context.clock.install({ time: Date.now() + offsetMs });
  const problems: string[] = [];
  // The persistent context opens with one blank tab; close it so every test works in tabs it made.
  for (const p of context.pages()) await p.close();
  return {
    problems,
    async newPage(width = 1280) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height: 800 });
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Full-page screenshot to test/screenshots/<name>.png (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}
