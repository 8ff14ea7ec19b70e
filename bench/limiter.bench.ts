// Cost of the per-tenant daily call limiter: the same tenant route (GET /v1/agents) served by copies of the
// deploy bundle that count every call in the TenantLimiter Durable Object, and by one started with
// RATE_LIMIT_BYPASS=true (a binding honoured only for this benchmark; see worker/middleware/rate-limit.ts).
// Goal: limited ÷ bypassed throughput ≥ 0.8. `node bench/limiter.bench.ts` (DATABASE_URL for a Postgres
// server, else PGlite).
//
// Each count is a durable SQLite write in the Durable Object, and the RPC answer waits for it to commit.
// Locally Miniflare keeps Durable Object storage in SQLite files under the temp directory, so that wait is
// a disk fsync on this machine; in production it is Cloudflare's replicated commit. Two limited copies are
// therefore measured: one with its storage on disk (the harness default) and one with it on tmpfs
// (/dev/shm, when present), which isolates the code's own cost. Runs alternate between the copies to
// cancel drift. Load generator and workerd share this machine's cores.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { measure, ratio, report, startBenchWorker, type BenchWorker, type Measurement } from './harness.ts';

const ROUNDS = 2;
const SECONDS = 8;

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
      body: JSON.stringify({ email: `a${i}@example.com`, owner: `team-${i}`, agent_type: 'bench', capabilities: ['x'] }),
    });
    if (agent.status !== 201) throw new Error(`create agent: ${agent.status} ${await agent.text()}`);
  }
  return api_key;
}

/** Starts a copy whose Miniflare temp directory (Durable Object storage included) is on tmpfs. */
async function startOnTmpfs(): Promise<{ w: BenchWorker; dir: string }> {
  const dir = mkdtempSync('/dev/shm/agentidp-bench-');
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return { w: await startBenchWorker(), dir };
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

const mean = (xs: Measurement[], k: 'rps' | 'p50' | 'p99') => Math.round(xs.reduce((s, x) => s + x[k], 0) / xs.length);

export async function run(): Promise<Record<string, unknown>[]> {
  const started: BenchWorker[] = [];
  let tmpfsDir: string | undefined;
  try {
    const disk = await startBenchWorker();
    started.push(disk);
    const bypassed = await startBenchWorker({ bindings: { RATE_LIMIT_BYPASS: 'true' } });
    started.push(bypassed);
    const targets = [
      { name: 'limiter on, DO storage on disk', w: disk, limited: true },
      { name: 'limiter bypassed', w: bypassed, limited: false },
    ];
    if (existsSync('/dev/shm')) {
      const mem = await startOnTmpfs();
      tmpfsDir = mem.dir;
      started.push(mem.w);
      targets.push({ name: 'limiter on, DO storage on tmpfs', w: mem.w, limited: true });
    }
    const runs = new Map<string, Measurement[]>();
    const keys = new Map<string, string>();
    for (const t of targets) {
      const key = await tenantOn(t.w);
      keys.set(t.name, key);
      runs.set(t.name, []);
      const probe = await fetch(`${t.w.url}/v1/agents`, { headers: { authorization: `Bearer ${key}` } });
      if (probe.status !== 200) throw new Error(`${t.name}: ${probe.status}`);
      if ((probe.headers.get('RateLimit-Limit') !== null) !== t.limited) throw new Error(`${t.name}: limiter state unexpected`);
      await measure(`${t.w.url}/v1/agents`, { durationSec: 2, headers: { authorization: `Bearer ${key}` } }); // warm-up
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const m = await measure(`${t.w.url}/v1/agents`, { durationSec: SECONDS, headers: { authorization: `Bearer ${keys.get(t.name)}` } });
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
      return {
        route: 'GET /v1/agents',
        config: t.name,
        ...s,
        'ratio ÷ bypassed (goal ≥ 0.8)': t.limited ? ratio(s.rps, base.rps) : 1,
      };
    });
    rows.push({ route: '(setup)', config: `postgres: ${disk.stack.postgresKind}; ${ROUNDS} alternating ${SECONDS} s runs per copy, 10 connections` });
    report('limiter', rows);
    return rows;
  } finally {
    for (const w of started) await w.stop().catch(() => undefined);
    if (tmpfsDir) rmSync(tmpfsDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
