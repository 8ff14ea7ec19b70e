import type { Clock } from '../../platform/clock.ts';
import { TIER_CONFIG, type TierName } from './tiers.ts';
import type { CounterKind, LimitResult, TenantLimiter, UsageResult } from '../../../durable-objects/tenant-limiter.do.ts';

/**
 * Per-tenant daily counters (API calls, issued tokens), held by one TenantLimiter Durable Object per
 * organization. Check-and-count happens inside the object, so it is exact under concurrency.
 * A stub is made per call: a stub that saw an exception is broken and must not be reused.
 */
export class UsageLimiterService {
  constructor(
    private readonly ns: DurableObjectNamespace<TenantLimiter>,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts one API call against the tier's daily call limit. `allowed: false` means the limit was already
   * reached and nothing was counted. Rejects when the Durable Object is unreachable.
   */
  countCall(organizationId: string, tier: TierName): Promise<LimitResult> {
    return this.#count(organizationId, 'calls', TIER_CONFIG[tier].max_calls_per_day, 1);
  }

  /**
   * Counts `n` issued tokens against the tier's daily token limit, for the token issuer. All or nothing:
   * `allowed: false` means none of the `n` was counted. Rejects when the Durable Object is unreachable.
   */
  countTokens(organizationId: string, tier: TierName, n = 1): Promise<LimitResult> {
    return this.#count(organizationId, 'tokens', TIER_CONFIG[tier].max_tokens_per_day, n);
  }

  /**
   * Gives back `n` tokens counted by `countTokens` at `nowMs` (pass the same instant: the refund lands on
   * the day of the reservation), when issuing them failed. Rejects when the Durable Object is unreachable.
   */
  releaseTokens(organizationId: string, nowMs: number, n = 1): Promise<number> {
    return this.#stub(organizationId).release('tokens', nowMs, n);
  }

  /** Today's counters without counting. Rejects when the Durable Object is unreachable. */
  usage(organizationId: string): Promise<UsageResult> {
    return this.#stub(organizationId).usage(this.clock.now().getTime());
  }

  #stub(organizationId: string) {
    return this.ns.getByName(organizationId);
  }

  #count(organizationId: string, kind: CounterKind, limit: number | null, n: number): Promise<LimitResult> {
    return this.#stub(organizationId).increment(kind, limit, this.clock.now().getTime(), n);
  }
}
