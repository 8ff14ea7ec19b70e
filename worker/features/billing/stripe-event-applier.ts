import type { Queryable } from '../../platform/db.ts';
import type { Clock } from '../../platform/clock.ts';
import { isTierName } from '../tiers/tiers.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventAnnouncer } from '../agents/agent.service.ts';
import type { TierService } from '../tiers/tier.service.ts';
import {
  CheckoutSessionShape,
  SubscriptionShape,
  idOf,
  isOrganizationId,
  periodEndOf,
  type StripeEventEnvelope,
} from './stripe-objects.ts';

/** What one event did; `organizationId` is recorded on its stripe_events row. */
export interface HandledEvent {
  outcome: 'applied' | 'ignored';
  reason?: string;
  organizationId?: string;
}

function log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === 'info') console.log(line);
  else console.warn(line);
}

/**
 * The effects of Stripe events, each written to the audit chain:
 * - `checkout.session.completed` (paid) / `checkout.session.async_payment_succeeded` with metadata
 *   `{ orgId, targetTier }`: the upgrade, through TierService.applyUpgrade (which audits and announces
 *   `tier.upgraded`); a target not above the current tier changes nothing.
 * - `customer.subscription.created/updated/deleted`: upserts tenant_subscriptions unless the event is older
 *   than the stored state (`created`), announces `subscription.updated`; `deleted` returns the organization
 *   to `free`.
 * Each change locks the organization row first, so events for one organization apply one at a time.
 */
export class StripeEventApplier {
  constructor(
    private readonly audit: AuditService,
    private readonly tiers: Pick<TierService, 'applyUpgrade' | 'isUpgrade'>,
    private readonly events: EventAnnouncer | undefined,
    private readonly clock: Clock,
  ) {}

