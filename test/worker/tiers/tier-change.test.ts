// Tier changes apply at once: the request after a Stripe-applied upgrade or downgrade is limited by the new
// tier, although the tenant's API-key row (with the old tier) is still in the isolate's key cache.
import { describe, expect, it, vi } from 'vitest';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { AuditService } from '../../../worker/features/audit/audit.service.ts';
import { TierService } from '../../../worker/features/tiers/tier.service.ts';
import { TIER_CONFIG } from '../../../worker/features/tiers/tiers.ts';
import { UsageLimiterService } from '../../../worker/features/tiers/usage-limiter.service.ts';
import { systemClock } from '../../../worker/platform/clock.ts';
import { bindings, clockedApp, withDb } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import { checkoutCompleted, deliver, subscriptionEvent } from '../../support/stripe.ts';
import { createOrg, json } from '../../support/worker.ts';

const ns = bindings.TENANT_LIMITER as DurableObjectNamespace<TenantLimiter>;
const FREE = String(TIER_CONFIG.free.max_calls_per_day);
const PRO = String(TIER_CONFIG.pro.max_calls_per_day);

// Key rows are kept for 5 minutes: without the limiter knowing the tier, the old tier would apply that long.
const cachedKeys = clockedApp(systemClock, { API_KEY_CACHE_SECONDS: '300' });
const freshKeys = clockedApp(systemClock, { API_KEY_CACHE_SECONDS: '0' });

const limitOf = async (app: typeof cachedKeys, token: string) => {
  const res = await app('GET', '/v1/agents?limit=1', { token });
  expect(res.status).toBe(200);
  return { limit: res.headers.get('RateLimit-Limit'), remaining: res.headers.get('RateLimit-Remaining') };
};

describe('tier changes reach the rate limiter at once', () => {
  it('the request right after a Stripe-applied upgrade carries the new RateLimit-Limit, counts kept', async () => {
    const org = await createOrg();
    for (let i = 0; i < 3; i++) expect((await limitOf(cachedKeys, org.api_key)).limit).toBe(FREE);

    const res = await deliver(checkoutCompleted(org.organization_id, 'pro'), cachedKeys);
    expect((await json(res)).outcome).toBe('applied');

    // The key row (tier free) is still cached in this isolate; the limiter knows better.
    expect(await limitOf(cachedKeys, org.api_key)).toEqual({ limit: PRO, remaining: String(Number(PRO) - 4) });
    const [row] = await sql<{ tier: string; tier_version: string }>(
      'SELECT tier, tier_version FROM organizations WHERE organization_id = $1',
      [org.organization_id],
    );
    expect(row).toEqual({ tier: 'pro', tier_version: '1' });
  });

  it('the request right after the subscription ends carries the free limit again', async () => {
    const org = await createOrg();
    await deliver(checkoutCompleted(org.organization_id, 'enterprise'), cachedKeys);
    const unlimited = await cachedKeys('GET', '/v1/agents?limit=1', { token: org.api_key });
    expect(unlimited.headers.get('RateLimit-Limit')).toBeNull();

    const now = Math.floor(Date.now() / 1000);
    const ended = subscriptionEvent(
      'customer.subscription.deleted',
      { id: `sub_${crypto.randomUUID().slice(0, 8)}`, orgId: org.organization_id, status: 'canceled' },
      now,
    );
    expect((await json(await deliver(ended, cachedKeys))).outcome).toBe('applied');
    expect((await limitOf(cachedKeys, org.api_key)).limit).toBe(FREE);
  });

  it('a limiter that missed a change learns it from the next request that read the tier afresh', async () => {
    const org = await createOrg();
    expect((await limitOf(cachedKeys, org.api_key)).limit).toBe(FREE);
    // A change whose notice never reached the limiter (as if it was unreachable at the time).
    await sql('UPDATE organizations SET tier = $2, tier_version = tier_version + 1 WHERE organization_id = $1', [
      org.organization_id,
      'pro',
    ]);
    expect((await limitOf(cachedKeys, org.api_key)).limit).toBe(FREE);
    // A request whose key row is read from Postgres carries (pro, 1); the limiter keeps the newer view...
    expect((await limitOf(freshKeys, org.api_key)).limit).toBe(PRO);
    // ...and applies it to requests still holding the old row.
    expect((await limitOf(cachedKeys, org.api_key)).limit).toBe(PRO);
  });

  it('publishes the committed tier only: a change that rolled back tells the limiter nothing new', async () => {
    const org = await createOrg();
    const limiter = new UsageLimiterService(ns, systemClock);
    await withDb(async (db) => {
      const tiers = new TierService(db, limiter, new AuditService(systemClock), systemClock);
      await expect(
        db.tx(async (q) => {
          await tiers.applyUpgrade(org.organization_id, 'pro', { q });
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      await tiers.publishTierChanges();
      // setTier answers the tier in force: an equal or older view changes nothing.
      expect(await limiter.setTier(org.organization_id, { tier: 'free', version: 0 })).toEqual({
        tier: 'free',
        version: 0,
      });

      await tiers.applyUpgrade(org.organization_id, 'pro');
      await tiers.publishTierChanges();
      expect(await limiter.setTier(org.organization_id, { tier: 'free', version: 0 })).toEqual({
        tier: 'pro',
        version: 1,
      });
    });
  });

  it('answers the Stripe webhook although the limiter cannot be told, and logs it', async () => {
    const org = await createOrg();
    const broken = {
      getByName: () => {
        throw new Error('durable object unavailable');
      },
    };
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const app = clockedApp(systemClock, { TENANT_LIMITER: broken });
      const res = await deliver(checkoutCompleted(org.organization_id, 'pro'), app);
      expect(res.status).toBe(200);
      expect((await json(res)).outcome).toBe('applied');
      expect(
        errors.mock.calls.some(([line]) => String(line).includes('tier change not passed to the rate limiter')),
      ).toBe(true);
    } finally {
      errors.mockRestore();
    }
    // The next request reads the row afresh (API_KEY_CACHE_SECONDS is 0 here) and brings the limiter up to date.
    expect((await limitOf(freshKeys, org.api_key)).limit).toBe(PRO);
  });
});
