// Vitest global setup (Node): starts the real services the Worker under test talks to, on the ports the
// config chose (see test-env.ts), and stops them afterwards.
import type { TestProject } from 'vitest/node';
import { type Stack, startStack } from '../../scripts/stack/index.ts';
import { createThrowawayDatabase, dropDatabase, pingPostgres } from '../../scripts/stack/postgres.ts';
import { type JwksServer, startJwksServer } from './servers/jwks-server.ts';
import { type NodeOidcServices, startNodeOidcServices } from './servers/node-oidc.ts';
import { type StripeStandIn, startStripeStandIn } from './servers/stripe-stand-in.ts';
import { startWebhookReceivers, type WebhookReceivers } from './servers/webhook-receivers.ts';
import type { TestPlan } from './test-env.ts';

let stack: Stack | undefined;
let nodeOidc: NodeOidcServices | undefined;
let webhookReceivers: WebhookReceivers | undefined;
let jwksServer: JwksServer | undefined;
let stripeStandIn: StripeStandIn | undefined;

export default async function setup(project: TestProject) {
  const plan = JSON.parse(process.env.AIDP_TEST_PLAN ?? 'null') as TestPlan | null;
  if (!plan) throw new Error('AIDP_TEST_PLAN missing: run the tests through vitest.config.ts');
  const required = process.env.REQUIRE_SERVICES === '1';
  if (required && (!plan.databaseUrl || !plan.redisUrl)) {
    throw new Error('REQUIRE_SERVICES=1 needs DATABASE_URL and REDIS_URL');
  }
  if (required && !plan.ports.pgbouncer)
    throw new Error('REQUIRE_SERVICES=1 needs pgbouncer (apt-get install pgbouncer)');
  if (plan.adminDatabaseUrl && plan.throwawayDatabase) {
    await pingPostgres(plan.adminDatabaseUrl);
    await createThrowawayDatabase(plan.adminDatabaseUrl, plan.throwawayDatabase);
  }
  stack = await startStack({
    databaseUrl: plan.databaseUrl,
    redisUrl: plan.redisUrl,
    redisToken: plan.redisToken,
    ports: plan.ports,
    pooler: plan.ports.pgbouncer ? 'required' : 'off',
    poolSize: 10,
  });
  console.log(
    `test stack: postgres=${stack.postgresKind} pooler=${stack.pooler} redis=${plan.redisUrl ? 'bridged' : 'off'}`,
  );
  nodeOidc = await startNodeOidcServices(plan.nodeOidc, stack.databaseUrl);
  project.provide('vaultUrl', nodeOidc.vaultUrl);
  project.provide('vaultToken', plan.nodeOidc.vaultToken);
  webhookReceivers = await startWebhookReceivers();
  project.provide('webhookReceiverUrl', webhookReceivers.url);
  jwksServer = await startJwksServer();
  project.provide('jwksServerUrl', jwksServer.url);
  stripeStandIn = await startStripeStandIn(plan.stripe);
  return async () => {
    await nodeOidc?.stop();
    await webhookReceivers?.stop();
    await jwksServer?.stop();
    await stripeStandIn?.stop();
    await stack?.stop();
    if (plan.adminDatabaseUrl && plan.throwawayDatabase)
      await dropDatabase(plan.adminDatabaseUrl, plan.throwawayDatabase);
  };
}
