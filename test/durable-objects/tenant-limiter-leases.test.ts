import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { decideGrant, LEASE_GRACE_MS, LEASE_TTL_MS, type LeaseRequest } from '../../durable-objects/lease-policy.ts';
import type { TenantLimiter } from '../../durable-objects/tenant-limiter.do.ts';

const ns = (env as unknown as { TENANT_LIMITER: DurableObjectNamespace<TenantLimiter> }).TENANT_LIMITER;
const stubFor = () => ns.getByName(`lease-test-${crypto.randomUUID()}`);
const DAY = 86_400_000;
// A fixed instant in the future, so the object's real cleanup alarm cannot interfere.
const NOW = Math.floor((Date.now() + 3 * DAY) / DAY) * DAY + 10 * 3_600_000;
const TODAY = new Date(NOW).toISOString().slice(0, 10);

const req = (holder: string, over: Partial<LeaseRequest> = {}): LeaseRequest => ({
  holder,
  kind: 'calls',
  limit: 100,
  nowMs: NOW,
  need: 0,
  want: 0,
  ...over,
});

describe('decideGrant', () => {
  it('counts the waiting calls first, then grants at most an equal share of half of what is left', () => {
    expect(decideGrant({ limit: 100, count: 0, mine: 0, others: 0, holders: 0, need: 1, want: 32 })).toEqual({
      admitted: 1,
      granted: 32,
      unleased: 67,
    });
    // Three other holders: the share is 1/8 of what is left after the waiting calls.
    expect(decideGrant({ limit: 100, count: 20, mine: 0, others: 40, holders: 3, need: 0, want: 32 })).toEqual({
      admitted: 0,
      granted: 5,
      unleased: 35,
    });
    // Near the limit blocks vanish and calls are counted one by one, as many as remain.
    expect(decideGrant({ limit: 100, count: 97, mine: 0, others: 1, holders: 1, need: 5, want: 32 })).toEqual({
      admitted: 2,
      granted: 0,
      unleased: 0,
    });
    // A lower limit than what is counted and held (a downgrade) grants nothing.
    expect(decideGrant({ limit: 10, count: 8, mine: 5, others: 0, holders: 0, need: 1, want: 32 })).toEqual({
      admitted: 0,
      granted: 0,
      unleased: 0,
    });
  });
});

