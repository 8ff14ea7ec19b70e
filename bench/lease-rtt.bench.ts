// What a far-away TenantLimiter costs with quota leases: the same tenant routes on two copies of the deploy
// bundle, one with LIMITER_SIMULATED_RTT_MS=100 (every call to the limiter object waits 100 ms first, like an
// object on another continent) and one without. Leases are spent in the isolate, so only renewals pay the
// delay, and they run in the background: goal, p50 with the delay within 10 ms of p50 without it.
// Routes: the tenant gate alone (POST /v1/federation/verify with a malformed token: API key from the isolate
// cache, one call counted, 401 without touching Postgres) and GET /v1/agents (one query). In the same run,
// GET /v1/tier (which reads the object on every request) shows what each request would pay if it called the
// object. Limiter calls ÷ tenant requests come from each copy's GET /v1/admin/metrics (goal ≤ 0.05).
// `node bench/lease-rtt.bench.ts` (DATABASE_URL for a Postgres server, else PGlite). Runs alternate between
// the copies to cancel drift; load generator and workerd share this machine's cores.
import { type BenchWorker, type Measurement, measure, postJson, ratio, report, startBenchWorker } from './harness.ts';

const RTT_MS = 100;
const ROUNDS = 2;
const SECONDS = 5;

interface Route {
  name: string;
  path: string;
  method: 'GET' | 'POST';
  body?: string;
}

const ROUTES: Route[] = [
  {
    name: 'tenant gate only (POST /v1/federation/verify, malformed → 401)',
    path: '/v1/federation/verify',
    method: 'POST',
    body: '{"token":"x"}',
  },
  { name: 'GET /v1/agents', path: '/v1/agents', method: 'GET' },
];

interface Copy {
  name: string;
  w: BenchWorker;
  key: string;
  runs: Map<string, Measurement[]>;
}

async function counters(w: BenchWorker): Promise<{ limiter: number; tenant: number }> {
  const res = await fetch(`${w.url}/v1/admin/metrics`, { headers: { authorization: `Bearer ${w.adminToken}` } });
  if (!res.ok) throw new Error(`metrics: ${res.status}`);
  const { samples } = (await res.json()) as {
    samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
  };
  const sum = (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((t, s) => t + s.value, 0);
  return {
    limiter: sum('agentidp_limiter_calls_total'),
    tenant: sum('agentidp_requests_total', { route_class: 'tenant' }),
  };
}

async function tenant(w: BenchWorker): Promise<string> {
  // Pro: a limited tier (leases, headers) whose 1,000,000 calls a day the run cannot exhaust.
  const { api_key } = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, {
    name: `bench-lease-${Date.now()}`,
    tier: 'pro',
  });
  for (let i = 0; i < 3; i++) {
    await postJson(`${w.url}/v1/agents`, api_key, {
      email: `a${i}@example.com`,
      owner: `team-${i}`,
      agent_type: 'bench',
      capabilities: ['x'],
    });
  }
  return api_key;
}

const mean = (xs: Measurement[], k: 'rps' | 'p50' | 'p99') =>
  Math.round((xs.reduce((s, x) => s + x[k], 0) / xs.length) * 10) / 10;

export async function run(): Promise<Record<string, unknown>[]> {
  const copies: Copy[] = [];
  try {
    for (const [name, rtt] of [
      ['limiter 0 ms away', '0'],
      [`limiter ${RTT_MS} ms away`, String(RTT_MS)],
    ] as const) {
      const w = await startBenchWorker({ bindings: { LIMITER_SIMULATED_RTT_MS: rtt } });
      copies.push({ name, w, key: await tenant(w), runs: new Map(ROUTES.map((r) => [r.name, []])) });
    }
    const opts = (c: Copy, r: Route, durationSec: number) => ({
      durationSec,
      method: r.method,
      body: r.body,
      headers: { authorization: `Bearer ${c.key}`, ...(r.body ? { 'content-type': 'application/json' } : {}) },
    });
    for (const c of copies) for (const r of ROUTES) await measure(`${c.w.url}${r.path}`, opts(c, r, 2)); // warm-up
    const before = await Promise.all(copies.map((c) => counters(c.w)));
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of ROUTES) {
        for (const c of copies) {
          process.stderr.write('.');
          c.runs.get(r.name)!.push(await measure(`${c.w.url}${r.path}`, opts(c, r, SECONDS)));
        }
      }
    }
    const after = await Promise.all(copies.map((c) => counters(c.w)));
    const tierRuns: Measurement[] = [];
    for (const c of copies)
      tierRuns.push(await measure(`${c.w.url}/v1/tier`, opts(c, { name: 'tier', path: '/v1/tier', method: 'GET' }, 3)));

    const [near, far] = copies as [Copy, Copy];
    const rows: Record<string, unknown>[] = [];
    for (const r of ROUTES) {
      for (const c of copies) {
        const xs = c.runs.get(r.name)!;
        rows.push({ route: r.name, config: c.name, rps: mean(xs, 'rps'), p50: mean(xs, 'p50'), p99: mean(xs, 'p99') });
      }
      const [a, b] = [near.runs.get(r.name)!, far.runs.get(r.name)!];
      rows.push({
        route: r.name,
        config: `p50 ${RTT_MS} ms away − p50 0 ms away (goal ≤ 10 ms)`,
        p50: Math.round((mean(b, 'p50') - mean(a, 'p50')) * 10) / 10,
        rps: ratio(mean(b, 'rps'), mean(a, 'rps')),
      });
    }
    copies.forEach((c, i) => {
      const limiter = after[i]!.limiter - before[i]!.limiter;
      const requests = after[i]!.tenant - before[i]!.tenant;
      rows.push({
        route: 'all measured tenant requests',
        config: c.name,
        'limiter calls ÷ requests (goal ≤ 0.05)':
          requests > 0 ? Math.round((limiter / requests) * 10_000) / 10_000 : null,
        requests,
      });
    });
    copies.forEach((c, i) => {
      const m = tierRuns[i]!;
      rows.push({
        route: 'GET /v1/tier (reads the object every request)',
        config: c.name,
        rps: m.rps,
        p50: m.p50,
        p99: m.p99,
      });
    });
    rows.push({
      route: '(setup)',
      config: `postgres: ${near.w.stack.postgresKind}; ${ROUNDS} alternating ${SECONDS} s runs per route and copy, 10 connections`,
    });
    report('lease-rtt', rows);
    return rows;
  } finally {
    for (const c of copies) await c.w.stop().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
