import type { Clock } from '../../platform/clock.ts';
import { nextUtcMidnight } from '../../platform/clock.ts';
import type { Db, Queryable } from '../../platform/db.ts';
import { AppError, notFound, validationFailed } from '../../platform/errors.ts';
import type { EventAnnouncer } from '../agents/agent.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { TierStatus } from './contract.ts';
import { isTierName, TIER_CONFIG, TIER_RANK, type TierName } from './tiers.ts';
import type { UsageLimiterService } from './usage-limiter.service.ts';

/** Starts a paid upgrade (Stripe Checkout); provided by the billing service when Stripe is configured. */
export interface UpgradeCheckout {
  createUpgradeCheckout(
    organizationId: string,
    targetTier: TierName,
    options?: { idempotencyKey?: string },
  ): Promise<{ checkout_url: string }>;
}

export interface TierChange {
  previous: TierName;
  tier: TierName;
  changed: boolean;
}

export type UpgradeCheck = { ok: true } | { ok: false; reason: string };

export interface TierChangeOptions {
  /** The caller's transaction (the billing webhook's); without it the change opens its own. */
  q?: Queryable;
  actor?: string;
  /** Added to the audit payload (e.g. the Stripe event id). */
  details?: Record<string, unknown>;
}

/** Pure rule of upgrades: the target must rank strictly higher than the current tier. */
export function checkUpgrade(current: TierName, target: TierName): UpgradeCheck {
  if (TIER_RANK[target] > TIER_RANK[current]) return { ok: true };
  return { ok: false, reason: `target_tier must rank above the current tier (${current}); got ${target}` };
}

const tierOf = (v: unknown): TierName => (isTierName(v) ? v : 'free');

/**
 * The single authority on subscription tiers: current tier, limits and live usage, the agent and webhook
 * quotas, and tier changes. Daily counters come from the TenantLimiter Durable Object (via UsageLimiterService).
 *
 * A tier change bumps `organizations.tier_version`; once the request that made it is over, its isolate
 * forgets the organization's cached API-key rows, so the next request there is limited by the new tier
 * (other isolates within API_KEY_CACHE_SECONDS).
 */
