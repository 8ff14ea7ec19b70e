// The Stripe webhook: signatures made by the `stripe` package's own test-header helper with the configured
// secret; effects read back from the database (tier, audit chain, tenant_subscriptions, webhook outbox).
import { describe, expect, inject, it } from 'vitest';
import {
  billingRows,
  checkoutCompleted,
  deliver,
  paidCheckout,
  postWebhook,
  setSubscription,
  signature,
  stripeEvent,
  stripeEventRow,
  subscriptionEvent,
  subscriptionFetches,
} from '../../support/stripe.ts';
import { createWebhook } from '../../support/webhooks.ts';
import { call, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

const now = () => Math.floor(Date.now() / 1000);

/** An organization with a webhook subscription for the billing events, so announcements are visible. */
async function orgWithHook(tier?: string): Promise<Org> {
  const org = await createOrg(tier);
  await createWebhook(org, `${inject('webhookReceiverUrl')}/hooks/billing-${org.organization_id}`, [
    'tier.upgraded',
    'subscription.updated',
  ]);
  return org;
}

describe('checkout.session.completed', () => {
  it('applies the upgrade once, after asking Stripe for the subscription: tier, subscription, audit, announcements', async () => {
    const org = await orgWithHook();
    const event = await paidCheckout(org.organization_id, 'pro');
    const subscription = event.data.object.subscription as string;
    const res = await deliver(event);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ received: true, event_id: event.id, outcome: 'applied' });
    expect(await subscriptionFetches(subscription)).toBe(1);

    const rows = await billingRows(org.organization_id);
    expect(rows.tier).toBe('pro');
    expect(rows.subscription).toMatchObject({ status: 'active', stripe_subscription_id: subscription, tier: 'pro' });
    expect(rows.audit).toEqual([
      {
        event_type: 'billing.subscription_updated',
        actor: 'stripe',
        payload: expect.objectContaining({
          status: 'active',
          previous_status: null,
          tier: 'pro',
          stripe_event_id: event.id,
        }),
      },
      {
        event_type: 'tier.upgraded',
        actor: 'stripe',
        payload: {
          from: 'free',
          to: 'pro',
          stripe_event_id: event.id,
          checkout_session_id: event.data.object.id,
          stripe_subscription_id: subscription,
        },
      },
    ]);
    expect(rows.deliveries.sort()).toEqual(['subscription.updated', 'tier.upgraded']);
    expect(await stripeEventRow(event.id)).toEqual({
      id: event.id,
      type: 'checkout.session.completed',
      outcome: 'applied',
      organization_id: org.organization_id,
    });
    expect((await json(await call('GET', '/v1/tier', { token: org.api_key }))).tier).toBe('pro');
  });

  it('the same event three times: one effect, later deliveries answered 200 duplicate', async () => {
    const org = await orgWithHook();
    const event = await paidCheckout(org.organization_id, 'enterprise');
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      const res = await deliver(event);
      expect(res.status).toBe(200);
      outcomes.push((await json(res)).outcome);
    }
    expect(outcomes).toEqual(['applied', 'duplicate', 'duplicate']);
    const rows = await billingRows(org.organization_id);
    expect(rows.tier).toBe('enterprise');
    expect(rows.audit.map((a) => a.event_type)).toEqual(['billing.subscription_updated', 'tier.upgraded']);
    expect(rows.deliveries.sort()).toEqual(['subscription.updated', 'tier.upgraded']);
  });

  it('the same event delivered 10 times in parallel applies once', async () => {
    const org = await orgWithHook();
    const event = await paidCheckout(org.organization_id, 'pro');
    const payload = JSON.stringify(event);
    const header = await signature(payload);
    const responses = await Promise.all(Array.from({ length: 10 }, () => postWebhook(payload, header)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const outcomes = await Promise.all(responses.map(async (r) => (await json(r)).outcome));
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(9);
    const rows = await billingRows(org.organization_id);
    expect(rows.tier).toBe('pro');
    expect(rows.audit.map((a) => a.event_type)).toEqual(['billing.subscription_updated', 'tier.upgraded']);
    expect(rows.deliveries.sort()).toEqual(['subscription.updated', 'tier.upgraded']);
  });

  it('an unknown organization: 200, recorded as ignored, no effect anywhere', async () => {
    const ghost = crypto.randomUUID();
    const event = checkoutCompleted(ghost, 'pro');
    const res = await deliver(event);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      received: true,
      event_id: event.id,
      outcome: 'ignored',
      reason: 'unknown_organization',
    });
    expect(await stripeEventRow(event.id)).toMatchObject({
      outcome: 'ignored:unknown_organization',
      organization_id: null,
    });
    const rows = await billingRows(ghost);
    expect(rows).toEqual({ tier: undefined, audit: [], subscription: undefined, deliveries: [] });
  });

  it('metadata that cannot name an organization or a tier is ignored, not a 500', async () => {
    const org = await createOrg();
    const cases = [
      [{ orgId: 'not-a-uuid', targetTier: 'pro' }, 'invalid_metadata'],
      [{ orgId: org.organization_id, targetTier: 'platinum' }, 'invalid_metadata'],
      [{ orgId: org.organization_id }, 'not_an_upgrade'],
    ] as const;
    for (const [metadata, reason] of cases) {
      const res = await deliver(checkoutCompleted(org.organization_id, 'pro', { metadata }));
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ outcome: 'ignored', reason });
    }
    expect((await billingRows(org.organization_id)).tier).toBe('free');
  });

  it('waits for payment: unpaid completion changes nothing, async_payment_succeeded upgrades', async () => {
    const org = await createOrg();
    const unpaid = checkoutCompleted(org.organization_id, 'pro', { payment_status: 'unpaid' });
    expect(await json(await deliver(unpaid))).toMatchObject({ outcome: 'ignored', reason: 'payment_pending' });
    expect((await billingRows(org.organization_id)).tier).toBe('free');
    await setSubscription(unpaid.data.object.subscription as string, {
      status: 'active',
      metadata: { orgId: org.organization_id, targetTier: 'pro' },
    });
    const paid = stripeEvent('checkout.session.async_payment_succeeded', {
      ...unpaid.data.object,
      payment_status: 'paid',
    });
    expect(await json(await deliver(paid))).toMatchObject({ outcome: 'applied' });
    expect((await billingRows(org.organization_id)).tier).toBe('pro');
  });

  it('never lowers a tier: a completed pro checkout for an enterprise organization records the subscription only', async () => {
    const org = await createOrg('enterprise');
    expect(await json(await deliver(await paidCheckout(org.organization_id, 'pro')))).toMatchObject({
      outcome: 'applied',
    });
    const rows = await billingRows(org.organization_id);
    expect(rows.tier).toBe('enterprise');
    expect(rows.subscription).toMatchObject({ status: 'active', tier: 'pro' });
    expect(rows.audit.map((a) => a.event_type)).toEqual(['billing.subscription_updated']);
  });

  it('unknown event types: 200, ignored', async () => {
    const event = stripeEvent('invoice.paid', { id: 'in_test', object: 'invoice' });
    const res = await deliver(event);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      received: true,
      event_id: event.id,
      outcome: 'ignored',
      reason: 'unhandled_type',
    });
  });
});

