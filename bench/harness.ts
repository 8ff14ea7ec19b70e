// Benchmark harness: serves the deploy bundle (wrangler deploy --dry-run) with `workerd serve` and a
// generated config against the real stack (Postgres behind pgbouncer when both are there, the Redis bridge,
// the Neon WebSocket proxy), next to a trivial Worker on the same binary (the floor); loads them with
// autocannon. Not `wrangler dev` (its proxy caps throughput) and not Miniflare (several times slower than
// `workerd serve` on a trivial route), either of which would hide what the code costs.

import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import autocannon from 'autocannon';
import { startStackProcess } from '../scripts/stack/child.ts';
import type { Stack, StackOptions } from '../scripts/stack/index.ts';
import { buildBundle, workerSpec } from './bundle.ts';
import { startWorkerd } from './workerd/serve.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const LOG = `${ROOT}.data/bench-workerd.log`;

export interface BenchWorker {
  url: string;
  stack: Stack;
  bindings: Record<string, string>;
  adminToken: string;
  stop(): Promise<void>;
}

export interface BenchWorkerOptions {
  bindings?: Record<string, string>;
  /** Postgres to use instead of DATABASE_URL. */
  databaseUrl?: string;
  /** pgbouncer in front of a Postgres server: `auto` (when installed; the default) or `off`. */
  pooler?: StackOptions['pooler'];
  /** Parent directory of the Durable Objects' storage (e.g. /dev/shm); the OS temp directory by default. */
  storageRoot?: string;
}

/** Starts the stack and the deploy bundle under `workerd serve`. */
export async function startBenchWorker(opts: BenchWorkerOptions = {}): Promise<BenchWorker> {
  const script = buildBundle();
  const spec = await workerSpec();
  // In a child process: the load generator in this one must not delay the Worker's database and cache I/O.
  const stack = await startStackProcess({
    databaseUrl: opts.databaseUrl ?? (process.env.DATABASE_URL || undefined),
    redisUrl: process.env.REDIS_URL || undefined,
    pooler: opts.pooler,
    // Every Worker of a run has its own pgbouncer, and the server's 100 connections are shared.
    poolSize: 10,
  });
  const adminToken = randomBytes(24).toString('hex');
  const bindings: Record<string, string> = {
    ...spec.vars,
    ...stack.bindings,
    ADMIN_TOKEN: adminToken,
    DID_WEB_DOMAIN: 'bench.test',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ALLOW_PRIVATE_URLS: 'true',
    LOG_REQUESTS: 'false',
    ...opts.bindings,
  };
  try {
    const workerd = await startWorkerd({
      modules: [{ name: 'index.js', path: script }],
      compatibilityDate: spec.compatibilityDate,
      compatibilityFlags: spec.compatibilityFlags,
      durableObjects: spec.durableObjects,
      bindings,
      tmpRoot: opts.storageRoot,
      logFile: LOG,
    });
    return {
      url: workerd.url,
      stack,
      bindings,
      adminToken,
      stop: async () => {
        await workerd.stop();
        await stack.stop();
      },
    };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** A Worker that answers one `new Response` (bench/trivial.worker.js) on the same workerd binary: the floor. */
export async function startTrivialWorker(): Promise<{ url: string; stop(): Promise<void> }> {
  const spec = await workerSpec();
  return startWorkerd({
    modules: [{ name: 'trivial.worker.js', path: `${ROOT}bench/trivial.worker.js` }],
    compatibilityDate: spec.compatibilityDate,
    compatibilityFlags: spec.compatibilityFlags,
    logFile: LOG,
  });
}

export interface MeasureOptions {
  connections?: number;
  durationSec?: number;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
}

export interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** Loads `url` with autocannon (in this process; it shares the 2 cores with workerd). */
export async function measure(url: string, opts: MeasureOptions = {}): Promise<Measurement> {
  const result = await autocannon({
    url,
    connections: opts.connections ?? 10,
    duration: opts.durationSec ?? 10,
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body,
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export interface Target extends MeasureOptions {
  name: string;
  url: string;
}

/**
 * Measures every target in the same run: a warm-up of `warmupSec` each, then `rounds` runs of `seconds`
 * each, alternating the targets so that the machine's drift affects all of them alike. Throughput and p50
 * are the means over the rounds, p99 the worst round, errors and non-2xx the sums.
 */
export async function compare(
  targets: Target[],
  { rounds = 2, seconds = 4, warmupSec = 2 } = {},
): Promise<Map<string, Measurement>> {
  for (const t of targets) await measure(t.url, { ...t, durationSec: warmupSec });
  const runs = new Map<string, Measurement[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      process.stderr.write('.');
      runs.get(t.name)!.push(await measure(t.url, { ...t, durationSec: seconds }));
    }
  }
  const out = new Map<string, Measurement>();
  for (const [name, ms] of runs) {
    out.set(name, {
      rps: Math.round(ms.reduce((a, m) => a + m.rps, 0) / ms.length),
      p50: Math.round((ms.reduce((a, m) => a + m.p50, 0) / ms.length) * 10) / 10,
      p99: Math.max(...ms.map((m) => m.p99)),
      errors: ms.reduce((a, m) => a + m.errors, 0),
      non2xx: ms.reduce((a, m) => a + m.non2xx, 0),
    });
  }
  return out;
}

/** Prints rows as a table and appends them as JSON lines to bench/results/<name>.jsonl. */
export function report(name: string, rows: Array<Record<string, unknown>>): void {
  console.log(`\n== ${name} ==`);
  console.table(rows);
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  appendFileSync(`${ROOT}bench/results/${name}.jsonl`, `${JSON.stringify({ at: new Date().toISOString(), rows })}\n`);
}

/** POSTs JSON with a bearer token to seed a scenario's data; throws on any non-2xx answer. */
export async function postJson(url: string, token: string, body: unknown): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Creates an organization of `tier` with `agents` agents; answers its id and API key. */
export async function seedTenant(
  w: BenchWorker,
  name: string,
  tier: 'free' | 'pro' | 'enterprise',
  agents = 0,
): Promise<{ id: string; key: string }> {
  const org = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, { name: `${name}-${Date.now()}`, tier });
  for (let i = 0; i < agents; i++) {
    await postJson(`${w.url}/v1/agents`, org.api_key, {
      email: `a${i}@example.com`,
      owner: `team-${i}`,
      agent_type: 'bench',
      capabilities: ['x'],
    });
  }
  return { id: org.organization_id, key: org.api_key };
}

/** Round to 2 decimals for ratios. */
export const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
