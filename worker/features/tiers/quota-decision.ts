/** How an admitted call was counted, so that a refund (a token that was not issued) goes back the same way. */
export type QuotaTicket =
  /** Spent from this isolate's lease while its epoch was `epoch`. */
  | { via: 'lease'; epoch: number; day: string; nowMs: number }
  /** Counted by the TenantLimiter object itself. */
  | { via: 'direct'; nowMs: number }
  /** Unlimited tier: counted in this isolate, flushed in a batch. */
  | { via: 'local'; nowMs: number };

/** The answer to "may this call (or token) be counted?" for one organization's daily counter. */
export interface QuotaDecision {
  allowed: boolean;
  /** Null when the tier is unlimited (no RateLimit headers). */
  limit: number | null;
  /** What this isolate knows is left today: quota nobody holds plus its own lease. Null when unlimited. */
  remaining: number | null;
  /** The next UTC midnight (ISO 8601). */
  reset_at: string;
  /**
   * Refused while other isolates still held unspent quota: the latest moment (ms) it comes back to the
   * object. Null when the day's quota is spent (retry at `reset_at`) or the call was admitted.
   */
  retry_at: number | null;
  ticket?: QuotaTicket;
}
