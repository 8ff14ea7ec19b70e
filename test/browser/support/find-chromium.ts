// Where the browser tests look for a Chromium to drive (playwright-core never downloads one): where people
// have it, in this order. Runs in Node (the browser project's global setup).
import { accessSync, constants, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT = 'install it with `apt-get install chromium` or set CHROMIUM_PATH';

/** Environment variables read (process.env by default). */
type Env = Record<string, string | undefined>;

export interface ChromiumLookup {
  /** The binary to launch, or undefined when none was found. */
  path?: string;
  /** Every place looked at, in order (for the message when none was found). */
  looked: string[];
}

export interface LookupOptions {
  env?: Env;
  /** Paths tried before PATH (Debian's package puts its launcher here). */
  fixedPaths?: string[];
}

const ON_PATH = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const playwrightRoot = (env: Env) =>
  env.PLAYWRIGHT_BROWSERS_PATH || join(env.HOME || homedir(), '.cache', 'ms-playwright');

/** Playwright's own downloads (`npx playwright install chromium`), newest revision first. */
function playwrightCache(root: string): string[] {
  let revisions: string[];
  try {
    revisions = readdirSync(root).filter((d) => /^chromium-\d+$/.test(d));
  } catch {
    return [];
  }
  revisions.sort((a, b) => Number(b.slice(9)) - Number(a.slice(9)));
  return revisions.flatMap((d) => ['chrome-linux64', 'chrome-linux'].map((sub) => join(root, d, sub, 'chrome')));
}

/**
 * CHROMIUM_PATH when set (and then only it: a wrong path is reported, not silently replaced by another
 * browser), else /usr/bin/chromium, chromium, chromium-browser, google-chrome(-stable) on PATH, else
 * playwright's cache.
 */
export function findChromium({
  env = process.env,
  fixedPaths = ['/usr/bin/chromium'],
}: LookupOptions = {}): ChromiumLookup {
  if (env.CHROMIUM_PATH) {
    return executable(env.CHROMIUM_PATH)
      ? { path: env.CHROMIUM_PATH, looked: [] }
      : { looked: [`CHROMIUM_PATH=${env.CHROMIUM_PATH}`] };
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const root = playwrightRoot(env);
  const candidates = [
    ...fixedPaths,
    ...ON_PATH.flatMap((name) => dirs.map((d) => join(d, name))),
    ...playwrightCache(root),
  ];
  const path = candidates.find(executable);
  const looked = [...fixedPaths, `${ON_PATH.join('/')} on PATH`, join(root, 'chromium-*')];
  return path ? { path, looked } : { looked };
}
