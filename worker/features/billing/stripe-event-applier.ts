import type { Queryable } from '../../platform/db.ts';
import type { EventAnnouncer } from '../agents/agent.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { TierService } from '../tiers/tier.service.ts';
import { isTierName, type TierName } from '../tiers/tiers.ts';
import {
  CheckoutSessionShape,
  idOf,
  isOrganizationId,
  periodEndOf,
  priceIdsOf,
  type StripeEventEnvelope,
  type SubscriptionObject,
  SubscriptionShape,
} from './stripe-objects.ts';
import { type Observation, type StoredSubscription, TERMINAL, transition } from './subscription-state.ts';

/** What one event did; `organizationId` is recorded on its stripe_events row. */
export interface HandledEvent {
  outcome: 'applied' | 'ignored';
  reason?: string;
  organizationId?: string;
}

/** The event cannot be applied on its own: fetch this subscription from Stripe and apply again with it. */
export interface NeedsSubscription {
  outcome: 'fetch';
  subscriptionId: string;
}

/** Stripe's API answer for a subscription (retrieve): the object, or that it does not exist. */
export type SubscriptionSnapshot = { found: true; subscription: SubscriptionObject } | { found: false };

function log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === 'info') console.log(line);
  else console.warn(line);
}

interface StoredRow {
  status: string;
  stripe_subscription_id: string | null;
  tier: string | null;
  last_event_created: string;
}

/**
 * The effects of Stripe events, through the subscription state machine (subscription-state.ts):
 * - `customer.subscription.created/updated/deleted`: an observation of the subscription (a deletion is
 *   `canceled`); events from the same second as the stored state with another status are settled by
 *   fetching the subscription.
 * - `checkout.session.completed` (paid) / `checkout.session.async_payment_succeeded` with metadata
 *   `{ orgId, targetTier }`: says nothing of the subscription's status, so the subscription is fetched and
 *   that answer is the observation (with the checkout's target tier), unless the stored state already
 *   says that subscription has ended. A late completion cannot upgrade a canceled subscription.
 * An applied observation upserts tenant_subscriptions, is audited (`billing.subscription_updated` or
 * `billing.subscription_canceled`) and announced (`subscription.updated`) when it changed anything, and
 * grants or takes back the paid tier through TierService. Each change locks the organization row first,
 * so events for one organization apply one at a time.
 */
export class StripeEventApplier {
  constructor(
    private readonly audit: AuditService,
    private readonly tiers: Pick<TierService, 'raiseTo' | 'revokePaidTier'>,
    private readonly events: EventAnnouncer | undefined,
    /** The tier a Stripe price pays for (STRIPE_PRICE_ID_<TIER>), when it is one of ours. */
    private readonly tierForPrice: (priceId: string) => TierName | undefined,
  ) {}

