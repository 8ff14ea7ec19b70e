import type { Clock } from '../lib/clock.ts';
import { TIER_CONFIG, type TierName } from '../lib/tiers.ts';
import type { CounterKind, LimitResult, TenantLimiter } from '../../durable-objects/tenant-limiter.do.ts';

/**
 * Per-tenant daily counters (API calls, issued tokens), held by one TenantLimiter Durable Object per
 * organization. Check-and-count happens inside the object, so it is exact under concurrency.
 */
export class UsageLimiterService {
  constructor(
    private readonly ns: DurableObjectNamespace<TenantLimiter>,
    private readonly clock: Clock,
  ) {}

  #stub(organizationId: string) {
    return this.ns.getByName(organizationId);
  }

  /** Counts one API call against the tier's daily limit; `allowed: false` means nothing was counted. */
  countCall(organizationId: string, tier: TierName): Promise<LimitResult> {
    return this.#count(organizationId, 'calls', TIER_CONFIG[tier].max_calls_per_day, 1);
  }

  /** Counts `n` issued tokens against the tier's daily token limit. */
  countTokens(organizationId: string, tier: TierName, n = 1): Promise<LimitResult> {
    return this.#count(organizationId, 'tokens', TIER_CONFIG[tier].max_tokens_per_day, n);
  }

  /** Today's usage without counting. */
  usage(organizationId: string): Promise<{ calls: number; tokens: number; reset_at: string }> {
    return this.#stub(organizationId).usage(this.clock.now().getTime());
  }

  async #count(organizationId: string, kind: CounterKind, limit: number | null, n: number): Promise<LimitResult> {
    return this.#stub(organizationId).increment(kind, limit, this.clock.now().getTime(), n);
  }
}
