// Analytics queries as the table grows: the three AnalyticsService queries (token trend over 90 days,
// 30-day activity heatmap, this month's per-agent usage) timed at 10 thousand and at 1 million rows of
// analytics_events spread over many tenants. Goal: the 1M time ≤ 2 × the 10k time (index-bound, not
// table-bound). `node bench/analytics.bench.ts`
//
// Runs the service's own SQL (AnalyticsService, in Node through `pg`) rather than the HTTP routes: at the
// route level, auth and the limiter dominate and would hide what the table size costs. Every tenant has
// the same shape (1,000 rows: 400 tenant-wide `token_issued` hours over 100 days, 600 per-agent rows for 5
// agents over 60 days) and rows are inserted day by day across all tenants, so a tenant's rows are spread
// over the whole heap as in production. Each size is timed on tenants inserted at that size.
//
// With DATABASE_URL it uses a scratch database on that server (`<name>_bench_analytics`, dropped at the
// end); without it, embedded PGlite, whose timings say little about Postgres.

import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startStack } from '../scripts/stack/index.ts';
import { migrate } from '../scripts/stack/migrate.ts';
import { AnalyticsService } from '../worker/features/analytics/analytics.service.ts';
import type { Queryable } from '../worker/platform/db.ts';
import { ratio, report } from './harness.ts';

const SMALL_TENANTS = 10; // 10 thousand rows
const LARGE_TENANTS = 1000; // 1 million rows
const WARMUP = 100;
const ITERATIONS = 400;
const SAMPLE_TENANTS = 10;

async function seed(client: pg.Client, from: number, to: number, today: string): Promise<void> {
  await client.query(
    `INSERT INTO organizations (organization_id, name, tier)
     SELECT md5('bench-org-' || t)::uuid, 'bench ' || t, 'enterprise' FROM generate_series($1::int, $2::int) t`,
    [from, to],
  );
  await client.query(
    `INSERT INTO agents (agent_id, organization_id, email, owner, agent_type)
     SELECT md5('bench-agent-' || t || '-' || k)::uuid, md5('bench-org-' || t)::uuid, 'a@example.com', 'owner-' || k, 'bench'
       FROM generate_series($1::int, $2::int) t, generate_series(1, 5) k`,
    [from, to],
  );
  // Day by day across tenants, newest day last, like rows accumulating in production.
  await client.query(
    `INSERT INTO analytics_events (organization_id, date, hour, metric_type, count)
     SELECT org, date, hour, metric, c FROM (
       SELECT md5('bench-org-' || t)::uuid AS org, $3::date - d AS date, h AS hour, 'token_issued' AS metric,
              (t + d + h) % 17 + 1 AS c, d, t
         FROM generate_series($1::int, $2::int) t, generate_series(0, 99) d, unnest(ARRAY[0, 6, 12, 18]) h
       UNION ALL
       SELECT md5('bench-org-' || t)::uuid, $3::date - d, h,
              'agent:' || md5('bench-agent-' || t || '-' || k)::uuid || ':token_issued', (t + d + h + k) % 13 + 1, d, t
         FROM generate_series($1::int, $2::int) t, generate_series(1, 5) k, generate_series(0, 59) d, unnest(ARRAY[3, 15]) h
     ) s ORDER BY d DESC, t`,
    [from, to, today],
  );
  // The steady state autovacuum reaches: statistics, hint bits and the visibility map set.
  await client.query('VACUUM ANALYZE analytics_events');
  await client.query('VACUUM ANALYZE agents');
}

interface Timing {
  median_ms: number;
  p95_ms: number;
}

const summarise = (ms: number[]): Timing => {
  const sorted = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { median_ms: r(sorted[Math.floor(sorted.length / 2)]!), p95_ms: r(sorted[Math.floor(sorted.length * 0.95)]!) };
};

/** Times the three queries in rounds (trend, heatmap, usage, trend, ...) so drift hits all three alike. */
async function timeQueries(client: pg.Client, tenants: string[], analytics: AnalyticsService) {
  const queries = {
    trend: (t: string) => analytics.getTokenTrend(t, 90),
    heatmap: (t: string) => analytics.getAgentActivity(t),
    usage: (t: string) => analytics.getAgentUsageSummary(t),
  };
  const ms = { trend: [] as number[], heatmap: [] as number[], usage: [] as number[] };
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const tenant = tenants[i % tenants.length]!;
    for (const k of ['trend', 'heatmap', 'usage'] as const) {
      const t0 = performance.now();
      await queries[k](tenant);
      if (i >= WARMUP) ms[k].push(performance.now() - t0);
    }
  }
  // Sanity: the data is there and the service reads it.
  const probe = await analytics.getAgentUsageSummary(tenants[0]!);
  if (probe.agents.length !== 5) throw new Error(`expected 5 agents with usage, got ${probe.agents.length}`);
  const count = await client.query<{ n: string }>('SELECT count(*) AS n FROM analytics_events');
  return {
    rows: Number(count.rows[0]!.n),
    trend: summarise(ms.trend),
    heatmap: summarise(ms.heatmap),
    usage: summarise(ms.usage),
  };
}

