// Quota leases across isolates: three auxiliary Workers of the pool (test/support/isolates), each a separate
// isolate with its own leases, share one TenantLimiter namespace, as the isolates of one Worker do in
// production. They run the Worker's own quota code (UsageLimiterService → QuotaLease → TenantLimiter).
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { LEASE_GRACE_MS, LEASE_TTL_MS } from '../../../durable-objects/lease-policy.ts';
import type { QuotaDecision } from '../../../worker/features/tiers/quota-decision.ts';
import { TIER_CONFIG } from '../../../worker/features/tiers/tiers.ts';

const FREE_CALLS = TIER_CONFIG.free.max_calls_per_day!;
const bindings = env as unknown as Record<'QUOTA_ISOLATE_A' | 'QUOTA_ISOLATE_B' | 'QUOTA_ISOLATE_C', Fetcher>;
const isolates = [bindings.QUOTA_ISOLATE_A, bindings.QUOTA_ISOLATE_B, bindings.QUOTA_ISOLATE_C];

async function ask<T>(i: number, path: string, org: string, query = ''): Promise<T> {
  const res = await isolates[i]!.fetch(`https://isolate${path}?org=${org}${query}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const call = (i: number, org: string) => ask<QuotaDecision>(i, '/call', org);
const settle = (i: number, org: string) => ask(i, '/settle', org);
const usage = (org: string) => ask<{ calls: number; calls_leased: number }>(0, '/usage', org);
/** Leaves `left` of today's calls: spends the rest as earlier requests would have. */
const leave = (org: string, left: number) => ask(0, '/spend', org, `&n=${FREE_CALLS - left}&limit=${FREE_CALLS}`);

/** `n` concurrent calls spread round-robin over the isolates listed. */
const burst = (org: string, n: number, over = [0, 1, 2]) =>
  Promise.all(Array.from({ length: n }, (_, k) => call(over[k % over.length]!, org)));

const admitted = (ds: QuotaDecision[]) => ds.filter((d) => d.allowed).length;

describe('quota leases across isolates', () => {
  it('three isolates sharing one tenant admit exactly the limit under 100-way concurrency', async () => {
    const org = crypto.randomUUID();
    await leave(org, 250);

    // While quota remains, nothing is refused: 100 and 100 more, spread over three isolates.
    const first = await burst(org, 100);
    expect(admitted(first)).toBe(100);
    const second = await burst(org, 100);
    expect(admitted(second)).toBe(100);

    // 100 more against the last 50: exactly 50 admitted, wherever the quota sat.
    const third = await burst(org, 100);
    expect(admitted(third)).toBe(50);
    for (const d of third.filter((x) => !x.allowed)) expect(d).toMatchObject({ remaining: 0, limit: FREE_CALLS });

    // Nothing sat unused: once the isolates give their leases back, every call of the day was counted.
    for (const i of [0, 1, 2]) await settle(i, org);
    expect(await usage(org)).toMatchObject({ calls: FREE_CALLS, calls_leased: 0 });
    const after = await burst(org, 30);
    expect(admitted(after)).toBe(0);
    for (const d of after) expect(d.retry_at).toBeNull();
  });

  it('refuses with a short Retry-After while other isolates hold the rest, then admits it once they give it back', async () => {
    const org = crypto.randomUUID();
    await leave(org, 120);
    // Isolates A and B take leases and keep part of them unused.
    expect(admitted(await burst(org, 6, [0, 1]))).toBe(6);
    const held = (await usage(org)).calls_leased;
    expect(held).toBeGreaterThan(0);

    // Isolate C alone wants everything: it gets all that nobody holds, then hears when the rest comes back.
    const c = await burst(org, 130, [2]);
    const cAdmitted = admitted(c);
    const refused = c.filter((d) => !d.allowed);
    expect(cAdmitted).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const d of refused) {
      expect(d.retry_at).not.toBeNull();
      const wait = d.retry_at! - Date.now();
      expect(wait).toBeLessThanOrEqual(LEASE_TTL_MS + LEASE_GRACE_MS);
    }

    // A and B go quiet and give their leases back (what the idle timer does after USAGE_FLUSH_MS).
    await settle(0, org);
    await settle(1, org);
    const rest = await burst(org, 130, [2]);
    expect(6 + cAdmitted + admitted(rest)).toBe(120);
    const last = rest.filter((d) => !d.allowed);
    expect(last.length).toBeGreaterThan(0);
    // Now the quota is spent everywhere: the answer is the next UTC midnight.
    for (const d of last) expect(d.retry_at).toBeNull();
    await settle(2, org);
    expect(await usage(org)).toMatchObject({ calls: FREE_CALLS, calls_leased: 0 });
  });

  it('spends leases locally: under steady load an isolate calls the object for a small fraction of requests', async () => {
    const org = crypto.randomUUID();
    // Warm-up: the first burst finds no lease and is counted directly while the first block is on its way.
    for (let round = 0; round < 5; round++) await burst(org, 10, [1]);
    const before = await ask<{ samples: Array<{ name: string; value: number }> }>(1, '/metrics', org);
    const limiterCalls = (m: typeof before) =>
      m.samples.filter((s) => s.name === 'agentidp_limiter_calls_total').reduce((sum, s) => sum + s.value, 0);
    let ok = 0;
    for (let round = 0; round < 40; round++) ok += admitted(await burst(org, 10, [1]));
    expect(ok).toBe(400);
    const calls = limiterCalls(await ask(1, '/metrics', org)) - limiterCalls(before);
    expect(calls / 400).toBeLessThanOrEqual(0.05);
  });
});
