// Quota leases through the Worker: one isolate (the test's) spends blocks of a tenant's daily calls
// locally, renews them ahead, gives them back when idle or expired, and counts unlimited tiers in batches.
// The clock is moved, never slept on; USAGE_FLUSH_MS is set per app.

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { LEASE_TTL_MS } from '../../../durable-objects/lease-policy.ts';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { createApp } from '../../../worker/app.ts';
import { TIER_CONFIG } from '../../../worker/features/tiers/tiers.ts';
import { bindings, clockedApp, MovableClock } from '../../support/clocked-app.ts';
import { ADMIN_TOKEN, createOrg, json, type Org } from '../../support/worker.ts';

const ns = bindings.TENANT_LIMITER as DurableObjectNamespace<TenantLimiter>;
const FREE_CALLS = TIER_CONFIG.free.max_calls_per_day!;
const FLUSH_MS = 10_000;
// A day in the future, so the limiter's real cleanup alarm cannot interfere.
const DAY = new Date(Date.now() + 4 * 86_400_000).toISOString().slice(0, 10);
const at = (time: string) => `${DAY}T${time}Z`;

type App = ReturnType<typeof clockedApp>;

/** The sum of a metric's samples whose labels include `labels`, read from the metrics endpoint. */
async function metric(app: App, name: string, labels: Record<string, string> = {}): Promise<number> {
  const body = await json(await app('GET', '/v1/admin/metrics', { token: ADMIN_TOKEN }));
  return (body.samples as Array<{ name: string; labels: Record<string, string>; value: number }>)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const usage = (org: Org, iso: string) => ns.getByName(org.organization_id).usage(Date.parse(iso));

/** An organization created through `app`, so that everything this file does is awaited by the test. */
async function orgVia(app: App, tier?: string): Promise<Org> {
  const res = await app('POST', '/v1/admin/organizations', {
    token: ADMIN_TOKEN,
    body: { name: `leases-${crypto.randomUUID()}`, ...(tier ? { tier } : {}) },
  });
  if (res.status !== 201) throw new Error(`create organization: ${res.status}`);
  return json<Org>(res);
}

async function calls(app: App, org: Org, n: number, concurrency = 1): Promise<number[]> {
  const statuses: number[] = [];
  for (let done = 0; done < n; done += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - done) }, () =>
      app('GET', '/v1/agents', { token: org.api_key }),
    );
    for (const r of await Promise.all(batch)) statuses.push(r.status);
  }
  return statuses;
}

