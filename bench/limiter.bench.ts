// Cost of the per-tenant daily call limiter: the same tenant route (GET /v1/agents) served by copies of the
// deploy bundle that count every call in the TenantLimiter Durable Object, and by one started with
// RATE_LIMIT_BYPASS=true (a binding honoured only for this benchmark; see worker/features/tiers/rate-limit.ts).
// Goal: limited ÷ bypassed throughput ≥ 0.8. `node bench/limiter.bench.ts` (DATABASE_URL for a Postgres
// server, else PGlite).
//
// Each count is a durable SQLite write in the Durable Object, and the RPC answer waits for it to commit.
// Locally `workerd serve` keeps Durable Object storage in SQLite files under the temp directory, so that wait is
// a disk fsync on this machine; in production it is Cloudflare's replicated commit. Two limited copies are
// therefore measured: one with its storage on disk (the harness default) and one with it on tmpfs
// (/dev/shm, when present), which isolates the code's own cost. Runs alternate between the copies to
// cancel drift. Load generator and workerd share this machine's cores.
//
// Baseline (with DATABASE_URL): the specification's approach, bench/baseline/server.ts (node:http + pg +
// node-redis), serving the same route for tenants created in the same database: its tenant gate with the
// Redis daily counter (INCR + EXPIREAT on `rate:tier:calls:<org>:<date>`, needs REDIS_URL) and without it
// (BASELINE_LIMITER=false); its ratio is the spec's limiter cost measured the same way.
import { existsSync } from 'node:fs';
import { type Baseline, baselineUnavailable, startBaseline } from './baseline/index.ts';
import { type BenchWorker, type Measurement, measure, ratio, report, startBenchWorker } from './harness.ts';

const ROUNDS = 2;
const SECONDS = 5;

async function tenantOn(w: BenchWorker): Promise<string> {
  const res = await fetch(`${w.url}/v1/admin/organizations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${w.adminToken}`, 'content-type': 'application/json' },
    // Pro: a limited tier (headers and all) whose 1,000,000 calls a day the run cannot exhaust.
    body: JSON.stringify({ name: `bench-limiter-${Date.now()}`, tier: 'pro' }),
  });
  if (res.status !== 201) throw new Error(`create organization: ${res.status} ${await res.text()}`);
  const { api_key } = (await res.json()) as { api_key: string };
  for (let i = 0; i < 5; i++) {
    const agent = await fetch(`${w.url}/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `a${i}@example.com`,
        owner: `team-${i}`,
        agent_type: 'bench',
        capabilities: ['x'],
      }),
    });
    if (agent.status !== 201) throw new Error(`create agent: ${agent.status} ${await agent.text()}`);
  }
  return api_key;
}

const mean = (xs: Measurement[], k: 'rps' | 'p50' | 'p99') => Math.round(xs.reduce((s, x) => s + x[k], 0) / xs.length);

export async function run(): Promise<Record<string, unknown>[]> {
  const started: BenchWorker[] = [];
  const baselines: Baseline[] = [];
  try {
    const disk = await startBenchWorker();
    started.push(disk);
    const bypassed = await startBenchWorker({ bindings: { RATE_LIMIT_BYPASS: 'true' } });
    started.push(bypassed);
    const targets: Array<{ name: string; w: BenchWorker; limited: boolean; url?: string; base?: string }> = [
      { name: 'limiter on, DO storage on disk', w: disk, limited: true },
      { name: 'limiter bypassed', w: bypassed, limited: false },
    ];
    if (existsSync('/dev/shm')) {
      const mem = await startBenchWorker({ storageRoot: '/dev/shm' });
      started.push(mem);
      targets.push({ name: 'limiter on, DO storage on tmpfs', w: mem, limited: true });
    }
    const noBaseline =
      baselineUnavailable() ?? (process.env.REDIS_URL ? undefined : 'baseline counter needs REDIS_URL');
    if (noBaseline) console.warn(`limiter: ${noBaseline}; no baseline`);
    else {
      const opts = { databaseUrl: disk.stack.databaseUrl, redisUrl: process.env.REDIS_URL };
      const on = await startBaseline({ ...opts, limiter: true });
      baselines.push(on);
      const off = await startBaseline({ ...opts, limiter: false });
      baselines.push(off);
      // Tenants are created through the Worker (same database); requests go to the baseline.
      targets.push(
        { name: 'baseline: Redis INCR counter', w: disk, limited: true, url: on.url, base: 'baseline: no counter' },
        { name: 'baseline: no counter', w: disk, limited: false, url: off.url },
      );
    }
    const runs = new Map<string, Measurement[]>();
    const keys = new Map<string, string>();
    for (const t of targets) {
      const key = await tenantOn(t.w);
      keys.set(t.name, key);
      runs.set(t.name, []);
      const url = t.url ?? t.w.url;
      const probe = await fetch(`${url}/v1/agents`, { headers: { authorization: `Bearer ${key}` } });
      if (probe.status !== 200) throw new Error(`${t.name}: ${probe.status}`);
      if (!t.url && (probe.headers.get('RateLimit-Limit') !== null) !== t.limited)
        throw new Error(`${t.name}: limiter state unexpected`);
      await measure(`${url}/v1/agents`, { durationSec: 2, headers: { authorization: `Bearer ${key}` } }); // warm-up
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        process.stderr.write('.');
        const m = await measure(`${t.url ?? t.w.url}/v1/agents`, {
          durationSec: SECONDS,
          headers: { authorization: `Bearer ${keys.get(t.name)}` },
        });
        runs.get(t.name)!.push(m);
      }
    }
    const summary = (name: string) => {
      const xs = runs.get(name)!;
      return {
        rps: mean(xs, 'rps'),
        p50: mean(xs, 'p50'),
        p99: mean(xs, 'p99'),
        errors: xs.reduce((s, x) => s + x.errors, 0),
        non2xx: xs.reduce((s, x) => s + x.non2xx, 0),
      };
    };
    const base = summary('limiter bypassed');
    const rows: Record<string, unknown>[] = targets.map((t) => {
      const s = summary(t.name);
      const reference = t.base ? summary(t.base) : base;
      return {
        route: 'GET /v1/agents',
        config: t.name,
        ...s,
        'ratio ÷ bypassed (goal ≥ 0.8)': t.limited ? ratio(s.rps, reference.rps) : 1,
      };
    });
    if (noBaseline) rows.push({ route: 'baseline', config: noBaseline });
    else {
      const worker = summary('limiter on, DO storage on disk');
      const spec = summary('baseline: Redis INCR counter');
      rows.push({
        route: 'GET /v1/agents',
        config: 'Worker (limiter on, disk) ÷ baseline (INCR counter)',
        rps: ratio(worker.rps, spec.rps),
      });
    }
    rows.push({
      route: '(setup)',
      config: `postgres: ${disk.stack.postgresKind}; ${ROUNDS} alternating ${SECONDS} s runs per copy, 10 connections`,
    });
    report('limiter', rows);
    return rows;
  } finally {
    for (const b of baselines) await b.stop().catch(() => undefined);
    for (const w of started) await w.stop().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
