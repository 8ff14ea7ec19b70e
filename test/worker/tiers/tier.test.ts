import { describe, expect, it } from 'vitest';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { AuditService } from '../../../worker/features/audit/audit.service.ts';
import { checkUpgrade, TierService } from '../../../worker/features/tiers/tier.service.ts';
import { TIER_CONFIG } from '../../../worker/features/tiers/tiers.ts';
import { UsageLimiterService } from '../../../worker/features/tiers/usage-limiter.service.ts';
import { systemClock } from '../../../worker/platform/clock.ts';
import { bindings, clockedApp, MovableClock, testNow, withDb } from '../../support/clocked-app.ts';
import { agentInput, call, createAgent, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

const ns = bindings.TENANT_LIMITER as DurableObjectNamespace<TenantLimiter>;
const FREE_AGENTS = TIER_CONFIG.free.max_agents!;

const tierService = (db: ConstructorParameters<typeof TierService>[0]) =>
  new TierService(
    db,
    new UsageLimiterService(ns, systemClock, { flushMs: 0, waitUntil: () => undefined }),
    new AuditService(systemClock),
    systemClock,
  );

async function createAgents(org: Org, n: number) {
  const agents = [];
  for (let i = 0; i < n; i++) agents.push(await createAgent(org, agentInput(i)));
  return agents;
}

describe('GET /v1/tier', () => {
  it('reports tier, limits and usage equal to what was spent', async () => {
    // Every request at one reading of the suite's clock, so the counts and reset_at agree on "today" even
    // when the test runs across midnight.
    const clock = new MovableClock(testNow().toISOString());
    const app = clockedApp(clock);
    const org = await createOrg();
    const created = [];
    for (const n of [0, 1]) created.push(await app('POST', '/v1/agents', { token: org.api_key, body: agentInput(n) }));
    expect(created.map((r) => r.status)).toEqual([201, 201]);
    const second = await json(created[1]!);
    expect((await app('DELETE', `/v1/agents/${second.agent_id}`, { token: org.api_key })).status).toBe(200);
    await app('GET', '/v1/agents', { token: org.api_key });
    await ns
      .getByName(org.organization_id)
      .increment('tokens', TIER_CONFIG.free.max_tokens_per_day, clock.now().getTime(), 7);

    const res = await app('GET', '/v1/tier', { token: org.api_key });
    expect(res.status).toBe(200);
    const body = await json(res);
    // 2 creations + 1 decommission + 1 list + this request.
    const nowMs = clock.now().getTime();
    expect(body).toEqual({
      tier: 'free',
      limits: TIER_CONFIG.free,
      usage: { agents: 1, calls_today: 5, tokens_today: 7, webhook_subscriptions: 0, webhook_deliveries_today: 0 },
      reset_at: new Date(Math.floor(nowMs / 86_400_000) * 86_400_000 + 86_400_000).toISOString(),
    });
    expect(Number(res.headers.get('RateLimit-Remaining'))).toBe(TIER_CONFIG.free.max_calls_per_day! - 5);
  });

  it('reports unlimited as null', async () => {
    const org = await createOrg('enterprise');
    const body = await json(await call('GET', '/v1/tier', { token: org.api_key }));
    expect(body.tier).toBe('enterprise');
    expect(body.limits).toEqual({
      max_agents: null,
      max_calls_per_day: null,
      max_tokens_per_day: null,
      max_webhook_subscriptions: TIER_CONFIG.enterprise.max_webhook_subscriptions,
      max_webhook_deliveries_per_day: null,
    });
    expect(body.usage.calls_today).toBe(1);
  });

  it('requires a tenant key', async () => {
    await expectProblem(await call('GET', '/v1/tier'), 401, 'unauthorized');
  });
});

describe('agent limit', () => {
  it('lets exactly one of two concurrent creations at max_agents − 1 succeed', async () => {
    const org = await createOrg();
    await createAgents(org, FREE_AGENTS - 1);
    const results = await Promise.all(
      [100, 101].map((n) => call('POST', '/v1/agents', { token: org.api_key, body: agentInput(n) })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 429]);
    const body = await expectProblem(results.find((r) => r.status === 429)!, 429, 'tier_limit_exceeded');
    expect(body).toMatchObject({ tier: 'free', limit: FREE_AGENTS, current: FREE_AGENTS });
    const status = await json(await call('GET', '/v1/tier', { token: org.api_key }));
    expect(status.usage.agents).toBe(FREE_AGENTS);
  });

  it('admits exactly one of many concurrent creations at max_agents − 1', async () => {
    const org = await createOrg();
    await createAgents(org, FREE_AGENTS - 1);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call('POST', '/v1/agents', { token: org.api_key, body: agentInput(200 + i) }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 429)).toHaveLength(5);
  });

  it('does not count decommissioned agents, and lifts with an upgrade', async () => {
    const org = await createOrg();
    const agents = await createAgents(org, FREE_AGENTS);
    await expectProblem(
      await call('POST', '/v1/agents', { token: org.api_key, body: agentInput(50) }),
      429,
      'tier_limit_exceeded',
    );
    await call('DELETE', `/v1/agents/${agents[0].agent_id}`, { token: org.api_key });
    expect((await call('POST', '/v1/agents', { token: org.api_key, body: agentInput(51) })).status).toBe(201);
    await expectProblem(
      await call('POST', '/v1/agents', { token: org.api_key, body: agentInput(52) }),
      429,
      'tier_limit_exceeded',
    );

    await withDb((db) => tierService(db).applyUpgrade(org.organization_id, 'pro', { actor: 'test' }));
    expect((await call('POST', '/v1/agents', { token: org.api_key, body: agentInput(53) })).status).toBe(201);
  });
});

