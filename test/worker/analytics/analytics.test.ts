import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnalyticsService, MAX_TREND_DAYS } from '../../../worker/features/analytics/analytics.service.ts';
import { Db } from '../../../worker/platform/db.ts';
import { bindings, clockedApp, MovableClock, testNow, withDb } from '../../support/clocked-app.ts';
import { agentInput, call, createAgent, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

// A fixed "now" for the queries: Wednesday 2026-03-18, 12:00 UTC.
const NOW = '2026-03-18T12:00:00.000Z';
const TODAY = '2026-03-18';
const clock = new MovableClock(NOW);
const app = clockedApp(clock);

const DAY = 86_400_000;
const daysBefore = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) - n * DAY).toISOString().slice(0, 10);

type Row = [date: string, hour: number, metric: string, count: number];
async function seed(orgId: string, rows: Row[]) {
  await withDb((db) =>
    db.query(
      `INSERT INTO analytics_events (organization_id, date, hour, metric_type, count)
       SELECT $1, d::date, h, m, c FROM unnest($2::text[], $3::int[], $4::text[], $5::int[]) AS t(d, h, m, c)`,
      [orgId, rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    ),
  );
}

const metricRows = (orgId: string, like: string) =>
  withDb((db) =>
    db.query<{ metric_type: string; count: string }>(
      'SELECT metric_type, count FROM analytics_events WHERE organization_id = $1 AND metric_type LIKE $2 ORDER BY metric_type',
      [orgId, like],
    ),
  );

afterEach(() => {
  clock.set(NOW);
  vi.restoreAllMocks();
});

describe('GET /v1/analytics/tokens', () => {
  it('zero-fills every day, ascending, ending today, counting only token_issued of this tenant', async () => {
    const org = await createOrg();
    const other = await createOrg();
    await seed(org.organization_id, [
      [TODAY, 1, 'token_issued', 3],
      [TODAY, 23, 'token_issued', 4],
      [daysBefore(TODAY, 2), 0, 'token_issued', 5],
      [daysBefore(TODAY, 7), 0, 'token_issued', 100], // just outside 7 days
      [TODAY, 2, `agent:${crypto.randomUUID()}:token_issued`, 50], // per-agent rows are not the tenant series
      [TODAY, 2, 'agent_created', 9],
    ]);
    await seed(other.organization_id, [[TODAY, 1, 'token_issued', 1000]]);

    const res = await app('GET', '/v1/analytics/tokens?days=7', { token: org.api_key });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      days: 7,
      series: [6, 5, 4, 3, 2, 1, 0].map((n) => ({ date: daysBefore(TODAY, n), count: n === 2 ? 5 : n === 0 ? 7 : 0 })),
    });
  });

  it('clamps days to 1..90 and defaults to 30', async () => {
    const org = await createOrg();
    const series = async (q: string) =>
      (await json(await app('GET', `/v1/analytics/tokens${q}`, { token: org.api_key }))) as any;
    const max = await series('?days=365');
    expect(max.days).toBe(MAX_TREND_DAYS);
    expect(max.series).toHaveLength(90);
    expect(max.series[0].date).toBe(daysBefore(TODAY, 89));
    expect(max.series[89].date).toBe(TODAY);
    expect(max.series.every((p: { count: number }) => p.count === 0)).toBe(true);
    expect((await series('?days=91')).series).toHaveLength(90);
    expect(await series('?days=0')).toEqual({ days: 1, series: [{ date: TODAY, count: 0 }] });
    expect((await series('?days=1')).series).toEqual([{ date: TODAY, count: 0 }]);
    expect((await series('')).series).toHaveLength(30);
  });

  it('crosses month and year boundaries', async () => {
    const org = await createOrg();
    clock.set('2026-01-01T05:00:00Z');
    await seed(org.organization_id, [['2025-12-31', 22, 'token_issued', 2]]);
    const body = await json(await app('GET', '/v1/analytics/tokens?days=3', { token: org.api_key }));
    expect(body.series).toEqual([
      { date: '2025-12-30', count: 0 },
      { date: '2025-12-31', count: 2 },
      { date: '2026-01-01', count: 0 },
    ]);
  });

  it.each(['abc', '-1', '1.5', '1e3', '', '366', '99999999999999999999', '0x10'])(
    'rejects days=%s with 400',
    async (days) => {
      const org = await createOrg();
      const body = await expectProblem(
        await app('GET', `/v1/analytics/tokens?days=${encodeURIComponent(days)}`, { token: org.api_key }),
        400,
        'validation_failed',
      );
      expect(body.errors.map((e: { path: string }) => e.path)).toEqual(['days']);
    },
  );
});