describe('refused deliveries: 400 and no effect', () => {
  async function refused(res: Response, reason: string, org: Org, eventId: string) {
    const body = await expectProblem(res, 400, 'stripe_signature_invalid');
    expect(body.reason).toBe(reason);
    expect((await billingRows(org.organization_id)).tier).toBe('free');
    expect(await stripeEventRow(eventId)).toBeUndefined();
  }

  it('a tampered body', async () => {
    const org = await createOrg();
    const event = await paidCheckout(org.organization_id, 'pro');
    const payload = JSON.stringify(event);
    const header = await signature(payload);
    await refused(
      await postWebhook(payload.replace('"pro"', '"enterprise"'), header),
      'signature_mismatch',
      org,
      event.id,
    );
    await refused(await postWebhook(`${payload} `, header), 'signature_mismatch', org, event.id);
    // The genuine delivery still applies: the refusals recorded nothing.
    expect(await json(await postWebhook(payload, header))).toMatchObject({ outcome: 'applied' });
    expect((await billingRows(org.organization_id)).tier).toBe('pro');
  });

  it('a wrong secret', async () => {
    const org = await createOrg();
    const event = checkoutCompleted(org.organization_id, 'pro');
    const payload = JSON.stringify(event);
    await refused(
      await postWebhook(payload, await signature(payload, { secret: 'whsec_not_the_configured_one' })),
      'signature_mismatch',
      org,
      event.id,
    );
  });

  it('a timestamp outside the tolerance', async () => {
    const org = await createOrg();
    const event = checkoutCompleted(org.organization_id, 'pro');
    const payload = JSON.stringify(event);
    await refused(
      await postWebhook(payload, await signature(payload, { timestamp: now() - 600 })),
      'timestamp_outside_tolerance',
      org,
      event.id,
    );
  });

  it('a missing or malformed header', async () => {
    const org = await createOrg();
    const event = checkoutCompleted(org.organization_id, 'pro');
    const payload = JSON.stringify(event);
    await refused(await postWebhook(payload, null), 'missing_header', org, event.id);
    await refused(await postWebhook(payload, 'not a signature'), 'malformed_header', org, event.id);
    const valid = await signature(payload);
    await refused(await postWebhook(payload, valid.replace('v1=', 'v0=')), 'malformed_header', org, event.id);
  });

  it('a signed body that is not a Stripe event: 400 stripe_event_invalid', async () => {
    for (const payload of ['not json', '{"hello":"world"}', '[]']) {
      await expectProblem(await postWebhook(payload, await signature(payload)), 400, 'stripe_event_invalid');
    }
  });
});

