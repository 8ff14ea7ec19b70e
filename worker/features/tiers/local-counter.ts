import { utcDate } from '../../platform/clock.ts';
import { count } from '../../platform/metrics.ts';
import type { CallMode, LimiterLink } from './limiter-link.ts';

interface Pending {
  n: number;
  /** The first count of this batch: the flush counts it on that instant's UTC day. */
  firstMs: number;
}

/**
 * One isolate's count of an unlimited tier's calls or tokens for one organization: counted here with no I/O
 * and written to the TenantLimiter in batches (`flush`). A crash loses at most one batch (see USAGE_FLUSH_MS
 * and USAGE_BATCH in usage-limiter.service.ts); a batch that fails to write is kept and written next time.
 */
export class LocalCounter {
  readonly kind: 'calls' | 'tokens';
  #pending = new Map<string, Pending>();

  constructor(kind: 'calls' | 'tokens') {
    this.kind = kind;
  }

  take(nowMs: number): void {
    const day = utcDate(new Date(nowMs));
    const p = this.#pending.get(day);
    if (p) p.n++;
    else this.#pending.set(day, { n: 1, firstMs: nowMs });
    count('agentidp_quota_admissions_total', { kind: this.kind, via: 'local' });
  }

  /** Takes one back from the batch of `nowMs`'s day; false when it was already written (refund directly). */
  refund(nowMs: number): boolean {
    const p = this.#pending.get(utcDate(new Date(nowMs)));
    if (!p || p.n === 0) return false;
    p.n--;
    return true;
  }

  /** Counted here and not yet written, for `nowMs`'s day. */
  pendingOn(nowMs: number): number {
    return this.#pending.get(utcDate(new Date(nowMs)))?.n ?? 0;
  }

  get idle(): boolean {
    return this.#pending.size === 0;
  }

  /** A batch is due: `batch` counts, or one older than `maxAgeMs`. */
  due(nowMs: number, maxAgeMs: number, batch: number): boolean {
    for (const p of this.#pending.values()) if (p.n >= batch || nowMs - p.firstMs >= maxAgeMs) return true;
    return false;
  }

  /** Writes every pending batch; a failed one is put back (and the error rethrown). */
  async flush(link: LimiterLink, mode: CallMode): Promise<void> {
    const batches = [...this.#pending.entries()];
    this.#pending.clear();
    let failure: unknown;
    for (const [day, p] of batches) {
      if (p.n === 0) continue;
      try {
        await link.increment(this.kind, null, p.firstMs, p.n, mode);
        count('agentidp_usage_flushes_total', { what: `${this.kind}_counter`, outcome: 'ok' });
      } catch (err) {
        count('agentidp_usage_flushes_total', { what: `${this.kind}_counter`, outcome: 'error' });
        const now = this.#pending.get(day);
        this.#pending.set(day, { n: p.n + (now?.n ?? 0), firstMs: p.firstMs });
        failure = err;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
