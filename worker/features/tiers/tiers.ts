/**
 * Subscription tiers. `null` means unlimited. README.md quotes this table; keep them in step.
 *
 * Sizing: an agent that refreshes a one-hour access token around the clock takes 24 tokens a day, so the
 * token limits leave roughly 4× headroom over the agent limits (10 × 24 = 240 of 1,000; 250 × 24 = 6,000 of
 * 100,000 leaves room for shorter-lived tokens). API calls are management traffic (registering agents,
 * issuing credentials, reading analytics): 10,000 a day is ample for a trial, 1,000,000 (≈ 12/s sustained)
 * for production automation. Enterprise is unlimited and governed by contract.
 *
 * Webhooks multiply traffic: one event goes to every matching subscription and each delivery is retried up
 * to 8 times, so subscriptions are capped per tier (enterprise too: a fan-out of 200 is plenty for any
 * integration) and every delivery attempt, retries included, counts against a daily delivery quota. Past
 * the quota, deliveries wait for the next UTC day; nothing is dropped. Free: 5 subscriptions × 8 attempts is
 * at most 40 requests per event, and 1,000 a day; pro: 50 and 100,000 a day.
 */
export const TIER_NAMES = ['free', 'pro', 'enterprise'] as const;
export type TierName = (typeof TIER_NAMES)[number];

export interface TierLimits {
  max_agents: number | null;
  max_calls_per_day: number | null;
  max_tokens_per_day: number | null;
  max_webhook_subscriptions: number | null;
  max_webhook_deliveries_per_day: number | null;
}

export const TIER_CONFIG: Readonly<Record<TierName, Readonly<TierLimits>>> = {
  free: {
    max_agents: 10,
    max_calls_per_day: 10_000,
    max_tokens_per_day: 1_000,
    max_webhook_subscriptions: 5,
    max_webhook_deliveries_per_day: 1_000,
  },
  pro: {
    max_agents: 250,
    max_calls_per_day: 1_000_000,
    max_tokens_per_day: 100_000,
    max_webhook_subscriptions: 50,
    max_webhook_deliveries_per_day: 100_000,
  },
  enterprise: {
    max_agents: null,
    max_calls_per_day: null,
    max_tokens_per_day: null,
    max_webhook_subscriptions: 200,
    max_webhook_deliveries_per_day: null,
  },
};

/** Order of the tiers: an upgrade goes to a strictly higher rank. */
export const TIER_RANK: Readonly<Record<TierName, number>> = { free: 0, pro: 1, enterprise: 2 };

export const isTierName = (v: unknown): v is TierName =>
  typeof v === 'string' && (TIER_NAMES as readonly string[]).includes(v);

/**
 * An organization's tier as read at some moment: `version` is `organizations.tier_version`, bumped by every
 * tier change, so of two views the one with the higher version is the newer.
 */
export interface TierView {
  tier: TierName;
  version: number;
}

export const isTierView = (v: unknown): v is TierView =>
  typeof v === 'object' &&
  v !== null &&
  isTierName((v as TierView).tier) &&
  Number.isSafeInteger((v as TierView).version) &&
  (v as TierView).version >= 0;

/** The daily limit of a counter (`calls` or `tokens`) under a tier; null is unlimited. */
export const dailyLimit = (tier: TierName, kind: 'calls' | 'tokens'): number | null =>
  TIER_CONFIG[tier][kind === 'calls' ? 'max_calls_per_day' : 'max_tokens_per_day'];