export class TierService {
  /** Organizations whose tier this unit of work changed, to tell their limiter once it is over. */
  readonly #changed = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly limiter: UsageLimiterService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly events?: EventAnnouncer,
    private readonly checkout?: UpgradeCheckout,
  ) {}

  /**
   * The organization's tier; `free` when the row is missing or holds an unknown value (the safe default).
   * Throws nothing of its own; database errors propagate.
   */
  async fetchTier(organizationId: string, q: Queryable = this.db): Promise<TierName> {
    const [row] = await q.query<{ tier: string }>('SELECT tier FROM organizations WHERE organization_id = $1', [
      organizationId,
    ]);
    return tierOf(row?.tier);
  }

  /**
   * `GET /v1/tier`: tier, its limits, live usage (agents not decommissioned; today's calls and tokens from
   * the Durable Object) and the next UTC midnight. When the Durable Object is unreachable the daily
   * counters read 0 and an error is logged rather than failing the request. Throws nothing of its own.
   */
  async getStatus(organizationId: string): Promise<TierStatus> {
    const [rows, usage] = await Promise.all([
      this.db.query<{ tier: string; agents: number; webhooks: number }>(
        `SELECT o.tier,
                (SELECT count(*)::int FROM agents a
                  WHERE a.organization_id = o.organization_id AND a.status <> 'decommissioned') AS agents,
                (SELECT count(*)::int FROM webhook_subscriptions w WHERE w.organization_id = o.organization_id) AS webhooks
           FROM organizations o WHERE o.organization_id = $1`,
        [organizationId],
      ),
      this.limiter.usage(organizationId).catch((err: unknown) => {
        console.error(
          JSON.stringify({
            level: 'error',
            msg: 'tier status: usage counters unavailable',
            tenant: organizationId,
            error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          }),
        );
        return null;
      }),
    ]);
    const tier = tierOf(rows[0]?.tier);
    return {
      tier,
      limits: { ...TIER_CONFIG[tier] },
      usage: {
        agents: Number(rows[0]?.agents ?? 0),
        calls_today: usage?.calls ?? 0,
        tokens_today: usage?.tokens ?? 0,
        webhook_subscriptions: Number(rows[0]?.webhooks ?? 0),
        webhook_deliveries_today: usage?.deliveries ?? 0,
      },
      reset_at: usage?.reset_at ?? nextUtcMidnight(this.clock.now()).toISOString(),
    };
  }

  /**
   * Agent quota, run inside the agent-creation transaction (AgentHooks.beforeCreate). Locks the
   * organization row (`FOR UPDATE`) before counting, so concurrent creations serialise and two of them at
   * `max_agents − 1` cannot both pass; the lock is held until the creating transaction ends. The tier is
   * read under the same lock. Decommissioned agents do not count. Throws `tier_limit_exceeded` (429) at
   * the limit, `not_found` (404) for an unknown organization.
   */
  enforceAgentLimit(q: Queryable, organizationId: string): Promise<void> {
    return this.#enforceCount(q, organizationId, 'max_agents', {
      count: `SELECT count(*)::int AS n FROM agents WHERE organization_id = $1 AND status <> 'decommissioned'`,
      what: 'agents',
      remedy: 'decommission an agent or upgrade the tier',
    });
  }

  /**
   * Webhook subscription quota, run inside the subscription-creating transaction, like `enforceAgentLimit`
   * (disabled subscriptions count: they can be re-activated). Throws `tier_limit_exceeded` (429) at the
   * limit, `not_found` (404) for an unknown organization.
   */
  enforceWebhookLimit(q: Queryable, organizationId: string): Promise<void> {
    return this.#enforceCount(q, organizationId, 'max_webhook_subscriptions', {
      count: 'SELECT count(*)::int AS n FROM webhook_subscriptions WHERE organization_id = $1',
      what: 'webhook subscriptions',
      remedy: 'delete a subscription or upgrade the tier',
    });
  }

  async #enforceCount(
    q: Queryable,
    organizationId: string,
    limit: 'max_agents' | 'max_webhook_subscriptions',
    rule: { count: string; what: string; remedy: string },
  ): Promise<void> {
    const [org] = await q.query<{ tier: string }>(
      'SELECT tier FROM organizations WHERE organization_id = $1 FOR UPDATE',
      [organizationId],
    );
    if (!org) throw notFound('Organization');
    const tier = tierOf(org.tier);
    const max = TIER_CONFIG[tier][limit];
    if (max === null) return;
    const [row] = await q.query<{ n: number }>(rule.count, [organizationId]);
    const current = Number(row?.n ?? 0);
    if (current >= max) {
      throw new AppError('tier_limit_exceeded', `The ${tier} tier allows ${max} ${rule.what}; ${rule.remedy}`, {
        tier,
        limit: max,
        current,
      });
    }
  }

  /**
   * Sets the organization's tier (and `tier_updated_at`), recording `tier.upgraded` (or `tier.downgraded`)
   * in the audit chain and announcing `tier.upgraded`. Idempotent: the same tier again changes nothing.
   * Pass `q` to run inside the caller's transaction (the billing webhook's); otherwise it opens its own.
   * `details` are added to the audit payload (e.g. the Stripe event id). The request's isolate forgets the
   * organization's cached API-key rows afterwards (tier-publish.ts).
   * Throws `not_found` (404) for an unknown organization.
   */
  applyUpgrade(organizationId: string, tier: TierName, options: TierChangeOptions = {}): Promise<TierChange> {
    if (!isTierName(tier)) throw new TypeError(`unknown tier ${String(tier)}`);
    return this.#change(organizationId, () => tier, options);
  }

  /**
   * What a paid subscription grants: `tier` when it ranks above the current one; a higher tier (an
   * operator's contract) is kept. Audits and announces like `applyUpgrade`. Throws `not_found` (404).
   */
  raiseTo(organizationId: string, tier: TierName, options: TierChangeOptions = {}): Promise<TierChange> {
    if (!isTierName(tier)) throw new TypeError(`unknown tier ${String(tier)}`);
    return this.#change(organizationId, (current) => (checkUpgrade(current, tier).ok ? tier : current), options);
  }

  /**
   * Takes back what a subscription paid for (`paid`; null when unknown): back to `free`, unless the
   * current tier ranks above `paid` (granted otherwise, e.g. by the operator). Audits like `applyUpgrade`.
   * Throws `not_found` (404).
   */
  revokePaidTier(organizationId: string, paid: TierName | null, options: TierChangeOptions = {}): Promise<TierChange> {
    return this.#change(
      organizationId,
      (current) => (paid !== null && checkUpgrade(paid, current).ok ? current : 'free'),
      options,
    );
  }

  /** Locks the organization row, picks the new tier from the current one, and records the change. */
  #change(
    organizationId: string,
    pick: (current: TierName) => TierName,
    { q, actor = 'system', details }: TierChangeOptions,
  ): Promise<TierChange> {
    const run = async (tx: Queryable): Promise<TierChange> => {
      const [org] = await tx.query<{ tier: string }>(
        'SELECT tier FROM organizations WHERE organization_id = $1 FOR UPDATE',
        [organizationId],
      );
      if (!org) throw notFound('Organization');
      const previous = tierOf(org.tier);
      const tier = pick(previous);
      if (previous === tier) return { previous, tier, changed: false };
      await tx.query(
        `UPDATE organizations SET tier = $2, tier_version = tier_version + 1, tier_updated_at = $3, updated_at = $3
          WHERE organization_id = $1`,
        [organizationId, tier, this.clock.now().toISOString()],
      );
      this.#changed.add(organizationId);
      const upgraded = checkUpgrade(previous, tier).ok;
      await this.audit.append(tx, organizationId, {
        event_type: upgraded ? 'tier.upgraded' : 'tier.downgraded',
        actor,
        subject: organizationId,
        payload: { ...details, from: previous, to: tier },
      });
      if (upgraded)
        await this.events?.announce(tx, organizationId, 'tier.upgraded', {
          organization_id: organizationId,
          from: previous,
          to: tier,
        });
      return { previous, tier, changed: true };
    };
    return q ? run(q) : this.db.tx(run);
  }

  /**
   * The organizations whose tier this unit of work changed, once (the HTTP layer drops their cached API-key
   * rows, so the next request reads the new tier and its rate-limit lease is renewed under the new limit).
   */
  takeChangedOrganizations(): string[] {
    const ids = [...this.#changed];
    this.#changed.clear();
    return ids;
  }

  /**
   * Whether `target` ranks strictly above the organization's `current` tier (a stored value that is not a
   * known tier counts as `free`): the rule every upgrade path applies.
   */
  isUpgrade(current: string, target: TierName): boolean {
    return checkUpgrade(tierOf(current), target).ok;
  }

  /**
   * Validates an upgrade request and starts checkout. Throws `validation_failed` (400) unless `targetTier`
   * ranks strictly above the current tier, and `billing_not_configured` (503) when no checkout is wired
   * (STRIPE_SECRET_KEY unset); the checkout's own errors (billing.service.ts) pass through.
   */
  async initiateUpgrade(
    organizationId: string,
    targetTier: TierName,
    options?: { idempotencyKey?: string },
  ): Promise<{ checkout_url: string }> {
    await this.assertUpgradeAllowed(organizationId, targetTier);
    if (!this.checkout) {
      throw new AppError(
        'billing_not_configured',
        'Billing is not configured on this deployment (STRIPE_SECRET_KEY is unset)',
      );
    }
    return this.checkout.createUpgradeCheckout(organizationId, targetTier, options);
  }

  /**
   * Throws `validation_failed` (400, field `target_tier`) unless `targetTier` is a known tier ranking
   * strictly above the organization's current one. For the billing service to reuse before checkout.
   */
  async assertUpgradeAllowed(organizationId: string, targetTier: TierName): Promise<void> {
    if (!isTierName(targetTier)) {
      throw validationFailed('Unknown tier', [
        { path: 'target_tier', message: 'must be one of free, pro, enterprise' },
      ]);
    }
    const check = checkUpgrade(await this.fetchTier(organizationId), targetTier);
    if (!check.ok) throw validationFailed(check.reason, [{ path: 'target_tier', message: check.reason }]);
  }
}
