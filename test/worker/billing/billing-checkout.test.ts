// Checkout through the real `stripe` client against the local Stripe stand-in (servers/stripe-stand-in.ts),
// which records what it was sent.
import { describe, expect, it } from 'vitest';
import { CHECKOUT_DEDUP_WINDOW_MS } from '../../../worker/features/billing/checkout-idempotency.ts';
import { systemClock } from '../../../worker/platform/clock.ts';
import { clockedApp, MovableClock } from '../../support/clocked-app.ts';
import { deliver, failNext, PRICES, standInRequests, subscriptionEvent, WEBHOOK_PATH } from '../../support/stripe.ts';
import { call, createOrg, expectProblem, json } from '../../support/worker.ts';

const upgrade = (token: string, target_tier: string, headers: Record<string, string> = {}) =>
  call('POST', '/v1/tier/upgrade', { token, body: { target_tier }, headers });

describe('POST /v1/tier/upgrade → Stripe Checkout', () => {
  it('opens a subscription session with the tier price, metadata, client_reference_id and an idempotency key', async () => {
    const org = await createOrg();
    const res = await upgrade(org.api_key, 'pro');
    expect(res.status).toBe(200);
    const { checkout_url } = await json(res);

    const [sent, ...more] = await standInRequests(org.organization_id);
    expect(more).toEqual([]);
    expect(sent).toMatchObject({
      method: 'POST',
      path: '/v1/checkout/sessions',
      authorized: true,
      status: 200,
      replayed: false,
      content_type: expect.stringContaining('application/x-www-form-urlencoded'),
    });
    expect(sent!.params).toEqual({
      mode: 'subscription',
      line_items: [{ price: PRICES.pro, quantity: '1' }],
      client_reference_id: org.organization_id,
      metadata: { orgId: org.organization_id, targetTier: 'pro' },
      subscription_data: { metadata: { orgId: org.organization_id, targetTier: 'pro' } },
      success_url: 'http://localhost:3000/dashboard?billing=success',
      cancel_url: 'http://localhost:3000/dashboard?billing=cancel',
    });
    expect(sent!.idempotency_key).toMatch(new RegExp(`^agentidp-checkout-${org.organization_id}-[0-9a-f]{40}$`));
    expect(checkout_url).toBe(`https://checkout.stripe.com/c/pay/${sent!.session_id}#test`);
  });

  it('uses the enterprise price for an enterprise upgrade, from pro too', async () => {
    const org = await createOrg('pro');
    expect((await upgrade(org.api_key, 'enterprise')).status).toBe(200);
    const [sent] = await standInRequests(org.organization_id);
    expect(sent!.params.line_items).toEqual([{ price: PRICES.enterprise, quantity: '1' }]);
    expect(sent!.params.metadata).toEqual({ orgId: org.organization_id, targetTier: 'enterprise' });
  });

  it('a retried request gets the same session: same idempotency key, replayed by Stripe', async () => {
    const org = await createOrg();
    const first = await json(await upgrade(org.api_key, 'pro'));
    const second = await json(await upgrade(org.api_key, 'pro'));
    expect(second.checkout_url).toBe(first.checkout_url);
    const sent = await standInRequests(org.organization_id);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.idempotency_key).toBe(sent[0]!.idempotency_key);
    expect(sent[1]!.replayed).toBe(true);
    expect(new Set(sent.map((r) => r.session_id)).size).toBe(1);
  });

  it('a different target or a later window is a different session', async () => {
    const org = await createOrg();
    const clock = new MovableClock('2030-01-01T00:00:00Z');
    const app = clockedApp(clock);
    const a = await json(await app('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'pro' } }));
    const b = await json(
      await app('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'enterprise' } }),
    );
    clock.set(new Date(Date.parse('2030-01-01T00:00:00Z') + CHECKOUT_DEDUP_WINDOW_MS).toISOString());
    const c = await json(await app('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'pro' } }));
    expect(new Set([a.checkout_url, b.checkout_url, c.checkout_url]).size).toBe(3);
    const keys = (await standInRequests(org.organization_id)).map((r) => r.idempotency_key);
    expect(new Set(keys).size).toBe(3);
  });

  it('honours a client Idempotency-Key, scoped to the organization', async () => {
    const org = await createOrg();
    const other = await createOrg();
    const k = { 'idempotency-key': `retry-${crypto.randomUUID()}` };
    const first = await json(await upgrade(org.api_key, 'pro', k));
    const again = await json(await upgrade(org.api_key, 'pro', k));
    const fresh = await json(await upgrade(org.api_key, 'pro', { 'idempotency-key': `retry-${crypto.randomUUID()}` }));
    const otherOrg = await json(await upgrade(other.api_key, 'pro', k));
    expect(again.checkout_url).toBe(first.checkout_url);
    expect(fresh.checkout_url).not.toBe(first.checkout_url);
    expect(otherOrg.checkout_url).not.toBe(first.checkout_url);
    const [a, b, c] = await standInRequests(org.organization_id);
    expect(b!.idempotency_key).toBe(a!.idempotency_key);
    expect(c!.idempotency_key).not.toBe(a!.idempotency_key);
    const [o] = await standInRequests(other.organization_id);
    expect(o!.idempotency_key).not.toBe(a!.idempotency_key);
  });

  it('rejects the current or a lower tier with 400 and calls nobody', async () => {
    const org = await createOrg('enterprise');
    for (const target_tier of ['enterprise', 'pro', 'free']) {
      await expectProblem(await upgrade(org.api_key, target_tier), 400, 'validation_failed');
    }
    expect(await standInRequests(org.organization_id)).toEqual([]);
  });

  it('retries a transient Stripe failure with the same key and opens one session', async () => {
    const org = await createOrg();
    await failNext(org.organization_id, 503, 1);
    const res = await upgrade(org.api_key, 'pro');
    expect(res.status).toBe(200);
    const sent = await standInRequests(org.organization_id);
    expect(sent.map((r) => r.status)).toEqual([503, 200]);
    expect(sent[1]!.idempotency_key).toBe(sent[0]!.idempotency_key);
  });

  it('answers 502 billing_provider_error when Stripe keeps failing or refuses the request', async () => {
    const org = await createOrg();
    await failNext(org.organization_id, 500, 3);
    await expectProblem(await upgrade(org.api_key, 'pro'), 502, 'billing_provider_error');
    expect(await standInRequests(org.organization_id)).toHaveLength(3); // the first try and two retries

    const misconfigured = clockedApp(systemClock, { STRIPE_PRICE_ID_PRO: 'price_does_not_exist' });
    const other = await createOrg();
    await expectProblem(
      await misconfigured('POST', '/v1/tier/upgrade', { token: other.api_key, body: { target_tier: 'pro' } }),
      502,
      'billing_provider_error',
    );
    const [refused, ...none] = await standInRequests(other.organization_id);
    expect(refused!.status).toBe(400);
    expect(none).toEqual([]); // a 400 is not retried
  });
});

describe('POST /v1/billing/checkout', () => {
  it('opens a subscription session at STRIPE_PRICE_ID with the given redirect URLs', async () => {
    const org = await createOrg();
    const body = {
      success_url: 'https://app.example/ok?s={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://app.example/cancel',
    };
    const res = await call('POST', '/v1/billing/checkout', { token: org.api_key, body });
    expect(res.status).toBe(200);
    const { checkout_url } = await json(res);
    const [sent] = await standInRequests(org.organization_id);
    expect(sent!.params).toEqual({
      mode: 'subscription',
      line_items: [{ price: PRICES.subscription, quantity: '1' }],
      client_reference_id: org.organization_id,
      metadata: { orgId: org.organization_id },
      subscription_data: { metadata: { orgId: org.organization_id } },
      success_url: body.success_url,
      cancel_url: body.cancel_url,
    });
    expect(sent!.idempotency_key).toMatch(new RegExp(`^agentidp-checkout-${org.organization_id}-`));
    expect(checkout_url).toContain(sent!.session_id);
  });

  it('defaults the redirect URLs from APP_BASE_URL', async () => {
    const org = await createOrg();
    const app = clockedApp(systemClock, { APP_BASE_URL: 'https://console.example/' });
    expect((await app('POST', '/v1/billing/checkout', { token: org.api_key, body: {} })).status).toBe(200);
    const [sent] = await standInRequests(org.organization_id);
    expect(sent!.params.success_url).toBe('https://console.example/dashboard?billing=success');
    expect(sent!.params.cancel_url).toBe('https://console.example/dashboard?billing=cancel');
  });

  it('409 idempotency_key_reused when a client key comes back with other parameters', async () => {
    const org = await createOrg();
    const headers = { 'idempotency-key': `k-${crypto.randomUUID()}` };
    const first = await call('POST', '/v1/billing/checkout', {
      token: org.api_key,
      headers,
      body: { success_url: 'https://a.example/' },
    });
    expect(first.status).toBe(200);
    await expectProblem(
      await call('POST', '/v1/billing/checkout', {
        token: org.api_key,
        headers,
        body: { success_url: 'https://b.example/' },
      }),
      409,
      'idempotency_key_reused',
    );
  });

  it('rejects redirect URLs that are not absolute http(s)', async () => {
    const org = await createOrg();
    for (const success_url of ['javascript:alert(1)', '/relative', 'not a url']) {
      const body = await expectProblem(
        await call('POST', '/v1/billing/checkout', { token: org.api_key, body: { success_url } }),
        400,
        'validation_failed',
      );
      expect(body.errors.map((e: { path: string }) => e.path)).toContain('success_url');
    }
    expect(await standInRequests(org.organization_id)).toEqual([]);
  });

  it('requires a tenant key', async () => {
    await expectProblem(await call('POST', '/v1/billing/checkout', { body: {} }), 401, 'unauthorized');
    await expectProblem(await call('GET', '/v1/billing/subscription'), 401, 'unauthorized');
  });
});

describe('GET /v1/billing/subscription', () => {
  it('is "free" with nulls before any subscription, then the stored state', async () => {
    const org = await createOrg();
    expect(await json(await call('GET', '/v1/billing/subscription', { token: org.api_key }))).toEqual({
      status: 'free',
      current_period_end: null,
      stripe_subscription_id: null,
    });
    const periodEnd = Math.floor(Date.now() / 1000) + 30 * 86_400;
    const event = subscriptionEvent(
      'customer.subscription.created',
      { id: 'sub_status_test', orgId: org.organization_id, status: 'active', periodEnd },
      Math.floor(Date.now() / 1000),
    );
    expect((await deliver(event)).status).toBe(200);
    expect(await json(await call('GET', '/v1/billing/subscription', { token: org.api_key }))).toEqual({
      status: 'active',
      current_period_end: new Date(periodEnd * 1000).toISOString(),
      stripe_subscription_id: 'sub_status_test',
    });
  });
});

describe('without STRIPE_SECRET_KEY', () => {
  const app = clockedApp(systemClock, { STRIPE_SECRET_KEY: '' });

  it('billing routes answer 503 billing_not_configured; everything else works', async () => {
    const org = await createOrg();
    await expectProblem(
      await app('POST', '/v1/billing/checkout', { token: org.api_key, body: {} }),
      503,
      'billing_not_configured',
    );
    await expectProblem(
      await app('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'pro' } }),
      503,
      'billing_not_configured',
    );
    await expectProblem(
      await app('POST', WEBHOOK_PATH, { rawBody: '{}', headers: { 'stripe-signature': 't=1,v1=00' } }),
      503,
      'billing_not_configured',
    );
    // Validation still comes first; reads of local state and other routes work.
    await expectProblem(
      await app('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'free' } }),
      400,
      'validation_failed',
    );
    expect((await app('GET', '/v1/billing/subscription', { token: org.api_key })).status).toBe(200);
    expect((await app('GET', '/v1/tier', { token: org.api_key })).status).toBe(200);
    expect(await standInRequests(org.organization_id)).toEqual([]);
  });

  it('a tier without a price (neither STRIPE_PRICE_ID_<TIER> nor STRIPE_PRICE_ID) is 503 too', async () => {
    const org = await createOrg();
    const noPrice = clockedApp(systemClock, { STRIPE_PRICE_ID_ENTERPRISE: '', STRIPE_PRICE_ID: '' });
    const body = await expectProblem(
      await noPrice('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'enterprise' } }),
      503,
      'billing_not_configured',
    );
    expect(body.detail).toContain('STRIPE_PRICE_ID_ENTERPRISE');
    // The pro price is still set, so pro checkouts work.
    expect(
      (await noPrice('POST', '/v1/tier/upgrade', { token: org.api_key, body: { target_tier: 'pro' } })).status,
    ).toBe(200);
  });

  it('the webhook answers 503 without STRIPE_WEBHOOK_SECRET', async () => {
    const noSecret = clockedApp(systemClock, { STRIPE_WEBHOOK_SECRET: '' });
    await expectProblem(
      await noSecret('POST', WEBHOOK_PATH, { rawBody: '{}', headers: { 'stripe-signature': 't=1,v1=00' } }),
      503,
      'billing_not_configured',
    );
  });
});
