// The browser tests find Chromium where people have it, in a fixed order, and say where they looked.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findChromium } from '../browser/support/find-chromium.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agentidp-find-chromium-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Creates `rel` under the temp folder, executable unless told otherwise. */
function file(rel: string, mode = 0o755): string {
  const path = join(dir, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, mode);
  return path;
}

/** A machine with nothing but what the test creates: no PATH entries, no Debian launcher, an empty home. */
const lookup = (env: Record<string, string> = {}, fixedPaths = [join(dir, 'usr/bin/chromium')]) =>
  findChromium({ env: { HOME: join(dir, 'home'), PATH: '', ...env }, fixedPaths });

describe('findChromium', () => {
  it('finds nothing on a machine without a browser, and lists where it looked', () => {
    const found = lookup({ PATH: join(dir, 'bin') });
    expect(found.path).toBeUndefined();
    expect(found.looked).toEqual([
      join(dir, 'usr/bin/chromium'),
      'chromium/chromium-browser/google-chrome/google-chrome-stable on PATH',
      join(dir, 'home/.cache/ms-playwright/chromium-*'),
    ]);
  });

  it("prefers Debian's /usr/bin/chromium, then the names on PATH in order", () => {
    const chrome = file('bin/google-chrome');
    const ubuntu = file('bin2/chromium-browser');
    expect(lookup({ PATH: `${join(dir, 'bin')}:${join(dir, 'bin2')}` }).path).toBe(ubuntu);
    rmSync(ubuntu);
    expect(lookup({ PATH: `${join(dir, 'bin')}:${join(dir, 'bin2')}` }).path).toBe(chrome);
    const debian = file('usr/bin/chromium');
    expect(lookup({ PATH: join(dir, 'bin') }).path).toBe(debian);
  });

  it('takes CHROMIUM_PATH over everything, and reports a wrong one instead of falling back', () => {
    file('usr/bin/chromium');
    const custom = file('opt/chrome/chrome');
    expect(lookup({ CHROMIUM_PATH: custom }).path).toBe(custom);
    const wrong = lookup({ CHROMIUM_PATH: join(dir, 'nowhere/chrome') });
    expect(wrong).toEqual({ looked: [`CHROMIUM_PATH=${join(dir, 'nowhere/chrome')}`] });
  });

  it("uses playwright's cache last, newest revision first, and ignores files that are not executable", () => {
    file('home/.cache/ms-playwright/chromium-1100/chrome-linux/chrome');
    const newest = file('home/.cache/ms-playwright/chromium-1200/chrome-linux64/chrome');
    file('bin/chromium', 0o644);
    expect(lookup({ PATH: join(dir, 'bin') }).path).toBe(newest);
    const elsewhere = file('browsers/chromium-1300/chrome-linux/chrome');
    expect(lookup({ PLAYWRIGHT_BROWSERS_PATH: join(dir, 'browsers') }).path).toBe(elsewhere);
  });
});
