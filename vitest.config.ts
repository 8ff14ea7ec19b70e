import { readFileSync } from 'node:fs';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { configDefaults, defineConfig } from 'vitest/config';
import { quotaIsolateWorkers } from './test/support/isolates/quota-isolates.ts';
import { planTestEnv } from './test/support/test-env.ts';

const COMPATIBILITY_DATE = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync('./wrangler.toml', 'utf8'))?.[1];

export default defineConfig(async () => {
  const plan = await planTestEnv();
  process.env.AIDP_TEST_PLAN = JSON.stringify(plan);
  if (plan.testNow) console.log(`test clock: TEST_NOW=${plan.testNow} (every clock of this run starts there)`);
  // Separate isolates sharing one TenantLimiter namespace, for the lease tests.
  const isolates = quotaIsolateWorkers(COMPATIBILITY_DATE ?? '2026-10-01');
  return {
    test: {
      silent: 'passed-only' as const,
      reporters: ['default', './test/support/summary-reporter.ts'],
      projects: [
        {
          // The Worker's tests, inside workerd.
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              // With TEST_NOW, `exports.default` is the Worker with the suite's clock (test-clock.ts).
              ...(plan.testNow ? { main: './test/support/pinned-worker.ts' } : {}),
              miniflare: {
                bindings: plan.bindings,
                serviceBindings: isolates.serviceBindings,
                workers: isolates.workers,
              },
            }),
          ],
          test: {
            name: 'workerd',
            include: ['test/**/*.test.ts'],
            exclude: [...configDefaults.exclude, 'test/browser/**', 'test/harness/**', 'test/runtime/**'],
            globalSetup: ['./test/support/global-setup.ts'],
            testTimeout: 30_000,
            hookTimeout: 60_000,
            silent: 'passed-only' as const,
          },
        },
        {
          // The test harness itself (summary line, browser lookup, test clock), in plain Node.
          test: {
            name: 'harness',
            include: ['test/harness/**/*.test.ts'],
            environment: 'node',
            // run-summary.test.ts starts a small vitest run of its own.
            testTimeout: 30_000,
            silent: 'passed-only' as const,
          },
        },
        {
          // The runtime's own behaviour under `workerd serve` (its outbound network policy), in Node.
          test: {
            name: 'runtime',
            include: ['test/runtime/**/*.test.ts'],
            environment: 'node',
            testTimeout: 60_000,
            silent: 'passed-only' as const,
          },
        },
        {
          // The tenant console in a local Chromium (playwright-core; skipped without one, see
          // test/browser/support/find-chromium.ts), in Node, against the deploy bundle.
          test: {
            name: 'browser',
            include: ['test/browser/**/*.test.ts'],
            environment: 'node',
            globalSetup: ['./test/browser/support/global-setup.ts'],
            testTimeout: 60_000,
            hookTimeout: 180_000,
            silent: 'passed-only' as const,
          },
        },
      ],
    },
  };
});
