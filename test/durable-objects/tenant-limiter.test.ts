import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ALARM_DELAY_MS, type TenantLimiter } from '../../durable-objects/tenant-limiter.do.ts';

const ns = (env as unknown as { TENANT_LIMITER: DurableObjectNamespace<TenantLimiter> }).TENANT_LIMITER;
const stubFor = () => ns.getByName(`limiter-test-${crypto.randomUUID()}`);

const DAY = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const midnightAfter = (ms: number) => Math.floor(ms / DAY) * DAY + DAY;

describe('TenantLimiter', () => {
  it('admits exactly min(N, L) of N concurrent increments and counts nothing refused', async () => {
    const stub = stubFor();
    const now = Date.now();
    const results = await Promise.all(Array.from({ length: 50 }, () => stub.increment('calls', 20, now, 1)));
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect(results.filter((r) => !r.allowed)).toHaveLength(30);
    // Every admitted increment saw a distinct count 1..20.
    expect(
      results
        .filter((r) => r.allowed)
        .map((r) => r.count)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const r of results.filter((x) => !x.allowed)) expect(r).toMatchObject({ count: 20, remaining: 0, limit: 20 });
    expect((await stub.usage(now)).calls).toBe(20);
  });

  it('counts an amount all or nothing, and keeps calls and tokens apart', async () => {
    const stub = stubFor();
    const now = Date.now();
    expect(await stub.increment('tokens', 10, now, 7)).toMatchObject({ allowed: true, count: 7, remaining: 3 });
    expect(await stub.increment('tokens', 10, now, 4)).toMatchObject({ allowed: false, count: 7, remaining: 3 });
    expect(await stub.increment('tokens', 10, now, 3)).toMatchObject({ allowed: true, count: 10, remaining: 0 });
    expect(await stub.usage(now)).toMatchObject({ calls: 0, tokens: 10 });
  });

  it('resets at UTC midnight: the new day starts from zero', async () => {
    const stub = stubFor();
    const midnight = midnightAfter(Date.now()) + 2 * DAY; // a future day, so no real alarm interferes
    const before = midnight - 1;
    expect(await stub.increment('calls', 3, before, 3)).toMatchObject({ allowed: true, remaining: 0 });
    const refused = await stub.increment('calls', 3, before, 1);
    expect(refused).toMatchObject({ allowed: false, reset_at: new Date(midnight).toISOString() });
    const next = await stub.increment('calls', 3, midnight, 1);
    expect(next).toMatchObject({
      allowed: true,
      count: 1,
      remaining: 2,
      reset_at: new Date(midnight + DAY).toISOString(),
    });
    expect((await stub.usage(before)).calls).toBe(3);
    expect((await stub.usage(midnight)).calls).toBe(1);
  });

  it('releases a reservation on its own day, never below zero', async () => {
    const stub = stubFor();
    const now = Date.now();
    await stub.increment('tokens', 5, now, 5);
    expect(await stub.release('tokens', now, 2)).toBe(3);
    expect(await stub.increment('tokens', 5, now, 2)).toMatchObject({ allowed: true, count: 5 });
    expect(await stub.release('tokens', now, 9)).toBe(0);
    // Another day's counter is untouched.
    expect(await stub.release('tokens', now + 86_400_000, 1)).toBe(0);
    expect(await stub.usage(now)).toMatchObject({ tokens: 0, calls: 0 });
  });

  it('takes as many units as fit under the limit, exactly under concurrency', async () => {
    const stub = stubFor();
    const now = Date.now();
    expect(await stub.take('deliveries', 10, now, 4)).toMatchObject({ granted: 4, count: 4, limit: 10 });
    const results = await Promise.all(Array.from({ length: 5 }, () => stub.take('deliveries', 10, now, 3)));
    expect(results.reduce((n, r) => n + r.granted, 0)).toBe(6);
    expect(await stub.take('deliveries', 10, now, 1)).toMatchObject({ granted: 0, count: 10 });
    expect(await stub.take('deliveries', null, now, 5)).toMatchObject({ granted: 5, count: 15 });
    expect(await stub.usage(now)).toMatchObject({ calls: 0, tokens: 0, deliveries: 15 });
  });

  it('counts without a limit for unlimited tiers', async () => {
    const stub = stubFor();
    const r = await stub.increment('calls', null, Date.now(), 1_000_000);
    expect(r).toMatchObject({ allowed: true, count: 1_000_000, limit: null, remaining: null });
  });

  it('rejects misuse with TypeError', async () => {
    // Called on the instance: an exception thrown across RPC would also break the caller's stub.
    await runInDurableObject(stubFor(), async (limiter) => {
      const now = Date.now();
      await expect(limiter.increment('calls', 10, now, 0)).rejects.toThrow(TypeError);
      await expect(limiter.increment('calls', 10, now, 1.5)).rejects.toThrow(/amount/);
      await expect(limiter.increment('calls', -1, now, 1)).rejects.toThrow(/limit/);
      await expect(limiter.increment('bogus' as 'calls', 10, now, 1)).rejects.toThrow(/kind/);
      await expect(limiter.increment('calls', 10, Number.NaN, 1)).rejects.toThrow(/nowMs/);
      expect((await limiter.usage(now)).calls).toBe(0);
    });
  });

  it('arms the cleanup alarm for just after the next UTC midnight on the first count', async () => {
    const stub = stubFor();
    const now = Date.now();
    await stub.increment('calls', 10, now, 1);
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBe(midnightAfter(now) + ALARM_DELAY_MS);
  });

  it('cleans old days in the alarm, keeps today and yesterday, re-arms, and is idempotent', async () => {
    const stub = stubFor();
    const now = Date.now();
    await stub.increment('calls', null, now, 5);
    await runInDurableObject(stub, (_i, state) => {
      for (const [daysAgo, n] of [
        [1, 11],
        [2, 22],
        [9, 99],
      ] as const) {
        state.storage.sql.exec(
          'INSERT INTO counters (day, kind, count) VALUES (?, ?, ?)',
          dayOf(now - daysAgo * DAY),
          'calls',
          n,
        );
        state.storage.sql.exec(
          'INSERT INTO counters (day, kind, count) VALUES (?, ?, ?)',
          dayOf(now - daysAgo * DAY),
          'tokens',
          n,
        );
      }
    });
    const rows = () =>
      runInDurableObject(stub, (_i, state) =>
        state.storage.sql
          .exec<{ day: string; kind: string; count: number }>(
            'SELECT day, kind, count FROM counters ORDER BY day, kind',
          )
          .toArray(),
      );
    const expected = [
      { day: dayOf(now - DAY), kind: 'calls', count: 11 },
      { day: dayOf(now - DAY), kind: 'tokens', count: 11 },
      { day: dayOf(now), kind: 'calls', count: 5 },
    ];

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rows()).toEqual(expected);
    const rearmed = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(rearmed).toBe(midnightAfter(now) + ALARM_DELAY_MS);

    // At-least-once delivery: running it again changes nothing and stays armed.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rows()).toEqual(expected);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(rearmed);
    expect(await stub.usage(now)).toMatchObject({ calls: 5, tokens: 0 });
  });

  it('does not re-arm once every row is gone', async () => {
    const stub = stubFor();
    await runInDurableObject(stub, async (_i, state) => {
      state.storage.sql.exec(
        'INSERT INTO counters (day, kind, count) VALUES (?, ?, ?)',
        dayOf(Date.now() - 5 * DAY),
        'calls',
        3,
      );
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const [left, alarm] = await runInDurableObject(stub, async (_i, state) => [
      state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM counters').one().n,
      await state.storage.getAlarm(),
    ]);
    expect(left).toBe(0);
    expect(alarm).toBeNull();
    // Counting again re-arms it.
    await stub.increment('calls', 10, Date.now(), 1);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
  });

  it('keeps days counted under a clock running ahead of the wall clock', async () => {
    const stub = stubFor();
    const ahead = Date.now() + 5 * DAY;
    await stub.increment('calls', null, ahead, 4);
    await stub.increment('calls', null, ahead - DAY, 3);
    await stub.increment('calls', null, Date.now(), 2);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.usage(ahead)).calls).toBe(4);
    expect((await stub.usage(ahead - DAY)).calls).toBe(3);
    expect((await stub.usage(Date.now())).calls).toBe(0);
  });
});
