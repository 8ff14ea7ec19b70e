// A Worker app with a clock the test moves, called in-process with the real bindings. Every call gets its
// own ExecutionContext and waits for the work it handed to waitUntil (analytics writes) to settle.

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createApp } from '../../worker/app.ts';
import type { Clock } from '../../worker/platform/clock.ts';
import { Db } from '../../worker/platform/db.ts';
import { CLOCK_OFFSET_VAR, offsetClock, parseOffset } from './test-clock.ts';
import { BASE, type CallOptions } from './worker.ts';

export class MovableClock implements Clock {
  #ms: number;
  constructor(iso: string) {
    this.#ms = Date.parse(iso);
  }
  now(): Date {
    return new Date(this.#ms);
  }
  set(iso: string): void {
    this.#ms = Date.parse(iso);
  }
}

export const bindings = env as unknown as Record<string, unknown> & Cloudflare.Env;

/**
 * The suite's clock (test-clock.ts): the real time, or TEST_NOW's, as `exports.default` sees it. Tests that
 * reason about "today" or "this hour" read it instead of Date.now(), or pin a MovableClock to `testNow()`.
 */
export const testClock: Clock = offsetClock(parseOffset(bindings[CLOCK_OFFSET_VAR]));
export const testNow = (): Date => testClock.now();

/**
 * The app on `clock` with `envOverrides` over the test bindings. Usage is settled at the end of each call
 * (USAGE_FLUSH_MS, 0 in the tests unless overridden), never on a timer: the test moves the clock instead.
 */
export function clockedApp(clock: Clock, envOverrides: Record<string, unknown> = {}) {
  const app = createApp({ clock, idleTimer: false });
  const appEnv = { ...bindings, ...envOverrides };
  return async function callApp(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    } else if (opts.rawBody !== undefined) {
      body = opts.rawBody;
      headers['content-type'] ??= 'application/json';
    }
    const ctx = createExecutionContext();
    const res = await app.request(`${BASE}${path}`, { method, headers, body }, appEnv, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
}

/** Runs `fn` with a Db on the test database, closed afterwards. */
export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const db = new Db(bindings.DATABASE_URL as string, bindings.NEON_WS_PROXY as string);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
