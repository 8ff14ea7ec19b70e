// The suite's clock. Normally the real time. With TEST_NOW=<instant> (read by vitest.config.ts) every clock
// of the run starts at that instant and runs on from there: the Worker's (test/support/pinned-worker.ts),
// the tests' own reckoning of "today" and "this hour", and the browser's. One offset from the real time,
// fixed when the run starts and handed to each process, keeps them in agreement. Runs in Node and workerd.
import type { Clock } from '../../worker/platform/clock.ts';

/** Environment variable and Worker binding that carry the offset (ms, suite clock − real time). */
export const CLOCK_OFFSET_VAR = 'TEST_CLOCK_OFFSET_MS';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/**
 * The offset that makes the suite's clock read `testNow` at `realNowMs` (0 when `testNow` is unset).
 * Throws a TypeError unless `testNow` is a UTC instant like 2026-02-28T23:59:30Z.
 */
export function offsetFor(testNow: string | undefined, realNowMs = Date.now()): number {
  if (!testNow) return 0;
  const ms = Date.parse(testNow);
  if (!INSTANT.test(testNow) || Number.isNaN(ms)) {
    throw new TypeError(`TEST_NOW must be a UTC instant like 2026-02-28T23:59:30Z, got ${JSON.stringify(testNow)}`);
  }
  return ms - realNowMs;
}

/** Reads the offset as passed on (an environment variable or a binding); absent means the real time. */
export function parseOffset(raw: unknown): number {
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isSafeInteger(n))
    throw new TypeError(`${CLOCK_OFFSET_VAR} must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** The real time moved by `offsetMs`: it runs at the real pace, so waits and timeouts behave as usual. */
export function offsetClock(offsetMs: number): Clock {
  return { now: () => new Date(Date.now() + offsetMs) };
}
