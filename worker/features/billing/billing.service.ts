import type { Clock } from '../../platform/clock.ts';
import type { Config } from '../../platform/config.ts';
import type { Db } from '../../platform/db.ts';
import { AppError } from '../../platform/errors.ts';
import type { EventAnnouncer } from '../agents/agent.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { TierService, UpgradeCheckout } from '../tiers/tier.service.ts';
import type { TierName } from '../tiers/tiers.ts';
import { isTierName } from '../tiers/tiers.ts';
import { type CheckoutRequest, checkoutIdempotencyKey } from './checkout-idempotency.ts';
import type { SubscriptionStatus, WebhookOutcome } from './contract.ts';
import { createStripeCryptoProvider, Stripe } from './stripe.ts';
import { type HandledEvent, StripeEventApplier, type SubscriptionSnapshot } from './stripe-event-applier.ts';
import { type StripeEventEnvelope, StripeEventShape } from './stripe-objects.ts';
import { fetchSubscription } from './stripe-subscriptions.ts';

/** What billing needs from the configuration (`billingSettings(config)` builds it). */
export interface BillingSettings {
  /** STRIPE_SECRET_KEY is set: billing is on. */
  enabled: boolean;
  /** Price of each paid tier (STRIPE_PRICE_ID_<TIER>, falling back to STRIPE_PRICE_ID). */
  tierPrices: Partial<Record<TierName, string>>;
  /** Price of `POST /v1/billing/checkout` (STRIPE_PRICE_ID, falling back to the pro price). */
  subscriptionPrice?: string;
  successUrl: string;
  cancelUrl: string;
  webhookSecret?: string;
}

export function billingSettings(config: Config): BillingSettings {
  const base = config.APP_BASE_URL.replace(/\/+$/, '');
  const fallback = config.STRIPE_PRICE_ID;
  return {
    enabled: config.STRIPE_SECRET_KEY !== undefined,
    tierPrices: {
      pro: config.STRIPE_PRICE_ID_PRO ?? fallback,
      enterprise: config.STRIPE_PRICE_ID_ENTERPRISE ?? fallback,
    },
    subscriptionPrice: fallback ?? config.STRIPE_PRICE_ID_PRO,
    successUrl: config.STRIPE_SUCCESS_URL ?? `${base}/dashboard?billing=success`,
    cancelUrl: config.STRIPE_CANCEL_URL ?? `${base}/dashboard?billing=cancel`,
    webhookSecret: config.STRIPE_WEBHOOK_SECRET,
  };
}

const notConfigured = (what = 'STRIPE_SECRET_KEY is unset') =>
  new AppError('billing_not_configured', `Billing is not configured on this deployment (${what})`);

const signatureInvalid = (reason: string, detail: string) =>
  new AppError('stripe_signature_invalid', detail, { reason });

/** Stripe's signature messages (stripe-node Webhooks.ts) → a stable `reason`. */
function signatureReason(message: string): string {
  if (/tolerance/i.test(message)) return 'timestamp_outside_tolerance';
  if (/extract timestamp|expected scheme|header value/i.test(message)) return 'malformed_header';
  return 'signature_mismatch';
}

/**
 * Stripe billing: Checkout Sessions for subscriptions and tier upgrades, the verified and idempotent Stripe
 * webhook, and the organization's subscription state. The Stripe client is made per request; without
 * STRIPE_SECRET_KEY every Stripe-facing method throws `billing_not_configured` (503).
 */
export class BillingService implements UpgradeCheckout {
  readonly #applier: StripeEventApplier;

  constructor(
    private readonly db: Db,
    audit: AuditService,
    private readonly clock: Clock,
    tiers: Pick<TierService, 'raiseTo' | 'revokePaidTier'>,
    events: EventAnnouncer | undefined,
    /** Makes this request's Stripe client; undefined without STRIPE_SECRET_KEY. */
    private readonly stripe: () => Stripe | undefined,
    private readonly settings: BillingSettings,
  ) {
    const tierForPrice = (price: string) => {
      const tier = Object.entries(settings.tierPrices).find(([, p]) => p === price)?.[0];
      return isTierName(tier) ? tier : undefined;
    };
    this.#applier = new StripeEventApplier(audit, tiers, events, tierForPrice);
  }