describe('GET /v1/analytics/agent-activity', () => {
  it('buckets agent rows of the last 30 days by day of week and hour, all 168 cells', async () => {
    const org = await createOrg();
    const other = await createOrg();
    const a = crypto.randomUUID();
    const b = crypto.randomUUID();
    await seed(org.organization_id, [
      [TODAY, 5, `agent:${a}:token_issued`, 3], // Wednesday (3), 05h
      [TODAY, 5, `agent:${a}:created`, 1], // same cell
      [daysBefore(TODAY, 7), 5, `agent:${b}:updated`, 2], // a Wednesday a week earlier, same cell
      [daysBefore(TODAY, 3), 23, `agent:${b}:credential_issued`, 4], // Sunday (0), 23h
      [daysBefore(TODAY, 29), 0, `agent:${a}:updated`, 6], // oldest day in range: Tuesday 2026-02-17 (2)
      [daysBefore(TODAY, 30), 0, `agent:${a}:updated`, 100], // out of range
      [TODAY, 6, 'token_issued', 1000], // not an agent row
    ]);
    await seed(other.organization_id, [[TODAY, 7, `agent:${a}:token_issued`, 500]]);

    const res = await app('GET', '/v1/analytics/agent-activity', { token: org.api_key });
    expect(res.status).toBe(200);
    const { cells } = await json(res);
    expect(cells).toHaveLength(168);
    expect(cells.map((c: any) => [c.day_of_week, c.hour])).toEqual(
      Array.from({ length: 168 }, (_, i) => [Math.floor(i / 24), i % 24]),
    );
    const nonZero = cells.filter((c: any) => c.count > 0);
    expect(nonZero).toEqual([
      { day_of_week: 0, hour: 23, count: 4 },
      { day_of_week: 2, hour: 0, count: 6 },
      { day_of_week: 3, hour: 5, count: 6 },
    ]);
  });
});

describe('GET /v1/analytics/agent-usage', () => {
  it('sums this month per agent, descending, with the owner as name, without decommissioned agents', async () => {
    const org = await createOrg();
    const other = await createOrg();
    const alpha = await createAgent(org, { ...agentInput(1), owner: 'alpha' });
    const beta = await createAgent(org, { ...agentInput(2), owner: 'beta' });
    const gone = await createAgent(org, { ...agentInput(3), owner: 'gone' });
    const idle = await createAgent(org, { ...agentInput(4), owner: 'idle' });
    const foreign = await createAgent(other, { ...agentInput(5), owner: 'foreign' });
    await call('DELETE', `/v1/agents/${gone.agent_id}`, { token: org.api_key });
    await seed(org.organization_id, [
      ['2026-03-01', 0, `agent:${alpha.agent_id}:token_issued`, 20],
      [TODAY, 9, `agent:${alpha.agent_id}:token_issued`, 30],
      [TODAY, 9, `agent:${alpha.agent_id}:credential_issued`, 99], // not tokens
      [TODAY, 10, `agent:${beta.agent_id}:token_issued`, 70],
      [TODAY, 10, `agent:${gone.agent_id}:token_issued`, 1000], // decommissioned
      ['2026-02-28', 23, `agent:${idle.agent_id}:token_issued`, 500], // last month
      [TODAY, 10, `agent:${foreign.agent_id}:token_issued`, 800], // another tenant's agent id in this tenant's rows
      [TODAY, 10, 'token_issued', 100],
    ]);
    await seed(other.organization_id, [[TODAY, 10, `agent:${foreign.agent_id}:token_issued`, 5]]);

    const res = await app('GET', '/v1/analytics/agent-usage', { token: org.api_key });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      month: '2026-03',
      agents: [
        { agent_id: beta.agent_id, name: 'beta', token_count: 70 },
        { agent_id: alpha.agent_id, name: 'alpha', token_count: 50 },
      ],
    });
    const theirs = await json(await app('GET', '/v1/analytics/agent-usage', { token: other.api_key }));
    expect(theirs.agents).toEqual([{ agent_id: foreign.agent_id, name: 'foreign', token_count: 5 }]);
  });
});

describe('tenant isolation', () => {
  it('shows another tenant none of this tenant’s analytics', async () => {
    const org = await createOrg();
    const stranger = await createOrg();
    const agent = await createAgent(org);
    await seed(org.organization_id, [
      [TODAY, 8, 'token_issued', 11],
      [TODAY, 8, `agent:${agent.agent_id}:token_issued`, 11],
    ]);
    const mine = async (path: string, o: Org) => json(await app('GET', path, { token: o.api_key }));
    expect((await mine('/v1/analytics/tokens?days=1', org)).series).toEqual([{ date: TODAY, count: 11 }]);
    expect((await mine('/v1/analytics/tokens?days=1', stranger)).series).toEqual([{ date: TODAY, count: 0 }]);
    expect((await mine('/v1/analytics/agent-activity', stranger)).cells.every((c: any) => c.count === 0)).toBe(true);
    expect((await mine('/v1/analytics/agent-activity', org)).cells.some((c: any) => c.count === 11)).toBe(true);
    expect((await mine('/v1/analytics/agent-usage', stranger)).agents).toEqual([]);
    expect((await mine('/v1/analytics/agent-usage', org)).agents).toHaveLength(1);
  });

  it('requires a tenant key on every route', async () => {
    for (const path of ['/v1/analytics/tokens', '/v1/analytics/agent-activity', '/v1/analytics/agent-usage']) {
      await expectProblem(await call('GET', path), 401, 'unauthorized');
    }
  });
});

