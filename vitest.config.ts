import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { planTestEnv } from './test/support/test-env.ts';

export default defineConfig(async () => {
  const plan = await planTestEnv();
  process.env.AIDP_TEST_PLAN = JSON.stringify(plan);
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: { bindings: plan.bindings },
      }),
    ],
    test: {
      include: ['test/**/*.test.ts'],
      globalSetup: ['./test/support/global-setup.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      silent: 'passed-only' as const,
      reporters: ['default', './test/support/summary-reporter.ts'],
    },
  };
});
