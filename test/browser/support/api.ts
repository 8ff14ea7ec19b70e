// Node-side helpers for the browser tests: the Worker's API over HTTP, and seeding analytics rows with `pg`.

import pg from 'pg';
import { inject } from 'vitest';

export const origin = () => inject('consoleOrigin');

export async function apiCall<T = any>(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${origin()}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface Tenant {
  organization_id: string;
  api_key: string;
  name: string;
}

let n = 0;
export async function createTenant(label: string, tier = 'free'): Promise<Tenant> {
  const name = `console-${label}-${Date.now()}-${++n}`;
  const res = await apiCall<Tenant>('POST', '/v1/admin/organizations', inject('consoleAdminToken'), { name, tier });
  if (res.status !== 201) throw new Error(`create organization: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, name };
}

export interface CreatedAgent {
  agent_id: string;
  owner: string;
  did: string;
}

export async function createAgent(t: Tenant, owner: string): Promise<CreatedAgent> {
  const res = await apiCall<CreatedAgent>('POST', '/v1/agents', t.api_key, {
    owner,
    email: `${owner.toLowerCase().replace(/[^a-z0-9]+/g, '-')}@example.com`,
    agent_type: 'assistant',
    capabilities: ['read:calendar'],
  });
  if (res.status !== 201) throw new Error(`create agent: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The suite's clock: the real time, or TEST_NOW's (test/support/test-clock.ts), as the Worker reads it. */
export const suiteNow = (): Date => new Date(Date.now() + inject('testClockOffsetMs'));

const utcDay = (daysAgo: number) => new Date(suiteNow().getTime() - daysAgo * 86_400_000).toISOString().slice(0, 10);

/** The UTC hours at which seedAnalytics puts agent activity. */
export const OFFICE_HOURS = [9, 10, 14, 16];

/**
 * Seeds analytics_events (migrations/0003_analytics.sql) for one tenant: a `token_issued` trend over the
 * last 80 days (every day has some, so each range is non-empty) and per-agent `token_issued` rows at
 * office hours over the last 3 weeks and tomorrow (heatmap, per-agent usage: a run that crosses midnight
 * into a new month still finds this month's usage).
 */
export async function seedAnalytics(t: Tenant, agentIds: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: inject('consoleDatabaseUrl') });
  await client.connect();
  try {
    for (let d = 0; d < 80; d++) {
      await client.query(
        `INSERT INTO analytics_events (organization_id, date, hour, metric_type, count) VALUES ($1, $2, $3, 'token_issued', $4)
         ON CONFLICT (organization_id, metric_type, date, hour) DO UPDATE SET count = EXCLUDED.count`,
        [t.organization_id, utcDay(d), 12, 20 + ((d * 37) % 60)],
      );
    }
    for (const [i, agentId] of agentIds.entries()) {
      for (let d = -1; d < 21; d++) {
        for (const hour of OFFICE_HOURS) {
          await client.query(
            `INSERT INTO analytics_events (organization_id, date, hour, metric_type, count) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (organization_id, metric_type, date, hour) DO UPDATE SET count = EXCLUDED.count`,
            [
              t.organization_id,
              utcDay(d),
              hour,
              `agent:${agentId}:token_issued`,
              1 + ((d + hour + i * 3) % 7) * (i + 1),
            ],
          );
        }
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * Spends the tenant's daily API calls (free tier: 10,000): all that nobody holds, in its TenantLimiter,
 * then the rest of the Worker's lease by calling the API until it answers 429.
 */
export async function exhaustDailyCalls(t: Tenant, limit: number): Promise<void> {
  const res = await fetch(`${inject('consoleControlUrl')}/limiter/spend`, {
    method: 'POST',
    headers: { authorization: `Bearer ${inject('consoleControlToken')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ organization_id: t.organization_id, limit }),
  });
  if (res.status !== 204) throw new Error(`limiter/spend: ${res.status} ${await res.text()}`);
  for (let i = 0; i < 2_000; i++) if ((await apiCall('GET', '/v1/agents', t.api_key)).status === 429) return;
  throw new Error('the daily limit was not reached');
}

/** Polls `probe` until it returns true (bounded; for state that settles asynchronously, like deliveries). */
export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Revokes every API key of the tenant in Postgres (there is no API for it), as an operator would. */
export async function revokeApiKeys(t: Tenant): Promise<void> {
  const client = new pg.Client({ connectionString: inject('consoleDatabaseUrl') });
  await client.connect();
  try {
    await client.query('UPDATE api_keys SET revoked_at = now() WHERE organization_id = $1', [t.organization_id]);
  } finally {
    await client.end();
  }
}

/** Edits one audit event's payload behind the API's back, as an attacker with database access would. */
export async function tamperAuditEvent(t: Tenant, seq: number): Promise<void> {
  const client = new pg.Client({ connectionString: inject('consoleDatabaseUrl') });
  await client.connect();
  try {
    const res = await client.query(
      `UPDATE audit_events SET payload = payload || '{"agent_type":"forged"}' WHERE organization_id = $1 AND seq = $2`,
      [t.organization_id, seq],
    );
    if (res.rowCount !== 1) throw new Error(`no audit event ${seq} for ${t.organization_id}`);
  } finally {
    await client.end();
  }
}
