import { describe, expect, it, vi } from 'vitest';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { TIER_CONFIG } from '../../../worker/features/tiers/tiers.ts';
import { bindings, clockedApp, MovableClock, testNow } from '../../support/clocked-app.ts';
import { call, createOrg, expectProblem, json } from '../../support/worker.ts';

const ns = bindings.TENANT_LIMITER as DurableObjectNamespace<TenantLimiter>;
const FREE_CALLS = TIER_CONFIG.free.max_calls_per_day!;

/** Spends `n` of today's calls directly in the tenant's Durable Object, as earlier requests would have. */
const preSpend = (orgId: string, n: number, nowMs: number) =>
  ns.getByName(orgId).increment('calls', FREE_CALLS, nowMs, n);

/** The Worker with its clock stopped at one reading of the suite's clock: "today" cannot change mid-test. */
function stoppedClockApp(envOverrides: Record<string, unknown> = {}) {
  const clock = new MovableClock(testNow().toISOString());
  return { clock, app: clockedApp(clock, envOverrides) };
}

describe('per-tenant daily call limit', () => {
  it('admits exactly the remaining calls of 50 parallel requests and refuses the rest with 429', async () => {
    const org = await createOrg();
    const { clock, app } = stoppedClockApp();
    await preSpend(org.organization_id, FREE_CALLS - 20, clock.now().getTime());
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => app('GET', '/v1/agents', { token: org.api_key })),
    );
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(20);
    expect(limited).toHaveLength(30);

    // Every admitted response carries the headers; remaining values are exactly 19..0.
    const remaining = ok.map((r) => Number(r.headers.get('RateLimit-Remaining'))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const r of ok) expect(r.headers.get('RateLimit-Limit')).toBe(String(FREE_CALLS));

    for (const r of limited) {
      const body = await expectProblem(r, 429, 'rate_limited');
      expect(body.limit).toBe(FREE_CALLS);
      expect(r.headers.get('RateLimit-Remaining')).toBe('0');
      expect(r.headers.get('RateLimit-Limit')).toBe(String(FREE_CALLS));
      const retryAfter = Number(r.headers.get('Retry-After'));
      expect(retryAfter).toBe(Number(r.headers.get('RateLimit-Reset')));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
      expect(Date.parse(body.reset_at) % 86_400_000).toBe(0);
    }
    expect((await ns.getByName(org.organization_id).usage(clock.now().getTime())).calls).toBe(FREE_CALLS);
  });

  it('puts the headers on counted error responses, not on unauthenticated ones', async () => {
    const org = await createOrg();
    const { app } = stoppedClockApp();
    const missing = await app('GET', `/v1/agents/${crypto.randomUUID()}`, { token: org.api_key });
    await expectProblem(missing, 404, 'not_found');
    expect(missing.headers.get('RateLimit-Limit')).toBe(String(FREE_CALLS));
    expect(missing.headers.get('RateLimit-Remaining')).toBe(String(FREE_CALLS - 1));

    const anonymous = await call('GET', '/v1/agents');
    await expectProblem(anonymous, 401, 'unauthorized');
    expect(anonymous.headers.get('RateLimit-Limit')).toBeNull();
  });

  it('answers Retry-After to the second and resets at UTC midnight (moved clock)', async () => {
    const org = await createOrg();
    // A day in the future, so the limiter's real cleanup alarm cannot fire during the test.
    const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const clock = new MovableClock(`${day}T23:59:00.000Z`);
    const app = clockedApp(clock);
    await preSpend(org.organization_id, FREE_CALLS - 1, clock.now().getTime());

    const last = await app('GET', '/v1/agents', { token: org.api_key });
    expect(last.status).toBe(200);
    expect(last.headers.get('RateLimit-Remaining')).toBe('0');
    expect(last.headers.get('RateLimit-Reset')).toBe('60');

    clock.set(`${day}T23:59:30.250Z`);
    const refused = await app('GET', '/v1/agents', { token: org.api_key });
    const body = await expectProblem(refused, 429, 'rate_limited');
    expect(refused.headers.get('Retry-After')).toBe('30');
    expect(refused.headers.get('RateLimit-Reset')).toBe('30');
    const midnight = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
    expect(body.reset_at).toBe(midnight);

    clock.set(midnight);
    const fresh = await app('GET', '/v1/agents', { token: org.api_key });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('RateLimit-Remaining')).toBe(String(FREE_CALLS - 1));
    expect(fresh.headers.get('RateLimit-Reset')).toBe('86400');
  });

  it('counts unlimited tiers without RateLimit headers', async () => {
    const org = await createOrg('enterprise');
    // The in-process app waits for the request's after-response work (the usage batch is written there).
    const { clock, app } = stoppedClockApp();
    const res = await app('GET', '/v1/agents', { token: org.api_key });
    expect(res.status).toBe(200);
    expect(res.headers.get('RateLimit-Limit')).toBeNull();
    expect((await ns.getByName(org.organization_id).usage(clock.now().getTime())).calls).toBe(1);
  });

  it('fails open when the limiter is unreachable, and logs it', async () => {
    const org = await createOrg();
    const broken = {
      getByName: () => {
        throw new Error('durable object unavailable');
      },
    };
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const res = await stoppedClockApp({ TENANT_LIMITER: broken }).app('GET', '/v1/agents', { token: org.api_key });
      expect(res.status).toBe(200);
      expect(res.headers.get('RateLimit-Limit')).toBeNull();
      expect(errors.mock.calls.some(([line]) => String(line).includes('rate limiter unavailable'))).toBe(true);
    } finally {
      errors.mockRestore();
    }
  });

  it('RATE_LIMIT_BYPASS (benchmarks only) skips counting', async () => {
    const org = await createOrg();
    const { clock, app } = stoppedClockApp({ RATE_LIMIT_BYPASS: 'true' });
    const res = await app('GET', '/v1/agents', { token: org.api_key });
    expect(res.status).toBe(200);
    expect(res.headers.get('RateLimit-Limit')).toBeNull();
    expect((await ns.getByName(org.organization_id).usage(clock.now().getTime())).calls).toBe(0);
    expect((await json(res)).data).toEqual([]);
  });
});
