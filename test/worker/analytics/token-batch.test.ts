import { describe, expect, it } from 'vitest';
import { AnalyticsService, TOKEN_BATCH } from '../../../worker/features/analytics/analytics.service.ts';
import { MovableClock, withDb } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import { createOrg } from '../../support/worker.ts';

const rowsOf = async (organizationId: string) =>
  Object.fromEntries(
    (
      await sql<{ metric_type: string; n: number }>(
        'SELECT metric_type, sum(count)::int AS n FROM analytics_events WHERE organization_id = $1 GROUP BY metric_type',
        [organizationId],
      )
    ).map((r) => [r.metric_type, r.n]),
  );

describe('analytics of issued tokens, in batches', () => {
  it('adds tokens up in the isolate and writes a full batch in one statement, the rest after USAGE_FLUSH_MS', async () => {
    const org = await createOrg();
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const clock = new MovableClock('2026-06-01T08:15:00.000Z');
    await withDb(async (db) => {
      const pending: Promise<unknown>[] = [];
      const analytics = new AnalyticsService(db, clock, (p) => pending.push(p), { flushMs: 60_000 });
      analytics.flushIssuedTokens({ force: true }); // whatever this isolate still held
      await Promise.all(pending.splice(0));
      const start = db.queries;

      for (let i = 0; i < TOKEN_BATCH - 1; i++) analytics.recordTokenIssued(org.organization_id, i < 60 ? a : b);
      expect(analytics.pendingIssuedTokens).toBe(TOKEN_BATCH - 1);
      analytics.flushIssuedTokens(); // not due yet: neither full nor old
      expect(db.queries).toBe(start);
      expect(await rowsOf(org.organization_id)).toEqual({});

      analytics.recordTokenIssued(org.organization_id, b); // the batch is full: written at once
      await Promise.all(pending.splice(0));
      expect(db.queries).toBe(start + 1);
      expect(await rowsOf(org.organization_id)).toEqual({
        token_issued: 100,
        [`agent:${a}:token_issued`]: 60,
        [`agent:${b}:token_issued`]: 40,
      });

      for (let i = 0; i < 3; i++) analytics.recordTokenIssued(org.organization_id, a);
      analytics.flushIssuedTokens();
      expect(db.queries).toBe(start + 1);
      clock.set('2026-06-01T08:16:00.000Z');
      analytics.flushIssuedTokens();
      await Promise.all(pending.splice(0));
      expect(analytics.pendingIssuedTokens).toBe(0);
      expect(await rowsOf(org.organization_id)).toEqual({
        token_issued: 103,
        [`agent:${a}:token_issued`]: 63,
        [`agent:${b}:token_issued`]: 40,
      });
      const hours = await sql<{ date: string; hour: number }>(
        `SELECT to_char(date, 'YYYY-MM-DD') AS date, hour FROM analytics_events WHERE organization_id = $1 GROUP BY 1, 2`,
        [org.organization_id],
      );
      expect(hours).toEqual([{ date: '2026-06-01', hour: 8 }]);
    });
  });

  it('keeps a batch whose write failed for the next flush', async () => {
    const org = await createOrg();
    const agent = crypto.randomUUID();
    const clock = new MovableClock('2026-06-02T09:00:00.000Z');
    const pending: Promise<unknown>[] = [];
    const broken = { query: () => Promise.reject(new Error('database down')) };
    const errors: string[] = [];
    const log = console.error;
    console.error = (line: unknown) => errors.push(String(line));
    try {
      const failing = new AnalyticsService(broken, clock, (p) => pending.push(p), { flushMs: 60_000 });
      failing.recordTokenIssued(org.organization_id, agent, 5);
      failing.flushIssuedTokens({ force: true });
      await Promise.all(pending.splice(0));
    } finally {
      console.error = log;
    }
    expect(errors.some((e) => e.includes('token analytics batch not written'))).toBe(true);
    await withDb(async (db) => {
      const analytics = new AnalyticsService(db, clock, (p) => pending.push(p), { flushMs: 60_000 });
      expect(analytics.pendingIssuedTokens).toBe(5);
      analytics.flushIssuedTokens({ force: true });
      await Promise.all(pending.splice(0));
    });
    expect(await rowsOf(org.organization_id)).toEqual({ token_issued: 5, [`agent:${agent}:token_issued`]: 5 });
  });
});
