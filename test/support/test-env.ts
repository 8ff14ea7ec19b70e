// Runs in Node (vitest config): decides ports and secrets before the Worker's bindings are fixed, so the
// global setup can start the services on exactly those ports.
import { randomBytes } from 'node:crypto';
import { freePort } from '../../scripts/stack/free-port.ts';
import { findPgbouncer, pooledUrl } from '../../scripts/stack/pgbouncer.ts';
import { throwawayDatabaseName, withDatabase } from '../../scripts/stack/postgres.ts';
import { type NodeOidcPlan, planNodeOidc } from './servers/node-oidc.ts';
import { planStripeStandIn, type StripePlan } from './servers/stripe-stand-in.ts';
import { CLOCK_OFFSET_VAR, offsetFor } from './test-clock.ts';

export interface TestPlan {
  /** `pgbouncer` is set when the Worker reaches the Postgres server through pgbouncer (installed and a server given). */
  ports: { pglite: number; wsProxy: number; redisBridge: number; pgbouncer?: number };
  redisToken: string;
  /** This run's own database on the DATABASE_URL server (created by the global setup, dropped after); direct. */
  databaseUrl?: string;
  /** DATABASE_URL as given: used only to create and drop `databaseUrl`'s database. */
  adminDatabaseUrl?: string;
  throwawayDatabase?: string;
  redisUrl?: string;
  bindings: Record<string, string>;
  /** node-oidc and its Vault stand-in (servers/node-oidc.ts). */
  nodeOidc: NodeOidcPlan;
  /** The Stripe API stand-in and fake Stripe credentials (servers/stripe-stand-in.ts). */
  stripe: StripePlan;
  /** TEST_NOW as given, when the run's clocks start there (test-clock.ts). */
  testNow?: string;
}

export async function planTestEnv(): Promise<TestPlan> {
  const testNow = process.env.TEST_NOW || undefined;
  // Fixed once for the run; the test processes inherit it, the Worker gets it as a binding.
  process.env[CLOCK_OFFSET_VAR] = String(offsetFor(testNow));
  const ports: TestPlan['ports'] = {
    pglite: await freePort(),
    wsProxy: await freePort(),
    redisBridge: await freePort(),
  };
  const redisToken = randomBytes(24).toString('hex');
  const adminDatabaseUrl = process.env.DATABASE_URL || undefined;
  const throwawayDatabase = adminDatabaseUrl ? throwawayDatabaseName() : undefined;
  const databaseUrl =
    adminDatabaseUrl && throwawayDatabase ? withDatabase(adminDatabaseUrl, throwawayDatabase) : undefined;
  const redisUrl = process.env.REDIS_URL || undefined;
  // With a server, the Worker's connections go through pgbouncer (transaction pooling) as they do under
  // `npm start` and in the benchmarks; the global setup starts it on this port.
  if (databaseUrl && findPgbouncer()) ports.pgbouncer = await freePort();
  const pgUrl = databaseUrl
    ? ports.pgbouncer
      ? pooledUrl(databaseUrl, ports.pgbouncer)
      : databaseUrl
    : `postgres://postgres@127.0.0.1:${ports.pglite}/postgres`;
  const bindings: Record<string, string> = {
    // wrangler.toml says production; tests use development switches (LIMITER_SIMULATED_RTT_MS).
    ENVIRONMENT: 'development',
    // Usage and quota leases are written and returned at the end of every request, so a test reads the
    // Durable Object and analytics exactly; the lease tests set their own interval.
    USAGE_FLUSH_MS: '0',
    DATABASE_URL: pgUrl,
    NEON_WS_PROXY: `127.0.0.1:${ports.wsProxy}/v1`,
    ADMIN_TOKEN: randomBytes(24).toString('hex'),
    DID_WEB_DOMAIN: 'idp.test',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ALLOW_PRIVATE_URLS: 'true',
    // Tier changes made by tests must reach the rate limiter at once; auth-cache.test.ts turns the cache on.
    API_KEY_CACHE_SECONDS: '0',
    // Every run gets its own cache namespace on the shared Redis (and its own database, see above).
    CACHE_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}:`,
    // Webhooks: three attempts (now, +1 s, +1 s) and a short cut-off, so retries and hangs end quickly.
    WEBHOOK_RETRY_SCHEDULE: '0,1,1',
    WEBHOOK_TIMEOUT_MS: '1500',
  };
  const nodeOidc = await planNodeOidc();
  Object.assign(bindings, nodeOidc.bindings);
  const stripe = await planStripeStandIn();
  Object.assign(bindings, stripe.bindings);
  if (testNow) bindings[CLOCK_OFFSET_VAR] = process.env[CLOCK_OFFSET_VAR]!;
  if (redisUrl) {
    bindings.UPSTASH_REDIS_REST_URL = `http://127.0.0.1:${ports.redisBridge}`;
    bindings.UPSTASH_REDIS_REST_TOKEN = redisToken;
  }
  return {
    ports,
    redisToken,
    databaseUrl,
    adminDatabaseUrl,
    throwawayDatabase,
    redisUrl,
    bindings,
    nodeOidc,
    stripe,
    testNow,
  };
}