describe('quota leases in one isolate', () => {
  it('calls the limiter object for at most 5 % of tenant requests under steady load (metrics endpoint)', async () => {
    const clock = new MovableClock(at('09:00:00.000'));
    const app = clockedApp(clock, { USAGE_FLUSH_MS: String(FLUSH_MS), API_KEY_CACHE_SECONDS: '60' });
    const org = await orgVia(app);
    await calls(app, org, 20, 10); // warm-up: the first block
    const before = {
      limiter: await metric(app, 'agentidp_limiter_calls_total'),
      tenant: await metric(app, 'agentidp_requests_total', { route_class: 'tenant' }),
    };
    const statuses = await calls(app, org, 400, 10);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const limiter = (await metric(app, 'agentidp_limiter_calls_total')) - before.limiter;
    const tenant = (await metric(app, 'agentidp_requests_total', { route_class: 'tenant' })) - before.tenant;
    expect(tenant).toBe(400);
    expect(limiter / tenant).toBeLessThanOrEqual(0.05);
    expect(
      await metric(app, 'agentidp_quota_admissions_total', { kind: 'calls', via: 'lease' }),
    ).toBeGreaterThanOrEqual(380);
  });

  it('gives an idle lease back after USAGE_FLUSH_MS, with every spent call counted', async () => {
    const clock = new MovableClock(at('10:00:00.000'));
    const app = clockedApp(clock, { USAGE_FLUSH_MS: String(FLUSH_MS) });
    const org = await orgVia(app);
    await calls(app, org, 5);
    const held = await usage(org, at('10:00:00.000'));
    expect(held.calls + held.calls_leased).toBeGreaterThan(5);
    expect(held.calls_leased).toBeGreaterThan(0);
    const returned = await metric(app, 'agentidp_leases_returned_total', { kind: 'calls' });

    clock.set(at('10:00:10.000'));
    expect((await app('GET', '/livez')).status).toBe(200); // any request settles what is due
    expect(await usage(org, at('10:00:10.000'))).toMatchObject({ calls: 5, calls_leased: 0 });
    expect(await metric(app, 'agentidp_leases_returned_total', { kind: 'calls' })).toBe(returned + 1);
  });

  it('stops spending an expired lease, reports it and takes a new one', async () => {
    const clock = new MovableClock(at('11:00:00.000'));
    const app = clockedApp(clock, { USAGE_FLUSH_MS: '20000' });
    const org = await orgVia(app);
    await calls(app, org, 3);
    clock.set(new Date(Date.parse(at('11:00:00.000')) + LEASE_TTL_MS).toISOString());
    const r = await app('GET', '/v1/agents', { token: org.api_key });
    expect(r.status).toBe(200);
    expect(r.headers.get('RateLimit-Remaining')).toBe(String(FREE_CALLS - 4));
    const u = await usage(org, at('11:00:05.000'));
    expect(u.calls).toBe(4);
  });

  it('reports yesterday’s lease on yesterday at UTC midnight and starts today from zero', async () => {
    const clock = new MovableClock(at('23:59:59.000'));
    const app = clockedApp(clock, { USAGE_FLUSH_MS: '20000' });
    const org = await orgVia(app);
    await calls(app, org, 3);
    const midnight = new Date(Date.parse(at('00:00:00.000')) + 86_400_000).toISOString();
    clock.set(midnight);
    const r = await app('GET', '/v1/agents', { token: org.api_key });
    expect(r.headers.get('RateLimit-Remaining')).toBe(String(FREE_CALLS - 1));
    expect(await usage(org, at('23:59:59.000'))).toMatchObject({ calls: 3, calls_leased: 0 });
    expect((await usage(org, midnight)).calls).toBe(1);
  });

  it('counts an unlimited tier locally and writes it in batches of 100, or after USAGE_FLUSH_MS', async () => {
    const clock = new MovableClock(at('12:00:00.000'));
    const app = clockedApp(clock, { USAGE_FLUSH_MS: String(FLUSH_MS), API_KEY_CACHE_SECONDS: '60' });
    const org = await orgVia(app, 'enterprise');
    // Batches are written with `increment` (leases use `lease`).
    const writes = () => metric(app, 'agentidp_limiter_calls_total', { method: 'increment' });
    const before = await writes();
    expect((await calls(app, org, 99, 10)).every((s) => s === 200)).toBe(true);
    expect((await usage(org, at('12:00:00.000'))).calls).toBe(0);
    expect(await writes()).toBe(before);
    await calls(app, org, 1);
    expect((await usage(org, at('12:00:00.000'))).calls).toBe(100);
    expect(await writes()).toBe(before + 1);

    await calls(app, org, 5);
    expect((await usage(org, at('12:00:00.000'))).calls).toBe(100);
    clock.set(at('12:00:10.000'));
    await app('GET', '/livez');
    expect((await usage(org, at('12:00:10.000'))).calls).toBe(105);
  });

  it('GET /v1/tier includes what this isolate counted and has not written yet', async () => {
    const clock = new MovableClock(at('13:00:00.000'));
    const app = clockedApp(clock, { USAGE_FLUSH_MS: String(FLUSH_MS) });
    for (const tier of ['enterprise', 'free'] as const) {
      const org = await orgVia(app, tier);
      await calls(app, org, 3);
      const body = await json(await app('GET', '/v1/tier', { token: org.api_key }));
      expect(body.usage.calls_today).toBe(4);
    }
  });

  it('settles on an idle timer when the isolate goes quiet', async () => {
    const app = createApp({ idleTimer: true });
    const org = await createOrg();
    const ctx = createExecutionContext();
    const res = await app.request(
      'https://idp.test/v1/agents',
      { headers: { authorization: `Bearer ${org.api_key}` } },
      { ...bindings, USAGE_FLUSH_MS: '1' },
      ctx,
    );
    expect(res.status).toBe(200);
    // The timer (1 ms) runs under this request's waitUntil and gives the lease back.
    await waitOnExecutionContext(ctx);
    expect(await ns.getByName(org.organization_id).usage(Date.now())).toMatchObject({ calls: 1, calls_leased: 0 });
  });
});
