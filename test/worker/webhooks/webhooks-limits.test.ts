// Webhook amplification: one event fanned out to many subscriptions of one URL, each retried. Subscriptions
// are capped per tier, a (url, events) pair is subscribed once, and every delivery attempt counts against the
// tenant's daily delivery quota; past it, deliveries wait for the next UTC day.

import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { TIER_CONFIG } from '../../../worker/features/tiers/tiers.ts';
import { EventService } from '../../../worker/features/webhooks/event.service.ts';
import { systemClock } from '../../../worker/platform/clock.ts';
import { testDb } from '../../support/db.ts';
import { createWebhook, deliveries, dispatcher, eventually, receiver } from '../../support/webhooks.ts';
import { call, createAgent, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

const bindings = env as unknown as Cloudflare.Env & { TENANT_LIMITER: DurableObjectNamespace<TenantLimiter> };
const DAY = 86_400_000;

const subscribe = (org: Org, url: string, events: string[] = ['agent.created']) =>
  call('POST', '/v1/webhooks', { token: org.api_key, body: { name: 'hook', url, events } });

/** Announces `n` agent.updated events in one committed transaction, without waking the dispatcher. */
async function announce(org: Org, n: number): Promise<void> {
  const db = testDb();
  try {
    await db.tx(async (q) => {
      const ev = new EventService(bindings.WEBHOOK_DISPATCHER, systemClock, 0);
      for (let i = 0; i < n; i++) await ev.announce(q, org.organization_id, 'agent.updated', { n: i });
    });
  } finally {
    await db.close();
  }
}

describe('subscriptions per tier', () => {
  it('the free tier holds 5 subscriptions; the 6th is 429 tier_limit_exceeded; pro holds more', async () => {
    const free = await createOrg();
    const cap = TIER_CONFIG.free.max_webhook_subscriptions!;
    for (let i = 0; i < cap; i++) expect((await subscribe(free, `https://hooks.example.com/${i}`)).status).toBe(201);
    const refused = await expectProblem(
      await subscribe(free, 'https://hooks.example.com/more'),
      429,
      'tier_limit_exceeded',
    );
    expect(refused).toMatchObject({ tier: 'free', limit: cap, current: cap });
    expect((await json(await call('GET', '/v1/tier', { token: free.api_key }))).usage.webhook_subscriptions).toBe(cap);

    const pro = await createOrg('pro');
    for (let i = 0; i <= cap; i++) expect((await subscribe(pro, `https://hooks.example.com/${i}`)).status).toBe(201);
  });
});

describe('one subscription per (url, events) pair', () => {
  it('40 attempts to subscribe one URL to the same events make one subscription, and one event one request', async () => {
    const org = await createOrg('enterprise');
    const rx = receiver('amplify');
    const statuses = await Promise.all(Array.from({ length: 40 }, () => subscribe(org, rx.url).then((r) => r.status)));
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(39);
    await createAgent(org);
    const [hook] = (await json(await call('GET', '/v1/webhooks', { token: org.api_key }))).data;
    await eventually(
      () => deliveries(org, hook.id),
      (ds) => ds[0]?.status === 'delivered',
      'delivered',
    );
    expect(await rx.requests()).toHaveLength(1);
  });

  it('the same set in another order or spelling is a duplicate; another set or URL is not', async () => {
    const org = await createOrg('pro');
    const first = await json(await subscribe(org, 'https://hooks.example.com/a', ['agent.created', 'agent.updated']));
    for (const [url, events] of [
      ['https://hooks.example.com/a', ['agent.updated', 'agent.created']],
      ['https://HOOKS.example.com/a', ['agent.created', 'agent.updated', 'agent.created']],
    ] as const) {
      const dup = await expectProblem(await subscribe(org, url, [...events]), 409, 'conflict');
      expect(dup.existing_id).toBe(first.id);
    }
    expect((await subscribe(org, 'https://hooks.example.com/a', ['agent.created'])).status).toBe(201);
    expect((await subscribe(org, 'https://hooks.example.com/b', ['agent.created', 'agent.updated'])).status).toBe(201);
    // Another tenant may subscribe the same pair.
    expect(
      (await subscribe(await createOrg(), 'https://hooks.example.com/a', ['agent.created', 'agent.updated'])).status,
    ).toBe(201);
  });

  it('a PATCH that would make a duplicate is a 409; patching a subscription onto itself is not', async () => {
    const org = await createOrg();
    const a = await createWebhook(org, 'https://hooks.example.com/a', ['agent.created']);
    const b = await createWebhook(org, 'https://hooks.example.com/b', ['agent.created']);
    await expectProblem(
      await call('PATCH', `/v1/webhooks/${b.id}`, { token: org.api_key, body: { url: 'https://hooks.example.com/a' } }),
      409,
      'conflict',
    );
    const same = await call('PATCH', `/v1/webhooks/${a.id}`, {
      token: org.api_key,
      body: { url: 'https://hooks.example.com/a', events: ['agent.created'] },
    });
    expect(same.status).toBe(200);
  });
});

describe('daily delivery quota', () => {
  it('counts every attempt, retries included, and postpones what is over the quota to the next UTC day', async () => {
    const org = await createOrg();
    const rx = receiver('quota');
    await rx.script([{ status: 500 }]);
    const hook = await createWebhook(org, rx.url, ['agent.updated']);
    const limiter = bindings.TENANT_LIMITER.getByName(org.organization_id);
    const limit = TIER_CONFIG.free.max_webhook_deliveries_per_day!;
    const now = Date.now();
    // The day's quota is spent but for 2 attempts.
    await limiter.take('deliveries', limit, now, limit - 2);

    await announce(org, 2);
    // First run: both sent (one fails with 500 and is retried later); the quota is now spent.
    expect(await dispatcher(hook.id).runDue(hook.id, now)).toMatchObject({ attempted: 2, delivered: 1 });
    await announce(org, 1);
    const held = await dispatcher(hook.id).runDue(hook.id, now + 2_000);
    expect(held.attempted).toBe(0);
    const midnight = Math.floor(Math.max(now + 2_000, Date.now()) / DAY) * DAY + DAY;
    expect(held.nextDueMs).toBe(midnight);
    const waiting = (await deliveries(org, hook.id)).filter((d) => d.status !== 'delivered');
    expect(waiting).toHaveLength(2);
    for (const d of waiting) {
      expect(d.next_retry_at).toBe(new Date(midnight).toISOString());
      expect(d.last_error).toContain('quota');
    }
    // The retry waiting for the quota keeps its attempt count: postponing spends no attempt.
    expect(waiting.map((d) => d.attempt_count).sort()).toEqual([0, 1]);
    expect((await limiter.usage(now)).deliveries).toBe(limit);

    // The next day: both go out and count on that day.
    expect(await dispatcher(hook.id).runDue(hook.id, midnight + 1_000)).toMatchObject({ attempted: 2, delivered: 2 });
    expect((await limiter.usage(midnight + 1_000)).deliveries).toBe(2);
    expect((await deliveries(org, hook.id)).every((d) => d.status === 'delivered')).toBe(true);
  });

  it("shows the day's delivery attempts in GET /v1/tier", async () => {
    const org = await createOrg();
    const hook = await createWebhook(org, receiver('usage').url, ['agent.updated']);
    await announce(org, 3);
    await dispatcher(hook.id).runDue(hook.id, Date.now());
    const tier = await json(await call('GET', '/v1/tier', { token: org.api_key }));
    expect(tier.limits.max_webhook_deliveries_per_day).toBe(TIER_CONFIG.free.max_webhook_deliveries_per_day);
    expect(tier.usage.webhook_deliveries_today).toBe(3);
  });
});