  /**
   * `POST /v1/billing/checkout`: a subscription Checkout Session at the subscription price, for the
   * organization (`client_reference_id`, `metadata.orgId`). Throws `billing_not_configured` (503) without
   * STRIPE_SECRET_KEY or a price, `idempotency_key_reused` (409) when the client's Idempotency-Key was used
   * with other parameters, `billing_provider_error` (502) when Stripe fails or returns no URL.
   */
  async createCheckoutSession(
    organizationId: string,
    opts: { successUrl?: string; cancelUrl?: string; idempotencyKey?: string } = {},
  ): Promise<{ checkout_url: string }> {
    if (!this.settings.enabled) throw notConfigured();
    const price = this.settings.subscriptionPrice;
    if (!price) throw notConfigured('STRIPE_PRICE_ID is unset');
    return this.#openSession(
      {
        organizationId,
        purpose: 'subscription',
        price,
        successUrl: opts.successUrl ?? this.settings.successUrl,
        cancelUrl: opts.cancelUrl ?? this.settings.cancelUrl,
      },
      { orgId: organizationId },
      opts.idempotencyKey,
    );
  }

  /**
   * Checkout for an upgrade to `targetTier` (TierService.initiateUpgrade validates the target first):
   * `metadata: { orgId, targetTier }` on the session and its subscription, the tier's price. The upgrade
   * itself happens when Stripe reports `checkout.session.completed`. Throws as `createCheckoutSession`,
   * and `billing_not_configured` (503) when the tier has no price.
   */
  async createUpgradeCheckout(
    organizationId: string,
    targetTier: TierName,
    opts: { idempotencyKey?: string } = {},
  ): Promise<{ checkout_url: string }> {
    if (!this.settings.enabled) throw notConfigured();
    const price = this.settings.tierPrices[targetTier];
    if (!price)
      throw notConfigured(
        `no price for tier ${targetTier}: set STRIPE_PRICE_ID_${targetTier.toUpperCase()} or STRIPE_PRICE_ID`,
      );
    return this.#openSession(
      {
        organizationId,
        purpose: `upgrade:${targetTier}`,
        price,
        successUrl: this.settings.successUrl,
        cancelUrl: this.settings.cancelUrl,
      },
      { orgId: organizationId, targetTier },
      opts.idempotencyKey,
    );
  }

  async #openSession(
    req: CheckoutRequest,
    metadata: Record<string, string>,
    clientKey?: string,
  ): Promise<{ checkout_url: string }> {
    const stripe = this.stripe();
    if (!stripe) throw notConfigured();
    const idempotencyKey = await checkoutIdempotencyKey(req, this.clock.now().getTime(), clientKey);
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          line_items: [{ price: req.price, quantity: 1 }],
          client_reference_id: req.organizationId,
          success_url: req.successUrl,
          cancel_url: req.cancelUrl,
          metadata,
          // Copied onto the subscription, so its lifecycle events name the organization too.
          subscription_data: { metadata },
        },
        { idempotencyKey },
      );
    } catch (err) {
      if (err instanceof Stripe.errors.StripeIdempotencyError) {
        throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used with different parameters');
      }
      if (err instanceof Stripe.errors.StripeError) {
        console.error(
          JSON.stringify({
            level: 'error',
            msg: 'stripe checkout failed',
            tenant: req.organizationId,
            type: err.type,
            status: err.statusCode,
            request_id: err.requestId,
          }),
        );
        throw new AppError('billing_provider_error', 'The payment provider could not create a checkout session');
      }
      throw err;
    }
    if (!session.url) throw new AppError('billing_provider_error', 'The payment provider returned no checkout URL');
    return { checkout_url: session.url };
  }

  /**
   * `GET /v1/billing/subscription`: the stored subscription state, or `{ status: "free", ... null }` when the
   * organization never had one. Reads only the database (works without Stripe). Throws nothing of its own.
   */
  async getSubscriptionStatus(organizationId: string): Promise<SubscriptionStatus> {
    const [row] = await this.db.query<{
      status: string;
      current_period_end: string | Date | null;
      stripe_subscription_id: string | null;
    }>(
      'SELECT status, current_period_end, stripe_subscription_id FROM tenant_subscriptions WHERE organization_id = $1',
      [organizationId],
    );
    if (!row) return { status: 'free', current_period_end: null, stripe_subscription_id: null };
    const end = row.current_period_end;
    return {
      status: row.status,
      current_period_end: end == null ? null : new Date(end).toISOString(),
      stripe_subscription_id: row.stripe_subscription_id,
    };
  }

  /**
   * `POST /v1/billing/stripe-webhook`: verifies `signature` over the exact `payload` bytes (default
   * tolerance, 300 s, against the injected clock), then applies the event in one transaction that first
   * records its id: a redelivered or concurrently delivered event finds the id and changes nothing. When the
   * event cannot be trusted on its own (a checkout completion, or an event from the same second as the
   * stored state), the transaction is rolled back, the subscription is fetched from Stripe outside any
   * transaction, and the event is applied again with it. `billing_provider_error` (502) when that fetch fails.
   * Throws `billing_not_configured` (503) without STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET,
   * `stripe_signature_invalid` (400, `reason`: missing_header, malformed_header, signature_mismatch,
   * timestamp_outside_tolerance) and `stripe_event_invalid` (400) for a signed body that is not an event.
   */
  async handleWebhook(
    payload: Uint8Array<ArrayBuffer> | string,
    signature: string | undefined,
  ): Promise<WebhookOutcome> {
    const secret = this.settings.webhookSecret;
    if (!this.settings.enabled) throw notConfigured();
    if (!secret) throw notConfigured('STRIPE_WEBHOOK_SECRET is unset');
    if (!signature) throw signatureInvalid('missing_header', 'The Stripe-Signature header is missing');
    let parsed: unknown;
    try {
      parsed = await Stripe.webhooks.constructEventAsync(
        payload,
        signature,
        secret,
        undefined,
        createStripeCryptoProvider(),
        this.clock.now().getTime(),
      );
    } catch (err) {
      if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
        throw signatureInvalid(signatureReason(err.message), 'The Stripe-Signature header does not verify this body');
      }
      // Signed by the right secret but not JSON.
      throw new AppError('stripe_event_invalid', 'The signed body is not a Stripe event');
    }
    const shaped = StripeEventShape.safeParse(parsed);
    if (!shaped.success) throw new AppError('stripe_event_invalid', 'The signed body is not a Stripe event');
    const event = shaped.data;

    let snapshot: SubscriptionSnapshot | undefined;
    for (;;) {
      const result = await this.#applyOnce(event, snapshot);
      if (!(result instanceof FetchFirst)) return result;
      const stripe = this.stripe();
      if (!stripe || snapshot) throw new TypeError('the event applier asked for the subscription twice');
      snapshot = await fetchSubscription(stripe, result.subscriptionId);
    }
  }

  /** One transaction: record the event id, apply it; a request for the subscription rolls both back. */
  async #applyOnce(event: StripeEventEnvelope, snapshot?: SubscriptionSnapshot): Promise<WebhookOutcome | FetchFirst> {
    try {
      return await this.db.tx(async (q): Promise<WebhookOutcome> => {
        const fresh = await q.query(
          `INSERT INTO stripe_events (id, type, created, processed_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [event.id, event.type, event.created, this.clock.now().toISOString()],
        );
        if (fresh.length === 0) return { received: true, event_id: event.id, outcome: 'duplicate' };
        const handled: HandledEvent | { outcome: 'fetch'; subscriptionId: string } = await this.#applier.apply(
          q,
          event,
          snapshot,
        );
        if (handled.outcome === 'fetch') throw new FetchFirst(handled.subscriptionId);
        await q.query('UPDATE stripe_events SET outcome = $2, organization_id = $3 WHERE id = $1', [
          event.id,
          handled.outcome === 'applied' ? 'applied' : `ignored:${handled.reason ?? 'unknown'}`,
          handled.organizationId ?? null,
        ]);
        return {
          received: true,
          event_id: event.id,
          outcome: handled.outcome,
          ...(handled.reason ? { reason: handled.reason } : {}),
        };
      });
    } catch (err) {
      if (err instanceof FetchFirst) return err;
      throw err;
    }
  }
}

/** Thrown inside the webhook transaction to roll it back when the subscription must be fetched first. */
class FetchFirst extends Error {
  constructor(readonly subscriptionId: string) {
    super('fetch the subscription first');
  }
}
