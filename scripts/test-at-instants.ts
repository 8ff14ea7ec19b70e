// npm run test:instants: the tests whose outcome could depend on the date or the hour, run once with the
// suite's clock starting at each awkward instant (TEST_NOW, test/support/test-clock.ts). CI runs it after
// `npm test`; the whole suite three more times would cost ~12 minutes, this ~1.5 per instant.
// `npm run test:instants -- 2027-03-31T23:59:30Z` tries other instants instead.
import { spawnSync } from 'node:child_process';

/** The hour the heatmap test once failed in; a month's last seconds (a run crossing into the next month); a year's first. */
const AWKWARD_INSTANTS = ['2026-06-17T03:30:00Z', '2026-02-28T23:59:30Z', '2026-01-01T00:00:05Z'];

/**
 * Every file that buckets by UTC day, hour or month or works out the next midnight (analytics, the daily
 * limits, the tier's usage, the console's charts and limit messages), with the Worker's clock, the tests'
 * and the browser's starting at the instant.
 */
const TIME_SENSITIVE = [
  'test/worker/analytics/analytics.test.ts',
  'test/worker/tiers/tier.test.ts',
  'test/worker/tiers/rate-limit.test.ts',
  'test/worker/audit/compliance.test.ts',
  'test/worker/harness/suite-clock.test.ts',
  'test/browser/',
];

const ROOT = new URL('../', import.meta.url).pathname;
const instants = process.argv.slice(2).length ? process.argv.slice(2) : AWKWARD_INSTANTS;
const failed: string[] = [];
for (const at of instants) {
  console.log(`\n=== TEST_NOW=${at}: ${TIME_SENSITIVE.join(' ')}`);
  const run = spawnSync('npx', ['vitest', 'run', ...TIME_SENSITIVE], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, TEST_NOW: at },
  });
  if (run.status !== 0) failed.push(at);
}
console.log(
  failed.length
    ? `\ntest:instants: failed at ${failed.join(', ')} (rerun one with TEST_NOW=<instant> npm test -- <files>)`
    : `\ntest:instants: passed at ${instants.join(', ')}`,
);
process.exit(failed.length ? 1 : 0);
