// The Stripe webhook against the subscription state machine, end to end: correctly signed events in every
// order a subscription's lifecycle can arrive in leave the organization where Stripe's API says it is; a
// subscription that stops being paid (past_due, unpaid, canceled) takes the paid tier away; a late checkout
// completion cannot put a canceled subscription back on pro.
import { describe, expect, it } from 'vitest';
import {
  billingRows,
  checkoutCompleted,
  deliver,
  failNext,
  setSubscription,
  stripeEventRow,
  subscriptionEvent,
  subscriptionFetches,
} from '../../support/stripe.ts';
import { call, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

const t0 = Math.floor(Date.now() / 1000) - 1_000;
let n = 0;

type Step = { kind: 'created' | 'updated' | 'deleted'; status: string; at: number } | { kind: 'checkout'; at: number };

/** The signed event of one lifecycle step for `org`'s subscription `subId` (metadata as Checkout copies it). */
function eventOf(org: Org, subId: string, step: Step) {
  if (step.kind === 'checkout')
    return checkoutCompleted(org.organization_id, 'pro', { subscription: subId, created: step.at });
  const sub = {
    id: subId,
    orgId: org.organization_id,
    status: step.status,
    customer: `cus_${subId}`,
    targetTier: 'pro',
  };
  return subscriptionEvent(`customer.subscription.${step.kind}`, sub, step.at);
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
  );
}

/** A fresh organization and subscription whose current truth at Stripe is `finalStatus`. */
async function lifecycle(finalStatus: string): Promise<{ org: Org; subId: string }> {
  const org = await createOrg();
  const subId = `sub_order_${Date.now().toString(36)}_${++n}`;
  await setSubscription(subId, { status: finalStatus, metadata: { orgId: org.organization_id, targetTier: 'pro' } });
  return { org, subId };
}

async function run(org: Org, subId: string, steps: Step[]): Promise<void> {
  for (const step of steps) {
    const res = await deliver(eventOf(org, subId, step));
    expect(res.status, JSON.stringify(step)).toBe(200);
  }
}

describe('a late checkout completion after the subscription ended', () => {
  it('created, deleted, then checkout.session.completed: the organization stays free, the subscription canceled', async () => {
    const { org, subId } = await lifecycle('canceled');
    await run(org, subId, [
      { kind: 'created', status: 'active', at: t0 },
      { kind: 'deleted', status: 'canceled', at: t0 + 5 },
    ]);
    const late = eventOf(org, subId, { kind: 'checkout', at: t0 + 1 });
    expect(await json(await deliver(late))).toMatchObject({ outcome: 'ignored', reason: 'subscription_ended' });
    const rows = await billingRows(org.organization_id);
    expect(rows.tier).toBe('free');
    expect(rows.subscription).toMatchObject({ status: 'canceled', stripe_subscription_id: subId });
    expect((await json(await call('GET', '/v1/tier', { token: org.api_key }))).tier).toBe('free');
  });

  it('a checkout completion with nothing stored asks Stripe, and a canceled subscription upgrades nothing', async () => {
    const { org, subId } = await lifecycle('canceled');
    expect(await json(await deliver(eventOf(org, subId, { kind: 'checkout', at: t0 })))).toMatchObject({
      outcome: 'applied',
    });
    expect(await subscriptionFetches(subId)).toBe(1);
    const rows = await billingRows(org.organization_id);
    expect(rows.tier).toBe('free');
    expect(rows.subscription).toMatchObject({ status: 'canceled' });
  });
});

