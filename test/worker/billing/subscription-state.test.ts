// The subscription state machine's transition table: every Stripe status, against every kind of stored
// state and every order of arrival (older, same second, newer, fetched from the API).
import { describe, expect, it } from 'vitest';
import {
  type Observation,
  type StoredSubscription,
  SUBSCRIPTION_STATUSES,
  type Transition,
  transition,
} from '../../../worker/features/billing/subscription-state.ts';

/** One letter per outcome: Grant, Revoke, Keep (applied), Fetch, Stale, Ended, Not current. */
function code(t: Transition): string {
  if (t.action === 'fetch') return 'F';
  if (t.action === 'ignore')
    return { stale: 'S', subscription_ended: 'E', not_current_subscription: 'N', unknown_status: '?' }[t.reason];
  return { grant: 'G', revoke: 'R', keep: 'K' }[t.entitlement.kind];
}

const stored = (status: string, subscriptionId = 'sub_A', observedAt = 100): StoredSubscription => ({
  subscriptionId,
  status,
  tier: 'pro',
  observedAt,
});
const obs = (status: string, over: Partial<Observation> = {}): Observation => ({
  subscriptionId: 'sub_A',
  status,
  tier: 'pro',
  at: 101,
  authoritative: false,
  ...over,
});

// Columns, in order: incomplete, incomplete_expired, trialing, active, past_due, canceled, unpaid, paused.
const TABLE: Array<[string, StoredSubscription | undefined, Partial<Observation>, string]> = [
  ['nothing stored', undefined, {}, 'K R G G K R K K'],
  ['same subscription granting, newer event', stored('active'), {}, 'R R G G R R R R'],
  ['same subscription granting, same second', stored('active'), { at: 100 }, 'F R F G F R F F'],
  ['same subscription granting, older event', stored('active'), { at: 99 }, 'S S S S S S S S'],
  [
    'same subscription granting, older but fetched',
    stored('active'),
    { at: 99, authoritative: true },
    'R R G G R R R R',
  ],
  ['same subscription past_due, newer event', stored('past_due'), {}, 'K R G G K R K K'],
  ['same subscription past_due, older event', stored('past_due'), { at: 99 }, 'S S S S S S S S'],
  ['same subscription canceled', stored('canceled'), {}, 'E E E E E E E E'],
  ['same subscription canceled, fetched', stored('canceled'), { authoritative: true }, 'E E E E E E E E'],
  ['same subscription expired', stored('incomplete_expired'), {}, 'E E E E E E E E'],
  ['another subscription granting, newer event', stored('active', 'sub_B'), {}, 'N N G G N N N N'],
  ['another subscription granting, older event', stored('active', 'sub_B'), { at: 99 }, 'N N S S N N N N'],
  ['another subscription canceled, older event', stored('canceled', 'sub_B'), { at: 99 }, 'K K G G K K K K'],
  ['another subscription unpaid, newer event', stored('unpaid', 'sub_B'), {}, 'K K G G K K K K'],
];

describe('subscription transition table', () => {
  it.each(TABLE)('%s', (_name, before, over, expected) => {
    const got = SUBSCRIPTION_STATUSES.map((status) => code(transition(before, obs(status, over)))).join(' ');
    expect(got).toBe(expected);
  });

  it('never acts on a status Stripe may add later', () => {
    expect(transition(stored('active'), obs('suspended_for_review'))).toEqual({
      action: 'ignore',
      reason: 'unknown_status',
    });
  });

  it('grants the tier the subscription pays for: its own, else the stored one; unknown keeps the tier', () => {
    expect(transition(stored('past_due'), obs('active', { tier: null }))).toMatchObject({
      entitlement: { kind: 'grant', tier: 'pro' },
    });
    expect(transition(stored('active'), obs('active', { tier: 'enterprise' }))).toMatchObject({
      entitlement: { kind: 'grant', tier: 'enterprise' },
    });
    expect(transition(undefined, obs('active', { tier: null }))).toMatchObject({ entitlement: { kind: 'keep' } });
    expect(transition(stored('active'), obs('unpaid', { tier: null }))).toMatchObject({
      entitlement: { kind: 'revoke', tier: 'pro' },
    });
  });

  it('moves the stored state forward only: a fetched answer about an older event keeps the newer time', () => {
    const t = transition(stored('active', 'sub_A', 100), obs('past_due', { at: 90, authoritative: true }));
    expect(t).toMatchObject({ action: 'apply', changed: true, next: { status: 'past_due', observedAt: 100 } });
    expect(transition(stored('active'), obs('active', { at: 105 }))).toMatchObject({
      action: 'apply',
      changed: false,
      next: { observedAt: 105 },
    });
  });
});