  /**
   * Applies one verified event inside the caller's transaction (which has already recorded its id), with
   * the subscription fetched from Stripe when an earlier call asked for it. Never throws for the event's
   * content: what cannot be applied is `ignored` with a reason and logged, so Stripe does not retry it
   * forever. Database errors propagate (the transaction rolls back; Stripe retries).
   */
  apply(
    q: Queryable,
    event: StripeEventEnvelope,
    snapshot?: SubscriptionSnapshot,
  ): Promise<HandledEvent | NeedsSubscription> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.#checkoutCompleted(q, event, snapshot);
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        return this.#subscriptionChanged(q, event, snapshot);
      default:
        return Promise.resolve({ outcome: 'ignored', reason: 'unhandled_type' });
    }
  }

  #ignore(event: StripeEventEnvelope, reason: string, organizationId?: string): HandledEvent {
    const warn = ['unknown_organization', 'malformed_object', 'unknown_status', 'unknown_subscription'].includes(
      reason,
    );
    log(warn ? 'warn' : 'info', 'stripe event ignored', {
      event_id: event.id,
      type: event.type,
      reason,
      organization_id: organizationId,
    });
    return { outcome: 'ignored', reason, ...(organizationId ? { organizationId } : {}) };
  }

  /** Locks the organization row (serialising billing changes per organization) and reads its stored subscription. */
  async #lock(q: Queryable, organizationId: string): Promise<{ stored: StoredSubscription | undefined } | undefined> {
    const [org] = await q.query('SELECT 1 FROM organizations WHERE organization_id = $1 FOR UPDATE', [organizationId]);
    if (!org) return undefined;
    const [row] = await q.query<StoredRow>(
      'SELECT status, stripe_subscription_id, tier, last_event_created FROM tenant_subscriptions WHERE organization_id = $1',
      [organizationId],
    );
    const stored = row && {
      subscriptionId: row.stripe_subscription_id,
      status: row.status,
      tier: isTierName(row.tier) ? row.tier : null,
      observedAt: Number(row.last_event_created),
    };
    return { stored };
  }

  /** The tier a subscription pays for: its metadata (copied from the checkout), else its price. */
  #tierOf(sub: SubscriptionObject): TierName | null {
    const meta = sub.metadata?.targetTier;
    if (isTierName(meta)) return meta;
    for (const price of priceIdsOf(sub)) {
      const tier = this.tierForPrice(price);
      if (tier) return tier;
    }
    return null;
  }

  async #checkoutCompleted(
    q: Queryable,
    event: StripeEventEnvelope,
    snapshot?: SubscriptionSnapshot,
  ): Promise<HandledEvent | NeedsSubscription> {
    const parsed = CheckoutSessionShape.safeParse(event.data.object);
    if (!parsed.success) return this.#ignore(event, 'malformed_object');
    const session = parsed.data;
    const orgId = session.metadata?.orgId;
    const target = session.metadata?.targetTier;
    if (orgId === undefined || target === undefined) return this.#ignore(event, 'not_an_upgrade');
    if (!isOrganizationId(orgId) || !isTierName(target)) return this.#ignore(event, 'invalid_metadata');
    if (session.client_reference_id && session.client_reference_id !== orgId)
      return this.#ignore(event, 'reference_mismatch');
    // Delayed payment methods complete the session unpaid; `async_payment_succeeded` follows when paid.
    if (event.type === 'checkout.session.completed' && session.payment_status === 'unpaid')
      return this.#ignore(event, 'payment_pending', orgId);
    const subscriptionId = idOf(session.subscription);
    if (!subscriptionId) return this.#ignore(event, 'no_subscription', orgId);
    const locked = await this.#lock(q, orgId);
    if (!locked) return this.#ignore(event, 'unknown_organization');
    const { stored } = locked;
    if (stored?.subscriptionId === subscriptionId && TERMINAL.has(stored.status))
      return this.#ignore(event, 'subscription_ended', orgId);
    if (!snapshot) return { outcome: 'fetch', subscriptionId };
    if (!snapshot.found) return this.#ignore(event, 'unknown_subscription', orgId);
    const sub = snapshot.subscription;
    const owner = sub.metadata?.orgId;
    if (owner !== undefined && owner !== orgId) return this.#ignore(event, 'reference_mismatch', orgId);
    const obs: Observation = {
      subscriptionId,
      status: sub.status,
      tier: target,
      at: event.created,
      authoritative: true,
    };
    return this.#observe(q, event, orgId, stored, obs, sub, { checkout_session_id: session.id });
  }

  /** The organization a subscription belongs to: its metadata, else a stored subscription or customer id. */
  async #subscriptionOrganization(
    q: Queryable,
    subscriptionId: string,
    customerId: string | null,
    metaOrg: unknown,
  ): Promise<string | undefined> {
    if (isOrganizationId(metaOrg)) return metaOrg;
    const [row] = await q.query<{ organization_id: string }>(
      `SELECT organization_id FROM tenant_subscriptions
        WHERE stripe_subscription_id = $1 OR ($2::text IS NOT NULL AND stripe_customer_id = $2)
        ORDER BY (stripe_subscription_id = $1) DESC LIMIT 1`,
      [subscriptionId, customerId],
    );
    return row?.organization_id;
  }

  async #subscriptionChanged(
    q: Queryable,
    event: StripeEventEnvelope,
    snapshot?: SubscriptionSnapshot,
  ): Promise<HandledEvent | NeedsSubscription> {
    const parsed = SubscriptionShape.safeParse(event.data.object);
    if (!parsed.success) return this.#ignore(event, 'malformed_object');
    const fromEvent = parsed.data;
    const orgId = await this.#subscriptionOrganization(
      q,
      fromEvent.id,
      idOf(fromEvent.customer),
      fromEvent.metadata?.orgId,
    );
    const locked = orgId ? await this.#lock(q, orgId) : undefined;
    if (!orgId || !locked) return this.#ignore(event, 'unknown_organization');
    if (snapshot && !snapshot.found) return this.#ignore(event, 'unknown_subscription', orgId);
    const sub = snapshot?.found ? snapshot.subscription : fromEvent;
    const status = !snapshot && event.type === 'customer.subscription.deleted' ? 'canceled' : sub.status;
    const obs: Observation = {
      subscriptionId: fromEvent.id,
      status,
      tier: this.#tierOf(sub),
      at: event.created,
      authoritative: !!snapshot,
    };
    return this.#observe(q, event, orgId, locked.stored, obs, sub, {});
  }

  async #observe(
    q: Queryable,
    event: StripeEventEnvelope,
    orgId: string,
    stored: StoredSubscription | undefined,
    obs: Observation,
    sub: SubscriptionObject,
    details: Record<string, unknown>,
  ): Promise<HandledEvent | NeedsSubscription> {
    const t = transition(stored, obs);
    if (t.action === 'fetch') return { outcome: 'fetch', subscriptionId: obs.subscriptionId };
    if (t.action === 'ignore') return this.#ignore(event, t.reason, orgId);
    const { next } = t;
    const periodEnd = periodEndOf(sub);
    await q.query(
      `INSERT INTO tenant_subscriptions
         (organization_id, status, stripe_customer_id, stripe_subscription_id, current_period_end, tier, last_event_created, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT (organization_id) DO UPDATE SET
         status = EXCLUDED.status,
         stripe_customer_id = COALESCE(EXCLUDED.stripe_customer_id, tenant_subscriptions.stripe_customer_id),
         stripe_subscription_id = EXCLUDED.stripe_subscription_id,
         current_period_end = COALESCE(EXCLUDED.current_period_end, tenant_subscriptions.current_period_end),
         tier = EXCLUDED.tier,
         last_event_created = EXCLUDED.last_event_created,
         updated_at = EXCLUDED.updated_at`,
      [orgId, next.status, idOf(sub.customer), next.subscriptionId, periodEnd, next.tier, next.observedAt],
    );
    const change = {
      stripe_subscription_id: next.subscriptionId,
      status: next.status,
      previous_status: stored?.status ?? null,
      current_period_end: periodEnd,
    };
    if (t.changed) {
      await this.audit.append(q, orgId, {
        event_type: next.status === 'canceled' ? 'billing.subscription_canceled' : 'billing.subscription_updated',
        actor: 'stripe',
        subject: next.subscriptionId,
        payload: { ...change, tier: next.tier, stripe_event_id: event.id },
      });
    }
    const tierDetails = {
      q,
      actor: 'stripe',
      details: { ...details, stripe_event_id: event.id, stripe_subscription_id: next.subscriptionId },
    };
    if (t.entitlement.kind === 'grant') await this.tiers.raiseTo(orgId, t.entitlement.tier, tierDetails);
    if (t.entitlement.kind === 'revoke') await this.tiers.revokePaidTier(orgId, t.entitlement.tier, tierDetails);
    if (t.changed) await this.events?.announce(q, orgId, 'subscription.updated', { organization_id: orgId, ...change });
    return { outcome: 'applied', organizationId: orgId };
  }
}
