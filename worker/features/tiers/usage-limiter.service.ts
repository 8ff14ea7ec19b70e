import type { TakeResult, TenantLimiter, UsageResult } from '../../../durable-objects/tenant-limiter.do.ts';
import type { Clock } from '../../platform/clock.ts';
import { nextUtcMidnight } from '../../platform/clock.ts';
import { LimiterLink } from './limiter-link.ts';
import { LocalCounter } from './local-counter.ts';
import type { QuotaDecision, QuotaTicket } from './quota-decision.ts';
import { type LeaseContext, QuotaLease } from './quota-lease.ts';
import { TIER_CONFIG, type TierName } from './tiers.ts';

/** An unlimited tier's counter is written once this many calls or tokens are pending (or USAGE_FLUSH_MS passed). */
export const USAGE_BATCH = 100;

type Kind = 'calls' | 'tokens';

// Isolate state, at module scope on purpose: the point of a lease is that every request of this isolate spends
// the same block without a round trip. It holds counts, never request objects; a lost isolate loses at most
// its unreported usage (an unlimited batch), and its leases are counted in full by the object when they expire.
const leases = new Map<string, QuotaLease>();
const counters = new Map<string, LocalCounter>();
let lastSweepAt: number | null = null;

const keyOf = (organizationId: string, kind: Kind) => `${organizationId}:${kind}`;

/** Whether this isolate holds any lease or unwritten count (cheap: lets hot routes skip settling). */
export const usageHeld = (): boolean => leases.size > 0 || counters.size > 0;

function logError(msg: string, organizationId: string, err: unknown): void {
  const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  console.error(JSON.stringify({ level: 'error', msg, tenant: organizationId, error }));
}

export interface UsageLimiterOptions {
  /** LIMITER_SIMULATED_RTT_MS (development only). */
  rttMs?: number;
  /** USAGE_FLUSH_MS: how long usage and an idle lease may stay in this isolate. */
  flushMs: number;
  waitUntil(p: Promise<unknown>): void;
}

/**
 * Per-tenant daily counters (API calls, issued tokens), held by one TenantLimiter Durable Object per
 * organization and spent locally: a limited tier spends a lease (QuotaLease), an unlimited one counts in
 * this isolate and writes batches (LocalCounter). Exact against the limit: at most `limit` calls are
 * admitted a day across all isolates, and none is refused while quota remains un-leased.
 */
export class UsageLimiterService {
  readonly #opts: UsageLimiterOptions;

  constructor(
    private readonly ns: DurableObjectNamespace<TenantLimiter>,
    private readonly clock: Clock,
    options: UsageLimiterOptions,
  ) {
    this.#opts = options;
  }

  /**
   * Counts one API call against the tier's daily call limit; `allowed: false` counted nothing. Rejects when
   * the Durable Object is unreachable and this isolate holds no quota.
   */
  countCall(organizationId: string, tier: TierName): Promise<QuotaDecision> {
    return this.#count(organizationId, 'calls', TIER_CONFIG[tier].max_calls_per_day);
  }

  /** Counts one issued token against the tier's daily token limit, as `countCall` does for calls. */
  countTokens(organizationId: string, tier: TierName): Promise<QuotaDecision> {
    return this.#count(organizationId, 'tokens', TIER_CONFIG[tier].max_tokens_per_day);
  }

