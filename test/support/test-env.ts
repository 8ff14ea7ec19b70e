// Runs in Node (vitest config): decides ports and secrets before the Worker's bindings are fixed, so the
// global setup can start the services on exactly those ports.
import { randomBytes } from 'node:crypto';
import { freePort } from '../../scripts/stack/free-port.ts';

export interface TestPlan {
  ports: { pglite: number; wsProxy: number; redisBridge: number };
  redisToken: string;
  databaseUrl?: string;
  redisUrl?: string;
  bindings: Record<string, string>;
}

export async function planTestEnv(): Promise<TestPlan> {
  const ports = { pglite: await freePort(), wsProxy: await freePort(), redisBridge: await freePort() };
  const redisToken = randomBytes(24).toString('hex');
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const redisUrl = process.env.REDIS_URL || undefined;
  const pgUrl = databaseUrl ?? `postgres://postgres@127.0.0.1:${ports.pglite}/postgres`;
  const bindings: Record<string, string> = {
    DATABASE_URL: pgUrl,
    NEON_WS_PROXY: `127.0.0.1:${ports.wsProxy}/v1`,
    ADMIN_TOKEN: randomBytes(24).toString('hex'),
    DID_WEB_DOMAIN: 'idp.test',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ALLOW_PRIVATE_URLS: 'true',
  };
  if (redisUrl) {
    bindings.UPSTASH_REDIS_REST_URL = `http://127.0.0.1:${ports.redisBridge}`;
    bindings.UPSTASH_REDIS_REST_TOKEN = redisToken;
  }
  return { ports, redisToken, databaseUrl, redisUrl, bindings };
}