  /**
   * Applies one verified event inside the caller's transaction (which has already recorded its id).
   * Never throws for the event's content: what cannot be applied is `ignored` with a reason and logged, so
   * Stripe does not retry it forever. Database errors propagate (the transaction rolls back; Stripe retries).
   */
  apply(q: Queryable, event: StripeEventEnvelope): Promise<HandledEvent> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.#checkoutCompleted(q, event);
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        return this.#subscriptionChanged(q, event);
      default:
        return Promise.resolve({ outcome: 'ignored', reason: 'unhandled_type' });
    }
  }

  /** Locks the organization row (serialising billing changes per organization); undefined when it does not exist. */
  async #lockOrganization(q: Queryable, organizationId: string): Promise<{ tier: string } | undefined> {
    const [org] = await q.query<{ tier: string }>('SELECT tier FROM organizations WHERE organization_id = $1 FOR UPDATE', [organizationId]);
    return org;
  }

  #ignore(event: StripeEventEnvelope, reason: string, fields: Record<string, unknown> = {}): HandledEvent {
    log(reason === 'unknown_organization' || reason === 'malformed_object' ? 'warn' : 'info', 'stripe event ignored', {
      event_id: event.id,
      type: event.type,
      reason,
      ...fields,
    });
    return { outcome: 'ignored', reason };
  }

  async #checkoutCompleted(q: Queryable, event: StripeEventEnvelope): Promise<HandledEvent> {
    const parsed = CheckoutSessionShape.safeParse(event.data.object);
    if (!parsed.success) return this.#ignore(event, 'malformed_object');
    const session = parsed.data;
    const orgId = session.metadata?.orgId;
    const target = session.metadata?.targetTier;
    if (orgId === undefined || target === undefined) return this.#ignore(event, 'not_an_upgrade');
    if (!isOrganizationId(orgId) || !isTierName(target)) return this.#ignore(event, 'invalid_metadata');
    if (session.client_reference_id && session.client_reference_id !== orgId) return this.#ignore(event, 'reference_mismatch');
    // Delayed payment methods complete the session unpaid; `async_payment_succeeded` follows when paid.
    if (event.type === 'checkout.session.completed' && session.payment_status === 'unpaid') {
      return this.#ignore(event, 'payment_pending', { organization_id: orgId });
    }
    const org = await this.#lockOrganization(q, orgId);
    if (!org) return this.#ignore(event, 'unknown_organization', { organization_id: orgId });
    if (!this.tiers.isUpgrade(org.tier, target)) {
      const fields = { organization_id: orgId, current: org.tier, target };
      return { ...this.#ignore(event, 'not_an_upgrade', fields), organizationId: orgId };
    }
    await this.tiers.applyUpgrade(orgId, target, {
      q,
      actor: 'stripe',
      details: { stripe_event_id: event.id, checkout_session_id: session.id },
    });
    return { outcome: 'applied', organizationId: orgId };
  }

  /** The organization a subscription belongs to: its metadata, else a stored subscription or customer id. */
  async #subscriptionOrganization(q: Queryable, subscriptionId: string, customerId: string | null, metaOrg: unknown): Promise<string | undefined> {
    if (isOrganizationId(metaOrg)) return metaOrg;
    const [row] = await q.query<{ organization_id: string }>(
      `SELECT organization_id FROM tenant_subscriptions
        WHERE stripe_subscription_id = $1 OR ($2::text IS NOT NULL AND stripe_customer_id = $2)
        ORDER BY (stripe_subscription_id = $1) DESC LIMIT 1`,
      [subscriptionId, customerId],
    );
    return row?.organization_id;
  }

  async #subscriptionChanged(q: Queryable, event: StripeEventEnvelope): Promise<HandledEvent> {
    const parsed = SubscriptionShape.safeParse(event.data.object);
    if (!parsed.success) return this.#ignore(event, 'malformed_object');
    const sub = parsed.data;
    const customerId = idOf(sub.customer);
    const orgId = await this.#subscriptionOrganization(q, sub.id, customerId, sub.metadata?.orgId);
    if (!orgId || !(await this.#lockOrganization(q, orgId))) {
      return this.#ignore(event, 'unknown_organization', { stripe_subscription_id: sub.id });
    }
    const [stored] = await q.query<{ status: string; stripe_subscription_id: string | null; last_event_created: string }>(
      'SELECT status, stripe_subscription_id, last_event_created FROM tenant_subscriptions WHERE organization_id = $1',
      [orgId],
    );
    if (stored && event.created < Number(stored.last_event_created)) {
      return { ...this.#ignore(event, 'stale', { organization_id: orgId }), organizationId: orgId };
    }
    const deleted = event.type === 'customer.subscription.deleted';
    // The end of a subscription that is no longer the organization's current one changes nothing.
    if (deleted && stored?.stripe_subscription_id && stored.stripe_subscription_id !== sub.id) {
      return { ...this.#ignore(event, 'not_current_subscription', { organization_id: orgId }), organizationId: orgId };
    }
    const status = deleted ? 'canceled' : sub.status;
    const periodEnd = periodEndOf(sub);
    const now = this.clock.now().toISOString();
    await q.query(
      `INSERT INTO tenant_subscriptions
         (organization_id, status, stripe_customer_id, stripe_subscription_id, current_period_end, last_event_created, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (organization_id) DO UPDATE SET
         status = EXCLUDED.status,
         stripe_customer_id = COALESCE(EXCLUDED.stripe_customer_id, tenant_subscriptions.stripe_customer_id),
         stripe_subscription_id = EXCLUDED.stripe_subscription_id,
         current_period_end = EXCLUDED.current_period_end,
         last_event_created = EXCLUDED.last_event_created,
         updated_at = EXCLUDED.updated_at`,
      [orgId, status, customerId, sub.id, periodEnd, event.created, now],
    );
    const change = {
      stripe_subscription_id: sub.id,
      status,
      previous_status: stored?.status ?? null,
      current_period_end: periodEnd,
    };
    await this.audit.append(q, orgId, {
      event_type: deleted ? 'billing.subscription_canceled' : 'billing.subscription_updated',
      actor: 'stripe',
      subject: sub.id,
      payload: { ...change, stripe_event_id: event.id },
    });
    if (deleted) {
      await this.tiers.applyUpgrade(orgId, 'free', { q, actor: 'stripe', details: { stripe_event_id: event.id, stripe_subscription_id: sub.id } });
    }
    await this.events?.announce(q, orgId, 'subscription.updated', { organization_id: orgId, ...change });
    return { outcome: 'applied', organizationId: orgId };
  }
}
