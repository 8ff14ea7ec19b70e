// Tier changes apply at once: the request after a Stripe-applied upgrade or downgrade is limited by the new
// tier, although the tenant's API-key row (with the old tier) is still in the isolate's key cache.
import { describe, expect, it } from 'vitest';
import { TIER_CONFIG } from '../../../worker/features/tiers/tiers.ts';
import { systemClock } from '../../../worker/platform/clock.ts';
import { clockedApp } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import { deliver, paidCheckout, setSubscription, subscriptionEvent } from '../../support/stripe.ts';
import { createOrg, json } from '../../support/worker.ts';

const FREE = String(TIER_CONFIG.free.max_calls_per_day);
const PRO = String(TIER_CONFIG.pro.max_calls_per_day);

// Key rows are kept for 5 minutes: unless the isolate forgot them on the change, the old tier would apply that long.
const cachedKeys = clockedApp(systemClock, { API_KEY_CACHE_SECONDS: '300' });

const limitOf = async (app: typeof cachedKeys, token: string) => {
  const res = await app('GET', '/v1/agents?limit=1', { token });
  expect(res.status).toBe(200);
  return { limit: res.headers.get('RateLimit-Limit'), remaining: res.headers.get('RateLimit-Remaining') };
};

describe('tier changes apply to the next request', () => {
  it('the request right after a Stripe-applied upgrade carries the new RateLimit-Limit, counts kept', async () => {
    const org = await createOrg();
    for (let i = 0; i < 3; i++) expect((await limitOf(cachedKeys, org.api_key)).limit).toBe(FREE);

    const res = await deliver(await paidCheckout(org.organization_id, 'pro'), cachedKeys);
    expect((await json(res)).outcome).toBe('applied');

    // The key row (tier free) was cached in this isolate; the change made it forget the row.
    expect(await limitOf(cachedKeys, org.api_key)).toEqual({ limit: PRO, remaining: String(Number(PRO) - 4) });
    const [row] = await sql<{ tier: string; tier_version: string }>(
      'SELECT tier, tier_version FROM organizations WHERE organization_id = $1',
      [org.organization_id],
    );
    expect(row).toEqual({ tier: 'pro', tier_version: '1' });
  });

  it('the request right after the subscription ends carries the free limit again', async () => {
    const org = await createOrg();
    const checkout = await paidCheckout(org.organization_id, 'enterprise');
    expect((await json(await deliver(checkout, cachedKeys))).outcome).toBe('applied');
    const subscriptionId = checkout.data.object.subscription as string;
    await setSubscription(subscriptionId, {
      status: 'canceled',
      metadata: { orgId: org.organization_id, targetTier: 'enterprise' },
    });
    const unlimited = await cachedKeys('GET', '/v1/agents?limit=1', { token: org.api_key });
    expect(unlimited.headers.get('RateLimit-Limit')).toBeNull();

    const now = Math.floor(Date.now() / 1000);
    const ended = subscriptionEvent(
      'customer.subscription.deleted',
      { id: subscriptionId, orgId: org.organization_id, status: 'canceled' },
      now,
    );
    expect((await json(await deliver(ended, cachedKeys))).outcome).toBe('applied');
    expect((await limitOf(cachedKeys, org.api_key)).limit).toBe(FREE);
  });
});
