// An organization's Stripe subscription as a state machine. Stripe delivers events at least once and in any
// order, with second-granularity timestamps, so an event is an observation of the subscription at a moment,
// not a command: `transition` decides from the stored state and one observation whether to apply it, ignore
// it, or ask Stripe's API for the subscription as it is now. Pure: the applier does the I/O.
import type { TierName } from '../tiers/tiers.ts';

/** Every status Stripe gives a subscription. */
export const SUBSCRIPTION_STATUSES = [
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'canceled',
  'unpaid',
  'paused',
] as const;
export type StripeSubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** Statuses that grant the paid tier. Every other one (past_due, unpaid, paused, ...) does not. */
export const ENTITLED: ReadonlySet<string> = new Set(['active', 'trialing']);
/** Statuses a subscription never leaves: nothing said about it afterwards can revive it. */
export const TERMINAL: ReadonlySet<string> = new Set(['canceled', 'incomplete_expired']);

export const isSubscriptionStatus = (s: string): s is StripeSubscriptionStatus =>
  (SUBSCRIPTION_STATUSES as readonly string[]).includes(s);

/** What tenant_subscriptions holds for the organization. */
export interface StoredSubscription {
  subscriptionId: string | null;
  status: string;
  /** The tier this subscription pays for, when known. */
  tier: TierName | null;
  /** `created` (Unix seconds) of the event the state came from. */
  observedAt: number;
}

/** One look at a subscription: from an event, or fetched from Stripe's API (`authoritative`). */
export interface Observation {
  subscriptionId: string;
  status: string;
  tier: TierName | null;
  /** `created` of the event that led to it (Unix seconds). */
  at: number;
  /** Fetched from the API: the subscription as it is now, whatever order the events came in. */
  authoritative: boolean;
}

/** What the organization's tier does: `grant` the paid tier, `revoke` what the subscription paid for, or `keep`. */
export type Entitlement =
  | { kind: 'grant'; tier: TierName }
  | { kind: 'revoke'; tier: TierName | null }
  | { kind: 'keep' };

export type IgnoreReason = 'unknown_status' | 'subscription_ended' | 'not_current_subscription' | 'stale';

export type Transition =
  | { action: 'ignore'; reason: IgnoreReason }
  /** The event's order against the stored state cannot be told (same second): fetch the subscription. */
  | { action: 'fetch' }
  | { action: 'apply'; next: StoredSubscription; entitlement: Entitlement; changed: boolean };

const ignore = (reason: IgnoreReason): Transition => ({ action: 'ignore', reason });

/**
 * The transition table. In order:
 * 1. An unknown status is never acted on.
 * 2. A terminal subscription (canceled, incomplete_expired) stays so: later news of it is ignored.
 * 3. While the current subscription grants the tier, news that another one does not is about an old one.
 * 4. An event older than what is stored (for the same subscription, or while the stored one grants the
 *    tier) is stale; one from the same second with another status is ambiguous and is resolved by fetching,
 *    unless it is terminal (nothing can follow a terminal status). Fetched observations are never stale.
 * 5. Otherwise the observation becomes the state. A granting status grants its tier (kept when unknown);
 *    a non-granting one takes back what this subscription granted: when it was granting before, or when it
 *    has ended (canceled with nothing stored, the old behaviour of a deletion).
 */
export function transition(stored: StoredSubscription | undefined, obs: Observation): Transition {
  if (!isSubscriptionStatus(obs.status)) return ignore('unknown_status');
  const same = stored !== undefined && stored.subscriptionId === obs.subscriptionId;
  if (same && TERMINAL.has(stored.status)) return ignore('subscription_ended');
  const storedGrants = stored !== undefined && ENTITLED.has(stored.status);
  if (stored?.subscriptionId && !same && storedGrants && !ENTITLED.has(obs.status))
    return ignore('not_current_subscription');
  if (stored && !obs.authoritative && (same || storedGrants)) {
    if (obs.at < stored.observedAt) return ignore('stale');
    if (obs.at === stored.observedAt && obs.status !== stored.status && !TERMINAL.has(obs.status))
      return { action: 'fetch' };
  }
  const tier = obs.tier ?? (same ? stored.tier : null);
  const next: StoredSubscription = {
    subscriptionId: obs.subscriptionId,
    status: obs.status,
    tier,
    observedAt: same ? Math.max(stored.observedAt, obs.at) : obs.at,
  };
  let entitlement: Entitlement = { kind: 'keep' };
  if (ENTITLED.has(obs.status)) {
    if (tier) entitlement = { kind: 'grant', tier };
  } else if ((same && storedGrants) || (TERMINAL.has(obs.status) && (same || stored === undefined))) {
    entitlement = { kind: 'revoke', tier };
  }
  const changed = !same || stored.status !== next.status || stored.tier !== next.tier;
  return { action: 'apply', next, entitlement, changed };
}
