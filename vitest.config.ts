import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { configDefaults, defineConfig } from 'vitest/config';
import { planTestEnv } from './test/support/test-env.ts';

export default defineConfig(async () => {
  const plan = await planTestEnv();
  process.env.AIDP_TEST_PLAN = JSON.stringify(plan);
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
              miniflare: { bindings: plan.bindings },
            }),
          ],
          test: {
            name: 'workerd',
            include: ['test/**/*.test.ts'],
            exclude: [...configDefaults.exclude, 'test/browser/**', 'test/runtime/**'],
            globalSetup: ['./test/support/global-setup.ts'],
            testTimeout: 30_000,
            hookTimeout: 60_000,
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
          // The tenant console in Debian's Chromium (playwright-core), in Node, against the deploy bundle.
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