describe('TenantLimiter leases', () => {
  it('grants a block after counting the waiting call, and never lets counted plus leased exceed the limit', async () => {
    const stub = stubFor();
    const a = await stub.lease(req('a', { need: 1, want: 32 }));
    expect(a).toMatchObject({
      day: TODAY,
      admitted: 1,
      granted: 32,
      held: 32,
      count: 1,
      unleased: 67,
      leasedElsewhere: 0,
      known: true,
    });
    expect(a.expiresAt).toBe(NOW + LEASE_TTL_MS);
    const b = await stub.lease(req('b', { need: 1, want: 1_000 }));
    // 66 left after b's call; two holders: at most 66 / 4.
    expect(b).toMatchObject({ admitted: 1, granted: 16, leasedElsewhere: 32, count: 2, unleased: 50 });
    const u = await stub.usage(NOW);
    expect(u).toMatchObject({ calls: 2, calls_leased: 48 });
    expect(u.calls + u.calls_leased).toBeLessThanOrEqual(100);
  });

  it('holds the invariant under 100 concurrent calls from five holders', async () => {
    const stub = stubFor();
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => stub.lease(req(`h${i % 5}`, { need: 1, want: 8, limit: 60 }))),
    );
    const admitted = replies.reduce((s, r) => s + r.admitted, 0);
    const granted = replies.reduce((s, r) => s + r.granted, 0);
    const u = await stub.usage(NOW);
    expect(u.calls).toBe(admitted);
    expect(u.calls_leased).toBe(granted);
    expect(admitted + granted).toBeLessThanOrEqual(60);
    // Nothing was refused while quota remained un-leased.
    for (const r of replies.filter((x) => x.admitted === 0)) expect(r.unleased).toBe(0);
  });

  it('counts what a holder reports and takes the rest back on release', async () => {
    const stub = stubFor();
    await stub.lease(req('a', { want: 40 }));
    const renewed = await stub.lease(req('a', { report: { day: TODAY, spent: 10, release: false }, want: 0 }));
    expect(renewed).toMatchObject({ count: 10, held: 30, granted: 0, known: true });
    const returned = await stub.lease(req('a', { report: { day: TODAY, spent: 5, release: true } }));
    expect(returned).toMatchObject({ count: 15, held: 0, expiresAt: 0, unleased: 85, known: true });
    expect(await stub.usage(NOW)).toMatchObject({ calls: 15, calls_leased: 0 });
  });

  it('applies a refund reported as a negative spend', async () => {
    const stub = stubFor();
    await stub.lease(req('a', { want: 10 }));
    await stub.lease(req('a', { report: { day: TODAY, spent: 3, release: false } }));
    const back = await stub.lease(req('a', { report: { day: TODAY, spent: -1, release: false } }));
    expect(back).toMatchObject({ count: 2, held: 8 });
  });

  it('counts a lease that expired unreturned as spent in full, and ignores its late report', async () => {
    const stub = stubFor();
    await stub.lease(req('gone', { want: 30 }));
    // Before expiry plus grace the lease is still held.
    const early = await stub.lease(req('other', { nowMs: NOW + LEASE_TTL_MS + LEASE_GRACE_MS - 1 }));
    expect(early).toMatchObject({ count: 0, leasedElsewhere: 30 });
    const later = NOW + LEASE_TTL_MS + LEASE_GRACE_MS;
    const reclaimed = await stub.lease(req('other', { nowMs: later, need: 1 }));
    expect(reclaimed).toMatchObject({ count: 31, leasedElsewhere: 0, admitted: 1 });
    // The holder comes back late: its lease is unknown, its report changes nothing.
    const late = await stub.lease(req('gone', { nowMs: later, report: { day: TODAY, spent: 4, release: true } }));
    expect(late).toMatchObject({ known: false, count: 31 });
  });

  it('refuses with retryAt (the earliest other expiry plus grace) while others hold the rest', async () => {
    const stub = stubFor();
    await stub.lease(req('a', { limit: 10, want: 5 }));
    await stub.lease(req('b', { limit: 10, nowMs: NOW + 1_000, want: 5 }));
    const r = await stub.lease(req('c', { limit: 10, need: 10 }));
    expect(r.admitted).toBeLessThan(10);
    expect(r.retryAt).toBe(NOW + LEASE_TTL_MS + LEASE_GRACE_MS);
    // Once everything is counted, a refusal says so: no retryAt.
    await stub.lease(req('a', { limit: 10, report: { day: TODAY, spent: 0, release: true } }));
    await stub.lease(req('b', { limit: 10, report: { day: TODAY, spent: 0, release: true } }));
    await stub.lease(req('c', { limit: 10, need: 10 }));
    expect(await stub.lease(req('c', { limit: 10, need: 1 }))).toMatchObject({
      admitted: 0,
      retryAt: null,
      unleased: 0,
    });
  });

  it('reports a lease of another day on that day, and leases today afresh', async () => {
    const stub = stubFor();
    await stub.lease(req('a', { nowMs: NOW - DAY, want: 20 }));
    const yesterday = new Date(NOW - DAY).toISOString().slice(0, 10);
    const today = await stub.lease(req('a', { report: { day: yesterday, spent: 7, release: true }, need: 1, want: 5 }));
    expect(today).toMatchObject({ day: TODAY, count: 1, held: 5 });
    expect(await stub.usage(NOW - DAY)).toMatchObject({ calls: 7, calls_leased: 0 });
  });

  it('direct increments leave leased quota alone', async () => {
    const stub = stubFor();
    expect(await stub.lease(req('a', { limit: 10, want: 8 }))).toMatchObject({ granted: 5 });
    expect(await stub.increment('calls', 10, NOW, 3)).toMatchObject({ allowed: true, count: 3, remaining: 2 });
    expect(await stub.increment('calls', 10, NOW, 3)).toMatchObject({ allowed: false, count: 3, remaining: 2 });
  });

  it('rejects malformed requests with TypeError', async () => {
    await runInDurableObject(stubFor(), async (limiter: TenantLimiter) => {
      await expect(limiter.lease(req('', { need: 1 }))).rejects.toThrow(/holder/);
      await expect(limiter.lease(req('a', { kind: 'bogus' as 'calls' }))).rejects.toThrow(/kind/);
      await expect(limiter.lease(req('a', { need: -1 }))).rejects.toThrow(TypeError);
      await expect(limiter.lease(req('a', { report: { day: 'today', spent: 1, release: false } }))).rejects.toThrow(
        /day/,
      );
      await expect(limiter.lease(req('a', { report: { day: TODAY, spent: 0.5, release: false } }))).rejects.toThrow(
        /spent/,
      );
    });
  });

  it('the cleanup alarm removes leases of old days with their counters', async () => {
    const stub = stubFor();
    await stub.lease(req('old', { nowMs: NOW - 5 * DAY, want: 3 }));
    await stub.lease(req('new', { want: 3 }));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const days = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql
        .exec<{ day: string }>('SELECT DISTINCT day FROM leases ORDER BY day')
        .toArray()
        .map((r) => r.day),
    );
    expect(days).toEqual([TODAY]);
  });
});
