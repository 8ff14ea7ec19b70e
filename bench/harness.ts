// Benchmark harness: serves the deploy bundle (wrangler deploy --dry-run) with workerd through Miniflare's
// programmatic API — not `wrangler dev`, whose proxy hides the code's cost — against the real stack.
import { execFileSync } from 'node:child_process';
import { mkdirSync, appendFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import autocannon from 'autocannon';
import { startStack, type Stack } from '../scripts/stack/index.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const OUT = `${ROOT}dist/bench`;

export interface BenchWorker {
  url: string;
  stack: Stack;
  bindings: Record<string, string>;
  adminToken: string;
  /** The Miniflare instance (e.g. `getDurableObjectNamespace` to seed a Durable Object from Node). */
  mf: Miniflare;
  stop(): Promise<void>;
}

export interface BenchWorkerOptions {
  bindings?: Record<string, string>;
  /** Postgres to use instead of DATABASE_URL (the browser tests pass a throwaway database). */
  databaseUrl?: string;
  /** Also serve the static assets of wrangler.toml's [assets] (the console), routed as in production. */
  assets?: boolean;
  /**
   * Bundle this entry (relative to the repository) instead of wrangler.toml's `main`, the same way: the
   * browser tests' Worker with the suite's clock (test/support/pinned-worker.ts).
   */
  entry?: string;
}

const built = new Set<string>();
/** Builds the deploy bundle (or the same build of another entry) once per process; returns its path. */
export function buildBundle(entry?: string): string {
  const outdir = entry ? `${OUT}-${basename(entry, '.ts')}` : OUT;
  if (!built.has(outdir)) {
    // --containers-rollout=none: the node-oidc [[containers]] image is not built (no Docker engine needed).
    const args = ['wrangler', 'deploy', '--dry-run', '--outdir', outdir, '--containers-rollout=none', ...(entry ? [entry] : [])];
    execFileSync('npx', args, { cwd: ROOT, stdio: 'ignore' });
    built.add(outdir);
  }
  return `${outdir}/${entry ? basename(entry, '.ts') : 'index'}.js`;
}

/** Starts the stack and the bundled Worker in workerd. */
export async function startBenchWorker(opts: BenchWorkerOptions = {}): Promise<BenchWorker> {
  const script = buildBundle(opts.entry);
  const stack = await startStack({
    databaseUrl: opts.databaseUrl ?? (process.env.DATABASE_URL || undefined),
    redisUrl: process.env.REDIS_URL || undefined,
  });
  const adminToken = randomBytes(24).toString('hex');
  const bindings: Record<string, string> = {
    ...stack.bindings,
    ADMIN_TOKEN: adminToken,
    DID_WEB_DOMAIN: 'bench.test',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ALLOW_PRIVATE_URLS: 'true',
    LOG_REQUESTS: 'false',
    ...opts.bindings,
  };
  const { workerOptions } = unstable_getMiniflareWorkerOptions(`${ROOT}wrangler.toml`);
  // wrangler still describes the Worker in Miniflare's v4 option shape; Miniflare 5 converts it.
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: '127.0.0.1',
    cf: false,
    logRequests: false,
    port: 0,
    workers: [
      {
        compatibilityDate: workerOptions.compatibilityDate,
        compatibilityFlags: workerOptions.compatibilityFlags,
        durableObjects: workerOptions.durableObjects,
        name: 'agentidp',
        modules: true,
        scriptPath: script,
        modulesRoot: dirname(script),
        bindings: { ...(workerOptions.bindings ?? {}), ...bindings },
        // Miniflare reads the folder's _headers itself, as the deployed asset router does.
        ...(opts.assets ? { assets: workerOptions.assets } : {}),
      },
    ],
  } as Parameters<typeof convertV4MiniflareOptions>[0]));
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return {
    url,
    stack,
    bindings,
    adminToken,
    mf,
    stop: async () => {
      await mf.dispose();
      await stack.stop();
    },
  };
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
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** Prints rows as a table and appends them as JSON lines to bench/results/<name>.jsonl. */
export function report(name: string, rows: Array<Record<string, unknown>>): void {
  console.log(`\n== ${name} ==`);
  console.table(rows);
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  appendFileSync(
    `${ROOT}bench/results/${name}.jsonl`,
    `${JSON.stringify({ at: new Date().toISOString(), rows })}\n`,
  );
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

/** Round to 2 decimals for ratios. */
export const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