describe('customer.subscription.updated that stops payment takes the paid tier away', () => {
  for (const status of ['past_due', 'unpaid', 'canceled', 'paused', 'incomplete_expired']) {
    it(`active → ${status}: back to free`, async () => {
      const { org, subId } = await lifecycle(status);
      await run(org, subId, [{ kind: 'created', status: 'active', at: t0 }]);
      expect((await billingRows(org.organization_id)).tier).toBe('pro');
      await run(org, subId, [{ kind: 'updated', status, at: t0 + 10 }]);
      const rows = await billingRows(org.organization_id);
      expect(rows.tier).toBe('free');
      expect(rows.subscription).toMatchObject({ status });
      expect(rows.audit.map((a) => a.event_type).slice(-1)).toEqual(['tier.downgraded']);
    });
  }

  it('a subscription that recovers (past_due → active) grants its tier again', async () => {
    const { org, subId } = await lifecycle('active');
    await run(org, subId, [
      { kind: 'created', status: 'active', at: t0 },
      { kind: 'updated', status: 'past_due', at: t0 + 10 },
    ]);
    expect((await billingRows(org.organization_id)).tier).toBe('free');
    await run(org, subId, [{ kind: 'updated', status: 'active', at: t0 + 20 }]);
    expect((await billingRows(org.organization_id)).tier).toBe('pro');
  });
});

describe('every order of arrival ends where Stripe says the subscription is', () => {
  const LIFECYCLES: Array<{ name: string; steps: Step[]; truth: string; tier: string }> = [
    {
      name: 'paid, then canceled',
      steps: [
        { kind: 'created', status: 'active', at: t0 },
        { kind: 'checkout', at: t0 + 1 },
        { kind: 'deleted', status: 'canceled', at: t0 + 5 },
      ],
      truth: 'canceled',
      tier: 'free',
    },
    {
      name: 'incomplete and active in the same second',
      steps: [
        { kind: 'created', status: 'incomplete', at: t0 },
        { kind: 'updated', status: 'active', at: t0 },
        { kind: 'checkout', at: t0 },
      ],
      truth: 'active',
      tier: 'pro',
    },
    {
      name: 'paid, then unpaid',
      steps: [
        { kind: 'created', status: 'active', at: t0 },
        { kind: 'checkout', at: t0 + 1 },
        { kind: 'updated', status: 'unpaid', at: t0 + 30 },
      ],
      truth: 'unpaid',
      tier: 'free',
    },
    {
      name: 'past due, then recovered',
      steps: [
        { kind: 'created', status: 'active', at: t0 },
        { kind: 'updated', status: 'past_due', at: t0 + 10 },
        { kind: 'updated', status: 'active', at: t0 + 20 },
      ],
      truth: 'active',
      tier: 'pro',
    },
  ];

  for (const lc of LIFECYCLES) {
    it(`${lc.name}: ${lc.truth} and ${lc.tier} in all ${permutations(lc.steps).length} orders`, async () => {
      const wrong: string[] = [];
      for (const order of permutations(lc.steps)) {
        const { org, subId } = await lifecycle(lc.truth);
        await run(org, subId, order);
        const rows = await billingRows(org.organization_id);
        const got = `${rows.subscription?.status}/${rows.tier}`;
        if (got !== `${lc.truth}/${lc.tier}`)
          wrong.push(`${order.map((s) => ('status' in s ? `${s.kind}:${s.status}` : s.kind)).join(' → ')} ⇒ ${got}`);
      }
      expect(wrong).toEqual([]);
    }, 120_000);
  }
});

describe('when Stripe cannot be asked', () => {
  it('answers 502 and records nothing, so Stripe delivers the event again; the redelivery applies', async () => {
    const { org, subId } = await lifecycle('active');
    const event = eventOf(org, subId, { kind: 'checkout', at: t0 });
    // More failures than the Stripe client's own retries.
    await failNext(subId, 500, 3);
    await expectProblem(await deliver(event), 502, 'billing_provider_error');
    expect(await stripeEventRow(event.id)).toBeUndefined();
    expect((await billingRows(org.organization_id)).tier).toBe('free');
    expect(await json(await deliver(event))).toMatchObject({ outcome: 'applied' });
    expect((await billingRows(org.organization_id)).tier).toBe('pro');
  });

  it('a subscription Stripe does not know upgrades nothing', async () => {
    const org = await createOrg();
    const event = checkoutCompleted(org.organization_id, 'pro', { subscription: `sub_unknown_${Date.now()}` });
    expect(await json(await deliver(event))).toMatchObject({ outcome: 'ignored', reason: 'unknown_subscription' });
    expect((await billingRows(org.organization_id)).tier).toBe('free');
  });
});