describe('recording', () => {
  it('records agent created, updated and credential issued as agent rows of this hour', async () => {
    const org = await createOrg();
    clock.set(testNow().toISOString());
    const created = await app('POST', '/v1/agents', { token: org.api_key, body: agentInput(7) });
    expect(created.status).toBe(201);
    const agent = await json(created);
    expect(
      (await app('PATCH', `/v1/agents/${agent.agent_id}`, { token: org.api_key, body: { version: '2' } })).status,
    ).toBe(200);
    expect(
      (await app('POST', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key, body: {} })).status,
    ).toBe(201);
    // clockedApp waits for waitUntil work, so the writes have settled.
    expect(await metricRows(org.organization_id, 'agent:%')).toEqual([
      { metric_type: `agent:${agent.agent_id}:created`, count: '1' },
      { metric_type: `agent:${agent.agent_id}:credential_issued`, count: '1' },
      { metric_type: `agent:${agent.agent_id}:updated`, count: '1' },
    ]);
    const { cells } = await json(await app('GET', '/v1/analytics/agent-activity', { token: org.api_key }));
    const now = clock.now();
    expect(cells.find((c: any) => c.day_of_week === now.getUTCDay() && c.hour === now.getUTCHours()).count).toBe(3);
  });

  it('recordTokenIssued adds to the tenant series and the agent row in one upsert', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const pending: Promise<unknown>[] = [];
    await withDb(async (db) => {
      const analytics = new AnalyticsService(db, clock, (p) => pending.push(p));
      analytics.recordTokenIssued(org.organization_id, agent.agent_id);
      analytics.recordTokenIssued(org.organization_id, agent.agent_id, 4);
      await Promise.all(pending);
    });
    expect(await metricRows(org.organization_id, '%token_issued')).toEqual([
      { metric_type: `agent:${agent.agent_id}:token_issued`, count: '5' },
      { metric_type: 'token_issued', count: '5' },
    ]);
    const trend = await json(await app('GET', '/v1/analytics/tokens?days=1', { token: org.api_key }));
    expect(trend.series).toEqual([{ date: TODAY, count: 5 }]);
  });

  it('returns at once and swallows the error when the database is unreachable', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const pending: Promise<unknown>[] = [];
    // A database nobody listens on (the WebSocket proxy refuses the address).
    const dead = new Db('postgres://nobody@127.0.0.1:1/none', bindings.NEON_WS_PROXY as string);
    const analytics = new AnalyticsService(dead, clock, (p) => pending.push(p));
    expect(analytics.recordEvent(crypto.randomUUID(), 'token_issued')).toBeUndefined();
    expect(pending).toHaveLength(1);
    await expect(Promise.all(pending)).resolves.toBeDefined();
    await dead.close();
    expect(errors.mock.calls.some(([line]) => String(line).includes('analytics write failed'))).toBe(true);
  });

  it('does not fail the request when the analytics write fails in the database', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const suffix = org.organization_id.replace(/-/g, '');
    // Make every analytics insert of this one tenant fail, inside the real database.
    await withDb(async (db) => {
      await db.query(
        `CREATE FUNCTION test_fail_analytics_${suffix}() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION 'analytics is down'; END $$`,
      );
      await db.query(
        `CREATE TRIGGER test_fail_analytics_${suffix} BEFORE INSERT ON analytics_events FOR EACH ROW
         WHEN (NEW.organization_id = '${org.organization_id}') EXECUTE FUNCTION test_fail_analytics_${suffix}()`,
      );
    });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const res = await app('POST', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key, body: {} });
      expect(res.status).toBe(201);
      expect((await json(res)).client_secret).toMatch(/^aidp_cs_/);
      const patched = await app('PATCH', `/v1/agents/${agent.agent_id}`, {
        token: org.api_key,
        body: { version: '3' },
      });
      expect(patched.status).toBe(200);
      const logged = errors.mock.calls
        .map(([line]) => String(line))
        .filter((l) => l.includes('analytics write failed'));
      expect(logged).toHaveLength(2);
      expect(logged[0]).toContain('analytics is down');
      expect(logged[0]).not.toContain(agent.agent_id);
    } finally {
      errors.mockRestore();
      await withDb(async (db) => {
        await db.query(`DROP TRIGGER IF EXISTS test_fail_analytics_${suffix} ON analytics_events`);
        await db.query(`DROP FUNCTION IF EXISTS test_fail_analytics_${suffix}()`);
      });
    }
    // Only the creation, recorded before the failure began.
    expect((await metricRows(org.organization_id, 'agent:%')).map((r) => r.metric_type)).toEqual([
      `agent:${agent.agent_id}:created`,
    ]);
  });
});