  /**
   * Counts up to `wanted` webhook delivery attempts at `nowMs` (the dispatcher's clock) against the tier's
   * daily delivery quota, directly on the object (deliveries are sent from one Durable Object per
   * subscription, not from request isolates, so there is nothing to lease); `granted` of them may be sent.
   * Rejects when the Durable Object is unreachable.
   */
  takeDeliveries(organizationId: string, tier: TierName, nowMs: number, wanted: number): Promise<TakeResult> {
    return this.#link(organizationId).take(
      'deliveries',
      TIER_CONFIG[tier].max_webhook_deliveries_per_day,
      nowMs,
      wanted,
      'blocking',
    );
  }

  /**
   * Gives back a token counted by `countTokens` (it was not issued), the way it was counted: into this
   * isolate's lease or batch when they still hold it, else to the object (after the response; failures are
   * logged). The refund lands on the UTC day of the ticket.
   */
  refundToken(organizationId: string, ticket: QuotaTicket): void {
    const key = keyOf(organizationId, 'tokens');
    if (ticket.via === 'lease' && leases.get(key)?.refund(ticket.epoch, ticket.day)) return;
    if (ticket.via === 'local' && counters.get(key)?.refund(ticket.nowMs)) return;
    this.#opts.waitUntil(
      this.#link(organizationId)
        .release('tokens', ticket.nowMs, 1, 'background')
        .catch((err: unknown) => logError('token refund failed', organizationId, err)),
    );
  }

  /**
   * Today's counters. What this isolate counted is reported first, so the answer includes it; what other
   * isolates spent from their leases or batched and have not yet reported is not (at most their leases, or
   * USAGE_FLUSH_MS of unlimited usage). Rejects when the Durable Object is unreachable.
   */
  async usage(organizationId: string): Promise<UsageResult> {
    const nowMs = this.clock.now().getTime();
    const link = this.#link(organizationId);
    const local = { calls: 0, tokens: 0 };
    for (const kind of ['calls', 'tokens'] as const) {
      const counter = counters.get(keyOf(organizationId, kind));
      if (counter && !counter.idle) await counter.flush(link, 'blocking').catch(() => undefined);
      const lease = leases.get(keyOf(organizationId, kind));
      if (lease) {
        // A call in flight (another request's) carries spends of its own: wait until it has answered.
        while (lease.busy) await new Promise((resolve) => setTimeout(resolve, 1));
        await lease.settle(link, nowMs, this.#opts.waitUntil, { idleMs: Number.POSITIVE_INFINITY, report: true });
      }
      local[kind] = (counter?.pendingOn(nowMs) ?? 0) + (lease?.unreported ?? 0);
    }
    const usage = await link.usage(nowMs, 'blocking');
    return { ...usage, calls: usage.calls + local.calls, tokens: usage.tokens + local.tokens };
  }

  /**
   * After a request (and from the idle timer): writes unlimited batches that are due and gives back leases
   * idle for USAGE_FLUSH_MS or no longer usable; with `force`, everything. Sweeps all organizations at most
   * every USAGE_FLUSH_MS / 2. Never rejects (failures are logged). Answers whether this isolate still holds
   * usage or leases (then an idle timer should come back later).
   */
  async settle({ force = false }: { force?: boolean } = {}): Promise<boolean> {
    const nowMs = this.clock.now().getTime();
    const { flushMs } = this.#opts;
    // Gated on the distance to the last sweep (either way: tests move clocks backwards too).
    if (!force && flushMs > 0 && lastSweepAt !== null && Math.abs(nowMs - lastSweepAt) < flushMs / 2)
      return usageHeld();
    lastSweepAt = nowMs;
    const idleMs = force ? 0 : flushMs;
    const work: Promise<unknown>[] = [];
    for (const [key, counter] of counters) {
      const organizationId = key.slice(0, key.lastIndexOf(':'));
      if (counter.idle) counters.delete(key);
      else if (force || counter.due(nowMs, flushMs, USAGE_BATCH)) {
        work.push(
          counter
            .flush(this.#link(organizationId), 'background')
            .catch((err: unknown) => logError('usage batch not written', organizationId, err)),
        );
      }
    }
    for (const [key, lease] of leases) {
      const organizationId = key.slice(0, key.lastIndexOf(':'));
      if (lease.idle) leases.delete(key);
      else {
        work.push(
          lease
            .settle(this.#link(organizationId), nowMs, this.#opts.waitUntil, { idleMs, report: false })
            .catch((err: unknown) => logError('lease not returned', organizationId, err)),
        );
      }
    }
    await Promise.all(work);
    for (const [key, lease] of leases) if (lease.idle) leases.delete(key);
    for (const [key, counter] of counters) if (counter.idle) counters.delete(key);
    return usageHeld();
  }

  async #count(organizationId: string, kind: Kind, limit: number | null): Promise<QuotaDecision> {
    const nowMs = this.clock.now().getTime();
    const key = keyOf(organizationId, kind);
    if (limit === null) {
      const counter = counters.get(key) ?? new LocalCounter(kind);
      counters.set(key, counter);
      counter.take(nowMs);
      if (counter.pendingOn(nowMs) >= USAGE_BATCH) {
        this.#opts.waitUntil(
          counter
            .flush(this.#link(organizationId), 'background')
            .catch((err: unknown) => logError('usage batch not written', organizationId, err)),
        );
      }
      const reset_at = nextUtcMidnight(new Date(nowMs)).toISOString();
      return { allowed: true, limit: null, remaining: null, reset_at, retry_at: null, ticket: { via: 'local', nowMs } };
    }
    const lease = leases.get(key) ?? new QuotaLease(kind);
    leases.set(key, lease);
    const ctx: LeaseContext = { link: this.#link(organizationId), limit, nowMs, waitUntil: this.#opts.waitUntil };
    return lease.take(ctx);
  }

  #link(organizationId: string): LimiterLink {
    return new LimiterLink(this.ns, organizationId, this.#opts.rttMs ?? 0);
  }
}