describe('tier changes', () => {
  it('applyUpgrade inside the caller transaction: audited, idempotent, rolled back with it', async () => {
    const org = await createOrg();
    await withDb(async (db) => {
      const tiers = tierService(db);
      // Rolled back with the caller's transaction.
      await expect(
        db.tx(async (q) => {
          await tiers.applyUpgrade(org.organization_id, 'pro', { q, actor: 'stripe' });
          throw new Error('webhook handler failed later');
        }),
      ).rejects.toThrow('webhook handler failed later');
      expect(await tiers.fetchTier(org.organization_id)).toBe('free');

      const change = await db.tx((q) => tiers.applyUpgrade(org.organization_id, 'pro', { q, actor: 'stripe' }));
      expect(change).toEqual({ previous: 'free', tier: 'pro', changed: true });
      const again = await db.tx((q) => tiers.applyUpgrade(org.organization_id, 'pro', { q, actor: 'stripe' }));
      expect(again).toEqual({ previous: 'pro', tier: 'pro', changed: false });

      const events = await db.query<{ event_type: string; actor: string; payload: unknown }>(
        `SELECT event_type, actor, payload FROM audit_events WHERE organization_id = $1 AND event_type LIKE 'tier.%'`,
        [org.organization_id],
      );
      expect(events).toEqual([{ event_type: 'tier.upgraded', actor: 'stripe', payload: { from: 'free', to: 'pro' } }]);
      const [row] = await db.query<{ tier_updated_at: string | null }>(
        'SELECT tier_updated_at FROM organizations WHERE organization_id = $1',
        [org.organization_id],
      );
      expect(row!.tier_updated_at).not.toBeNull();
    });
    const status = await json(await call('GET', '/v1/tier', { token: org.api_key }));
    expect(status.tier).toBe('pro');
    expect(status.limits).toEqual(TIER_CONFIG.pro);
  });

  it('fetchTier defaults to free for an unknown organization', async () => {
    expect(await withDb((db) => tierService(db).fetchTier(crypto.randomUUID()))).toBe('free');
  });

  it('applyUpgrade of an unknown organization is not_found', async () => {
    await expect(withDb((db) => tierService(db).applyUpgrade(crypto.randomUUID(), 'pro'))).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('checkUpgrade allows only strictly higher tiers', () => {
    expect(checkUpgrade('free', 'pro')).toEqual({ ok: true });
    expect(checkUpgrade('free', 'enterprise')).toEqual({ ok: true });
    expect(checkUpgrade('pro', 'pro').ok).toBe(false);
    expect(checkUpgrade('enterprise', 'pro').ok).toBe(false);
  });
});

describe('POST /v1/tier/upgrade', () => {
  it('rejects an unknown target_tier with 400', async () => {
    const org = await createOrg();
    const body = await expectProblem(
      await call('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'platinum' } }),
      400,
      'validation_failed',
    );
    expect(body.errors.map((e: { path: string }) => e.path)).toContain('target_tier');
    await expectProblem(
      await call('POST', '/v1/tier/upgrade', { token: org.api_key, body: {} }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await call('POST', '/v1/tier/upgrade', { token: org.api_key, rawBody: '{"target_tier":' }),
      400,
      'malformed_json',
    );
  });

  it('rejects the current or a lower tier with 400', async () => {
    const org = await createOrg('pro');
    for (const target_tier of ['pro', 'free']) {
      const body = await expectProblem(
        await call('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier } }),
        400,
        'validation_failed',
      );
      expect(body.errors).toEqual([{ path: 'target_tier', message: expect.stringContaining('pro') }]);
    }
  });

  it('answers 503 billing_not_configured for a valid upgrade while Stripe is not configured', async () => {
    const org = await createOrg();
    // The test bindings configure a Stripe stand-in (billing.test.ts); here STRIPE_SECRET_KEY is unset.
    const withoutStripe = clockedApp(systemClock, { STRIPE_SECRET_KEY: '' });
    await expectProblem(
      await withoutStripe('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'pro' } }),
      503,
      'billing_not_configured',
    );
  });
});
