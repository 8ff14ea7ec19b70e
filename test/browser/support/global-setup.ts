// Global setup of the browser tests (Node): the real stack and the deploy bundle in workerd with the
// console's static assets (console-worker.ts), a webhook receiver, and a small control
// server through which tests reach what lives in this process (the TenantLimiter Durable Object).

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import {
  createThrowawayDatabase,
  dropDatabase,
  pingPostgres,
  throwawayDatabaseName,
  withDatabase,
} from '../../../scripts/stack/postgres.ts';
import { startWebhookReceivers, type WebhookReceivers } from '../../support/servers/webhook-receivers.ts';
import { CLOCK_OFFSET_VAR, offsetClock, parseOffset } from '../../support/test-clock.ts';
import { type ConsoleWorker, startConsoleWorker } from './console-worker.ts';
import { findChromium, INSTALL_HINT } from './find-chromium.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Chromium binary the tests launch; empty when none was found (the tests are then skipped). */
    chromiumPath: string;
    /** Origin of the Worker serving the console (workerd, deploy bundle + assets). */
    consoleOrigin: string;
    consoleAdminToken: string;
    /** The database the Worker uses, for seeding with `pg`. */
    consoleDatabaseUrl: string;
    /** Control server of this setup (see `control` below); `consoleControlToken` is its bearer token. */
    consoleControlUrl: string;
    consoleControlToken: string;
    /** The suite's clock as an offset from the real time (test/support/test-clock.ts; 0 without TEST_NOW). */
    testClockOffsetMs: number;
  }
}

let worker: ConsoleWorker | undefined;
let receivers: WebhookReceivers | undefined;
let control: http.Server | undefined;

/**
 * `POST /limiter/spend` `{ organization_id, limit }`: counts today's API calls of that organization in its
 * TenantLimiter up to `limit`, less what the Worker's isolate holds in a lease (as if it had made them), so
 * the isolate's next calls spend its lease and then are answered 429 (see exhaustDailyCalls). Also spends
 * tomorrow's when midnight UTC is minutes away, so a test running across it still sees the 429.
 */
function startControl(w: ConsoleWorker, token: string, clock: { now(): Date }): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    try {
      if (req.headers.authorization !== `Bearer ${token}`)
        throw Object.assign(new Error('unauthorized'), { status: 401 });
      if (req.method !== 'POST' || req.url !== '/limiter/spend')
        throw Object.assign(new Error('not found'), { status: 404 });
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const { organization_id, limit } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        organization_id: string;
        limit: number;
      };
      const ns = await w.mf.getDurableObjectNamespace('TENANT_LIMITER');
      const stub = (ns as unknown as DurableObjectNamespace<TenantLimiter>).getByName(organization_id);
      const now = clock.now().getTime();
      const nextMidnight = Date.parse(`${new Date(now).toISOString().slice(0, 10)}T00:00:00Z`) + 86_400_000;
      const days = nextMidnight - now < 10 * 60_000 ? [now, nextMidnight + 1000] : [now];
      for (const nowMs of days) {
        const usage = await stub.usage(nowMs);
        const free = limit - usage.calls - usage.calls_leased;
        if (free > 0) await stub.increment('calls', limit, nowMs, free);
      }
      res.writeHead(204).end();
    } catch (err) {
      res
        .writeHead((err as { status?: number }).status ?? 500, { 'content-type': 'text/plain' })
        .end(String((err as Error).message));
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * No Chromium: the browser tests are skipped with one line saying how to get it, and nothing is started,
 * unless REQUIRE_BROWSER=1 (CI), where a missing browser fails the run.
 */
function lookForChromium(project: TestProject): boolean {
  const found = findChromium();
  project.provide('chromiumPath', found.path ?? '');
  if (found.path) return true;
  const why = `no Chromium found; ${INSTALL_HINT}`;
  if (process.env.REQUIRE_BROWSER === '1')
    throw new Error(`REQUIRE_BROWSER=1 and ${why} (looked at ${found.looked.join(', ')})`);
  console.log(`browser tests skipped: ${why} (looked at ${found.looked.join(', ')})`);
  // The summary reporter repeats it on the run's last line.
  process.env.AIDP_SKIPPED_NOTE = `browser tests skipped: ${why}`;
  return false;
}

export default async function setup(project: TestProject) {
  if (!lookForChromium(project)) return;
  if (!existsSync(`${ROOT}console/dist/console.html`)) {
    throw new Error('console/dist is missing: run `npm run build:console` (npm test does it in pretest)');
  }
  const offsetMs = parseOffset(process.env[CLOCK_OFFSET_VAR]);
  const adminDatabaseUrl = process.env.DATABASE_URL || undefined;
  const throwaway = adminDatabaseUrl ? throwawayDatabaseName() : undefined;
  if (adminDatabaseUrl && throwaway) {
    await pingPostgres(adminDatabaseUrl);
    await createThrowawayDatabase(adminDatabaseUrl, throwaway);
  }
  worker = await startConsoleWorker({
    // With TEST_NOW, the deploy bundle's twin whose clock is the suite's (test/support/pinned-worker.ts).
    ...(process.env.TEST_NOW ? { entry: 'test/support/pinned-worker.ts' } : {}),
    databaseUrl: adminDatabaseUrl && throwaway ? withDatabase(adminDatabaseUrl, throwaway) : undefined,
    bindings: {
      DID_WEB_DOMAIN: 'console.test',
      CACHE_KEY_PREFIX: `browser-${randomBytes(6).toString('hex')}:`,
      // Webhook deliveries: a first attempt at once, so the webhooks view has something to show.
      WEBHOOK_RETRY_SCHEDULE: '0,1,1',
      WEBHOOK_TIMEOUT_MS: '1500',
      // A revoked key is refused at once (no isolate cache of key rows), for the 401 test.
      API_KEY_CACHE_SECONDS: '0',
      ...(process.env.TEST_NOW ? { [CLOCK_OFFSET_VAR]: String(offsetMs) } : {}),
    },
  });
  receivers = await startWebhookReceivers();
  const controlToken = randomBytes(16).toString('hex');
  control = await startControl(worker, controlToken, offsetClock(offsetMs));
  project.provide('consoleOrigin', worker.url);
  project.provide('consoleAdminToken', worker.adminToken);
  project.provide('consoleDatabaseUrl', worker.stack.databaseUrl);
  project.provide('consoleControlUrl', `http://127.0.0.1:${(control.address() as AddressInfo).port}`);
  project.provide('consoleControlToken', controlToken);
  project.provide('testClockOffsetMs', offsetMs);
  project.provide('webhookReceiverUrl', receivers.url);
  return async () => {
    await new Promise((r) => control?.close(r));
    await receivers?.stop();
    await worker?.stop();
    if (adminDatabaseUrl && throwaway) await dropDatabase(adminDatabaseUrl, throwaway);
  };
}
