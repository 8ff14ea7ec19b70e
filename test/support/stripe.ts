// Helpers for the billing tests: Stripe events signed with the `stripe` package's own test-header helper, the
// webhook endpoint, and the Stripe stand-in's control API (servers/stripe-stand-in.ts).
import Stripe from 'stripe';
import { bindings, withDb } from './clocked-app.ts';
import type { Recorded } from './servers/stripe-stand-in.ts';
import { type CallOptions, call } from './worker.ts';

export type { Recorded };

export const STRIPE_API_BASE = bindings.STRIPE_API_BASE as string;
export const WEBHOOK_SECRET = bindings.STRIPE_WEBHOOK_SECRET as string;
export const PRICES = {
  pro: bindings.STRIPE_PRICE_ID_PRO as string,
  enterprise: bindings.STRIPE_PRICE_ID_ENTERPRISE as string,
  subscription: bindings.STRIPE_PRICE_ID as string,
};
export const WEBHOOK_PATH = '/v1/billing/stripe-webhook';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const rand = () => crypto.randomUUID().replace(/-/g, '').slice(0, 24);

/** A Stripe event envelope as Stripe renders it. */
export function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  over: { id?: string; created?: number } = {},
) {
  return {
    id: over.id ?? `evt_test_${rand()}`,
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: over.created ?? nowSeconds(),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

export function checkoutCompleted(
  orgId: string,
  targetTier: string,
  over: {
    id?: string;
    payment_status?: string;
    metadata?: Record<string, string>;
    subscription?: string;
    created?: number;
  } = {},
) {
  return stripeEvent(
    'checkout.session.completed',
    {
      id: `cs_test_${rand()}`,
      object: 'checkout.session',
      mode: 'subscription',
      client_reference_id: orgId,
      metadata: over.metadata ?? { orgId, targetTier },
      payment_status: over.payment_status ?? 'paid',
      status: 'complete',
      customer: `cus_${rand()}`,
      subscription: over.subscription ?? `sub_${rand()}`,
    },
    { id: over.id, created: over.created },
  );
}

export function subscriptionEvent(
  type: 'customer.subscription.created' | 'customer.subscription.updated' | 'customer.subscription.deleted',
  sub: {
    id: string;
    orgId?: string;
    status: string;
    customer?: string;
    periodEnd?: number;
    targetTier?: string;
    price?: string;
  },
  created: number,
) {
  return stripeEvent(
    type,
    {
      id: sub.id,
      object: 'subscription',
      status: sub.status,
      customer: sub.customer ?? 'cus_test_customer',
      metadata: {
        ...(sub.orgId ? { orgId: sub.orgId } : {}),
        ...(sub.targetTier ? { targetTier: sub.targetTier } : {}),
      },
      items: {
        object: 'list',
        data: [
          {
            id: `si_${rand()}`,
            object: 'subscription_item',
            current_period_end: sub.periodEnd ?? created + 30 * 86_400,
            ...(sub.price ? { price: { id: sub.price, object: 'price' } } : {}),
          },
        ],
      },
    },
    { created },
  );
}

/** `Stripe-Signature` for `payload`, by the stripe package (SubtleCrypto, as in workerd). */
export function signature(payload: string, opts: { secret?: string; timestamp?: number } = {}): Promise<string> {
  return Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: opts.secret ?? WEBHOOK_SECRET,
    timestamp: opts.timestamp,
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  });
}

type Caller = (method: string, path: string, opts?: CallOptions) => Promise<Response>;

/** Posts `payload` (exact bytes) to the webhook with `header` (null: no Stripe-Signature at all). */
export function postWebhook(payload: string, header: string | null, via: Caller = call): Promise<Response> {
  return via('POST', WEBHOOK_PATH, {
    rawBody: payload,
    headers: header === null ? {} : { 'stripe-signature': header },
  });
}