/** How each query reads analytics_events: the plan nodes that scan it or its indexes. */
async function plans(client: pg.Client, tenant: string, clock: { now(): Date }) {
  const seen: Array<{ text: string; params: unknown[] }> = [];
  const recorder: Queryable = {
    query: async (text, params = []) => {
      seen.push({ text, params });
      return (await client.query(text, params)).rows;
    },
  };
  const a = new AnalyticsService(recorder, clock, () => undefined);
  await a.getTokenTrend(tenant, 90);
  await a.getAgentActivity(tenant);
  await a.getAgentUsageSummary(tenant);
  const scans: string[] = [];
  for (const { text, params } of seen) {
    const res = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, params);
    const found: string[] = [];
    const walk = (node: Record<string, unknown>) => {
      const index = node['Index Name'] as string | undefined;
      if (node['Relation Name'] === 'analytics_events' || index?.startsWith('analytics_events')) {
        found.push(`${node['Node Type']}${index ? ` ${index}` : ''}`);
      }
      for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk((res.rows[0]!['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
    scans.push(found.join(', '));
  }
  return { trend: scans[0], heatmap: scans[1], usage: scans[2] };
}

async function tenantIds(client: pg.Client, from: number, to: number): Promise<string[]> {
  const picks = Array.from(
    { length: SAMPLE_TENANTS },
    (_, k) => from + Math.floor(((to - from + 1) * k) / SAMPLE_TENANTS),
  );
  const res = await client.query<{ id: string }>(`SELECT md5('bench-org-' || t)::uuid AS id FROM unnest($1::int[]) t`, [
    picks,
  ]);
  return res.rows.map((r) => r.id);
}

export async function run(): Promise<Record<string, unknown>[]> {
  const server = process.env.DATABASE_URL;
  let url: string;
  let cleanup: () => Promise<void>;
  if (server) {
    const base = new URL(server);
    const name = `${base.pathname.slice(1) || 'postgres'}_bench_analytics`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    base.pathname = `/${name}`;
    url = base.toString();
    await migrate(url);
    cleanup = async () => {
      const a = new pg.Client({ connectionString: server });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined);
      await a.end();
    };
  } else {
    console.warn('DATABASE_URL unset: embedded PGlite; its timings say little about Postgres');
    const stack = await startStack({});
    url = stack.databaseUrl;
    cleanup = stack.stop;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const today = new Date().toISOString().slice(0, 10);
    const clock = { now: () => new Date(`${today}T12:00:00Z`) };
    const q: Queryable = { query: async (text, params) => (await client.query(text, params)).rows };
    const analytics = new AnalyticsService(q, clock, () => undefined);

    await seed(client, 1, SMALL_TENANTS, today);
    const small = await timeQueries(client, await tenantIds(client, 1, SMALL_TENANTS), analytics);
    await seed(client, SMALL_TENANTS + 1, LARGE_TENANTS, today);
    const largeTenants = await tenantIds(client, SMALL_TENANTS + 1, LARGE_TENANTS);
    const large = await timeQueries(client, largeTenants, analytics);
    const plan = await plans(client, largeTenants[0]!, clock);

    const rows = (['trend', 'heatmap', 'usage'] as const).map((k) => ({
      query: { trend: 'token trend (90 days)', heatmap: 'activity heatmap (30 days)', usage: 'agent usage (month)' }[k],
      [`${small.rows} rows median ms`]: small[k].median_ms,
      [`${large.rows} rows median ms`]: large[k].median_ms,
      [`${small.rows} p95`]: small[k].p95_ms,
      [`${large.rows} p95`]: large[k].p95_ms,
      'ratio 1M ÷ 10k (goal ≤ 2)': ratio(large[k].median_ms, small[k].median_ms),
      'scan at 1M': plan[k],
    }));
    report('analytics', rows);
    return rows;
  } finally {
    await client.end();
    await cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
