/** Subscription tiers. `null` means unlimited. README.md quotes this table; keep them in step. */
export const TIER_NAMES = ['free', 'pro', 'enterprise'] as const;
export type TierName = (typeof TIER_NAMES)[number];

export interface TierLimits {
  max_agents: number | null;
  max_calls_per_day: number | null;
  max_tokens_per_day: number | null;
}

export const TIER_CONFIG: Readonly<Record<TierName, Readonly<TierLimits>>> = {
  free: { max_agents: 10, max_calls_per_day: 1_000, max_tokens_per_day: 1_000 },
  pro: { max_agents: 100, max_calls_per_day: 100_000, max_tokens_per_day: 100_000 },
  enterprise: { max_agents: null, max_calls_per_day: null, max_tokens_per_day: null },
};

export const TIER_RANK: Readonly<Record<TierName, number>> = { free: 0, pro: 1, enterprise: 2 };

export const isTierName = (v: unknown): v is TierName => typeof v === 'string' && (TIER_NAMES as readonly string[]).includes(v);
