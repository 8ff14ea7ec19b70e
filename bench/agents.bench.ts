// A tenant route end to end: GET /v1/agents with a tenant API key, enterprise tier, the daily call limiter
// on (every call counted in the TenantLimiter Durable Object). In one run: the trivial Worker (the floor),
// the seed-style Node baseline (API key row + agent list, 2 queries on a pg Pool, Redis INCR counter), this
// Worker through pgbouncer, and this Worker connecting to Postgres directly (one connection per request).
// `node bench/agents.bench.ts`; needs DATABASE_URL for the baseline and the pooler. Throughput and p50/p99.

import { type Baseline, baselineUnavailable, startBaseline } from './baseline/index.ts';
import {
  type BenchWorker,
  compare,
  ratio,
  report,
  seedTenant,
  startBenchWorker,
  startTrivialWorker,
  type Target,
} from './harness.ts';

export async function run(): Promise<Record<string, unknown>[]> {
  const noBaseline = baselineUnavailable();
  if (noBaseline) console.warn(`agents: ${noBaseline}; measuring the Worker only`);
  const stops: Array<() => Promise<void>> = [];
  try {
    const trivial = await startTrivialWorker();
    stops.push(trivial.stop);
    const pooled = await startBenchWorker();
    stops.push(pooled.stop);
    const workers: Array<{ name: string; label: string; w: BenchWorker }> = [
      {
        name: 'pooled',
        label: `Worker (Postgres via ${pooled.stack.pooler === 'pgbouncer' ? 'pgbouncer' : 'no pooler'})`,
        w: pooled,
      },
    ];
    if (pooled.stack.pooler === 'pgbouncer') {
      const direct = await startBenchWorker({ pooler: 'off' });
      stops.push(direct.stop);
      workers.push({ name: 'direct', label: 'Worker (Postgres direct, no pooler)', w: direct });
    }
    let baseline: Baseline | undefined;
    if (!noBaseline) {
      baseline = await startBaseline({
        databaseUrl: pooled.stack.databaseUrl,
        redisUrl: process.env.REDIS_URL || undefined,
        limiter: true,
      });
      stops.push(baseline.stop);
    }
    const targets: Target[] = [{ name: 'trivial', url: trivial.url }];
    for (const { name, w } of workers) {
      const tenant = await seedTenant(w, `bench-agents-${name}`, 'enterprise', 5);
      targets.push({ name, url: `${w.url}/v1/agents`, headers: { authorization: `Bearer ${tenant.key}` } });
    }
    if (baseline) {
      const tenant = await seedTenant(pooled, 'bench-agents-baseline', 'enterprise', 5);
      targets.push({
        name: 'baseline',
        url: `${baseline.url}/v1/agents`,
        headers: { authorization: `Bearer ${tenant.key}` },
      });
    }
    for (const t of targets.slice(1)) {
      const res = await fetch(t.url, { headers: t.headers });
      const body = (await res.json()) as { data?: unknown[] };
      if (res.status !== 200 || body.data?.length !== 5)
        throw new Error(`${t.name} GET /v1/agents: ${res.status} ${JSON.stringify(body)}`);
    }
    const m = await compare(targets);
    const t = m.get('trivial')!;
    const b = m.get('baseline');
    const rows: Record<string, unknown>[] = [{ target: 'trivial Worker', route: 'GET /', ...t, vs_trivial: 1 }];
    for (const { name, label } of workers) {
      const x = m.get(name)!;
      rows.push({
        target: label,
        route: 'GET /v1/agents (enterprise, limiter on)',
        ...x,
        vs_trivial: ratio(x.rps, t.rps),
        ...(b ? { vs_baseline: ratio(x.rps, b.rps) } : {}),
      });
    }
    if (b)
      rows.push({
        target: 'Node baseline (pg Pool, Redis INCR counter)',
        route: 'GET /v1/agents',
        ...b,
        vs_trivial: ratio(b.rps, t.rps),
      });
    else rows.push({ target: 'Node baseline', route: 'GET /v1/agents', note: noBaseline });
    report('agents', rows);
    return rows;
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