/** Signs and delivers an event; returns the response. */
export async function deliver(event: object, via: Caller = call): Promise<Response> {
  const payload = JSON.stringify(event);
  return postWebhook(payload, await signature(payload), via);
}

export interface StandInSubscription {
  status: string;
  metadata?: Record<string, string>;
  customer?: string;
  price?: string;
  current_period_end?: number;
}

/** Sets what the stand-in's `GET /v1/subscriptions/{id}` answers from now on (Stripe's current truth). */
export async function setSubscription(id: string, sub: StandInSubscription): Promise<void> {
  const res = await fetch(`${STRIPE_API_BASE}/__control/subscriptions/${encodeURIComponent(id)}`, {
    method: 'PUT',
    body: JSON.stringify(sub),
  });
  if (res.status !== 204) throw new Error(`stand-in subscription: ${res.status}`);
}

/** How many times the Worker asked the stand-in for subscription `id`. */
export async function subscriptionFetches(id: string): Promise<number> {
  const all = (await (await fetch(`${STRIPE_API_BASE}/__control/requests`)).json()) as Recorded[];
  return all.filter((r) => r.method === 'GET' && r.path === `/v1/subscriptions/${id}`).length;
}

/**
 * A paid `checkout.session.completed` for an upgrade to `targetTier`, with its subscription active at the
 * stand-in (the Worker fetches it before upgrading).
 */
export async function paidCheckout(
  orgId: string,
  targetTier: string,
  over: { id?: string; subscription?: string; status?: string } = {},
) {
  const event = checkoutCompleted(orgId, targetTier, { id: over.id, subscription: over.subscription });
  const subscription = event.data.object.subscription as string;
  await setSubscription(subscription, { status: over.status ?? 'active', metadata: { orgId, targetTier } });
  return event;
}

/** Every request the stand-in received for this organization's checkout sessions. */
export async function standInRequests(orgId: string): Promise<Recorded[]> {
  const res = await fetch(`${STRIPE_API_BASE}/__control/requests`);
  const all = (await res.json()) as Recorded[];
  return all.filter((r) => r.params.client_reference_id === orgId);
}

/** Makes the stand-in fail the organization's next `times` session requests with `status`. */
export async function failNext(orgId: string, status: number, times: number, type = 'api_error'): Promise<void> {
  const res = await fetch(`${STRIPE_API_BASE}/__control/failures`, {
    method: 'PUT',
    body: JSON.stringify({ client_reference_id: orgId, status, times, type }),
  });
  if (res.status !== 204) throw new Error(`stand-in failures: ${res.status}`);
}

/** The stored billing state of an organization, straight from the database. */
export function billingRows(orgId: string) {
  return withDb(async (db) => {
    const [org] = await db.query<{ tier: string }>('SELECT tier FROM organizations WHERE organization_id = $1', [
      orgId,
    ]);
    const audit = await db.query<{ event_type: string; actor: string; payload: Record<string, unknown> }>(
      `SELECT event_type, actor, payload FROM audit_events
        WHERE organization_id = $1 AND (event_type LIKE 'tier.%' OR event_type LIKE 'billing.%') ORDER BY seq`,
      [orgId],
    );
    const [subscription] = await db.query<Record<string, unknown>>(
      'SELECT * FROM tenant_subscriptions WHERE organization_id = $1',
      [orgId],
    );
    const deliveries = await db.query<{ event_type: string }>(
      'SELECT event_type FROM webhook_deliveries WHERE organization_id = $1 ORDER BY created_at',
      [orgId],
    );
    return { tier: org?.tier, audit, subscription, deliveries: deliveries.map((d) => d.event_type) };
  });
}

export function stripeEventRow(eventId: string) {
  return withDb(async (db) => {
    const [row] = await db.query<{ id: string; type: string; outcome: string; organization_id: string | null }>(
      'SELECT id, type, outcome, organization_id FROM stripe_events WHERE id = $1',
      [eventId],
    );
    return row;
  });
}