describe('customer.subscription.*', () => {
  const sub = (org: Org, status: string, extra: { periodEnd?: number } = {}) => ({
    id: `sub_${org.organization_id.slice(0, 8)}`,
    orgId: org.organization_id,
    status,
    customer: `cus_${org.organization_id.slice(0, 8)}`,
    ...extra,
  });

  it('upserts tenant_subscriptions, audits, announces subscription.updated', async () => {
    const org = await orgWithHook();
    const t = now();
    const periodEnd = t + 30 * 86_400;
    const created = subscriptionEvent('customer.subscription.created', sub(org, 'active', { periodEnd }), t);
    expect(await json(await deliver(created))).toMatchObject({ outcome: 'applied' });
    const rows = await billingRows(org.organization_id);
    expect(rows.subscription).toMatchObject({
      status: 'active',
      stripe_subscription_id: sub(org, 'active').id,
      stripe_customer_id: sub(org, 'active').customer,
      last_event_created: String(t),
    });
    expect(new Date(rows.subscription!.current_period_end as string).toISOString()).toBe(
      new Date(periodEnd * 1000).toISOString(),
    );
    expect(rows.audit).toEqual([
      {
        event_type: 'billing.subscription_updated',
        actor: 'stripe',
        payload: {
          stripe_event_id: created.id,
          stripe_subscription_id: sub(org, 'active').id,
          status: 'active',
          previous_status: null,
          current_period_end: new Date(periodEnd * 1000).toISOString(),
          tier: null,
        },
      },
    ]);
    expect(rows.deliveries).toEqual(['subscription.updated']);

    // Redelivered: same `created` as the stored state, but the event id is known, so nothing happens again.
    expect(await json(await deliver(created))).toMatchObject({ outcome: 'duplicate' });
    const again = await billingRows(org.organization_id);
    expect(again.audit).toHaveLength(1);
    expect(again.deliveries).toEqual(['subscription.updated']);
  });

  it('out of order: the newest state wins, an older event changes nothing', async () => {
    const org = await createOrg();
    const t = now();
    const newest = subscriptionEvent('customer.subscription.updated', sub(org, 'past_due'), t + 20);
    const older = subscriptionEvent('customer.subscription.updated', sub(org, 'active'), t + 10);
    const oldest = subscriptionEvent('customer.subscription.created', sub(org, 'incomplete'), t);
    expect(await json(await deliver(newest))).toMatchObject({ outcome: 'applied' });
    expect(await json(await deliver(oldest))).toMatchObject({ outcome: 'ignored', reason: 'stale' });
    expect(await json(await deliver(older))).toMatchObject({ outcome: 'ignored', reason: 'stale' });
    expect((await json(await call('GET', '/v1/billing/subscription', { token: org.api_key }))).status).toBe('past_due');
    expect((await billingRows(org.organization_id)).audit).toHaveLength(1);

    const later = subscriptionEvent('customer.subscription.updated', sub(org, 'active'), t + 30);
    expect(await json(await deliver(later))).toMatchObject({ outcome: 'applied' });
    expect((await json(await call('GET', '/v1/billing/subscription', { token: org.api_key }))).status).toBe('active');
  });

  it('deleted: back to free, subscription canceled, both audited', async () => {
    const org = await orgWithHook();
    const t = now();
    await deliver(await paidCheckout(org.organization_id, 'pro', { subscription: sub(org, 'active').id }));
    await deliver(subscriptionEvent('customer.subscription.created', sub(org, 'active'), t));
    expect((await billingRows(org.organization_id)).tier).toBe('pro');

    const deleted = subscriptionEvent('customer.subscription.deleted', sub(org, 'canceled'), t + 5);
    expect(await json(await deliver(deleted))).toMatchObject({ outcome: 'applied' });
    const rows = await billingRows(org.organization_id);
    expect(rows.tier).toBe('free');
    expect(rows.subscription).toMatchObject({ status: 'canceled' });
    expect(rows.audit.map((a) => a.event_type)).toEqual([
      'billing.subscription_updated',
      'tier.upgraded',
      'billing.subscription_canceled',
      'tier.downgraded',
    ]);
    expect(rows.deliveries.sort()).toEqual(['subscription.updated', 'subscription.updated', 'tier.upgraded']);
    expect((await json(await call('GET', '/v1/tier', { token: org.api_key }))).tier).toBe('free');
    // A late "updated" from before the deletion does not resurrect the subscription.
    await deliver(subscriptionEvent('customer.subscription.updated', sub(org, 'active'), t + 1));
    expect((await billingRows(org.organization_id)).subscription).toMatchObject({ status: 'canceled' });
  });

  it('the end of a subscription that is not the current one changes nothing', async () => {
    const org = await createOrg('pro');
    const t = now();
    await deliver(subscriptionEvent('customer.subscription.created', { ...sub(org, 'active'), id: 'sub_current' }, t));
    const res = await deliver(
      subscriptionEvent('customer.subscription.deleted', { ...sub(org, 'canceled'), id: 'sub_previous' }, t + 1),
    );
    expect(await json(res)).toMatchObject({ outcome: 'ignored', reason: 'not_current_subscription' });
    expect((await billingRows(org.organization_id)).tier).toBe('pro');
  });

  it('finds the organization by a stored subscription id when metadata has none', async () => {
    const org = await createOrg();
    const t = now();
    await deliver(subscriptionEvent('customer.subscription.created', sub(org, 'active'), t));
    const { orgId: _drop, ...noMeta } = sub(org, 'past_due');
    expect(await json(await deliver(subscriptionEvent('customer.subscription.updated', noMeta, t + 1)))).toMatchObject({
      outcome: 'applied',
    });
    expect((await billingRows(org.organization_id)).subscription).toMatchObject({ status: 'past_due' });
  });

  it('an unknown organization: 200, ignored', async () => {
    const ghost = crypto.randomUUID();
    const event = subscriptionEvent(
      'customer.subscription.updated',
      { id: `sub_${ghost}`, orgId: ghost, status: 'active', customer: `cus_${ghost}` },
      now(),
    );
    const res = await deliver(event);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ outcome: 'ignored', reason: 'unknown_organization' });
    expect(await billingRows(ghost)).toMatchObject({ subscription: undefined, audit: [] });
  });
});
