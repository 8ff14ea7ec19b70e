// Vitest global setup (Node): starts the real services the Worker under test talks to, on the ports the
// config chose (see test-env.ts), and stops them afterwards.
import type { TestProject } from 'vitest/node';
import { startStack, type Stack } from '../../scripts/stack/index.ts';
import { pingPostgres } from '../../scripts/stack/postgres.ts';
import type { TestPlan } from './test-env.ts';

let stack: Stack | undefined;

export default async function setup(_project: TestProject) {
  const plan = JSON.parse(process.env.AIDP_TEST_PLAN ?? 'null') as TestPlan | null;
  if (!plan) throw new Error('AIDP_TEST_PLAN missing: run the tests through vitest.config.ts');
  const required = process.env.REQUIRE_SERVICES === '1';
  if (required && (!plan.databaseUrl || !plan.redisUrl)) {
    throw new Error('REQUIRE_SERVICES=1 needs DATABASE_URL and REDIS_URL');
  }
  if (plan.databaseUrl) await pingPostgres(plan.databaseUrl);
  stack = await startStack({
    databaseUrl: plan.databaseUrl,
    redisUrl: plan.redisUrl,
    redisToken: plan.redisToken,
    ports: plan.ports,
  });
  console.log(`test stack: postgres=${stack.postgresKind} redis=${plan.redisUrl ? 'bridged' : 'off'}`);
  return async () => {
    await stack?.stop();
  };
}
