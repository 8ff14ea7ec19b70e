// did:web document serving vs a trivial route, same Worker, same run: `node bench/did.bench.ts`.
// The DID route is measured on a cache hit: one warm-up request fills isolate memory (and Redis when
// REDIS_URL is set). The trivial route is GET /livez (touches no dependency). Rounds alternate the two
// routes so that drift of the machine affects both. With REDIS_URL set, a second Worker with the isolate
// memory layer off (DID_MEMORY_CACHE_MS=0) measures the Redis-hit path the same way.
// Baseline (with DATABASE_URL): the specification's Node approach (bench/baseline/server.ts: node:http, pg
// Pool, node-redis) serving the same agent's document from the same Postgres and Redis, measured in the same
// rounds; its own /livez is its trivial route. Load generator, workerd and the baseline share this
// machine's cores: read the ratios, not the absolute figures.
import { measure, postJson, ratio, report, startBenchWorker, type Measurement } from './harness.ts';
import { baselineUnavailable, startBaseline } from './baseline/index.ts';

const ROUNDS = 2;
const SECONDS = 5;

function combine(ms: Measurement[]): Measurement {
  return {
    rps: Math.round(ms.reduce((a, m) => a + m.rps, 0) / ms.length),
    p50: Math.max(...ms.map((m) => m.p50)),
    p99: Math.max(...ms.map((m) => m.p99)),
    errors: ms.reduce((a, m) => a + m.errors, 0),
    non2xx: ms.reduce((a, m) => a + m.non2xx, 0),
  };
}

/** Starts a Worker, creates an agent, warms its document, then alternates the two routes `rounds` times. */
type Route = 'trivial' | 'did' | 'baselineTrivial' | 'baselineDid';
type Result = { redis: boolean; baseline: boolean } & Partial<Record<Route, Measurement>> & { trivial: Measurement; did: Measurement };

async function scenario(bindings: Record<string, string>, rounds: number, withBaseline = false): Promise<Result> {
  const w = await startBenchWorker({ bindings });
  const baseline = withBaseline
    ? await startBaseline({ databaseUrl: w.stack.databaseUrl, redisUrl: process.env.REDIS_URL || undefined, didWebDomain: w.bindings.DID_WEB_DOMAIN })
    : undefined;
  try {
    const org = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, { name: 'did-bench', tier: 'enterprise' });
    const agent = await postJson(`${w.url}/v1/agents`, org.api_key, {
      email: 'bench@example.com',
      owner: 'bench',
      agent_type: 'assistant',
      capabilities: ['search'],
    });
    const routes: Partial<Record<Route, string>> = { trivial: `${w.url}/livez`, did: `${w.url}/agents/${agent.agent_id}/did.json` };
    if (baseline) {
      routes.baselineTrivial = `${baseline.url}/livez`;
      routes.baselineDid = `${baseline.url}/agents/${agent.agent_id}/did.json`;
    }
    const docs: unknown[] = [];
    for (const [name, url] of Object.entries(routes)) {
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`warm-up ${url}: ${res.status}`);
      if (name === 'did' || name === 'baselineDid') docs.push(await res.json());
      else await res.arrayBuffer();
    }
    // Same document from both servers, or the comparison is meaningless.
    if (docs.length === 2 && JSON.stringify(docs[0]) !== JSON.stringify(docs[1])) {
      throw new Error(`baseline document differs:\n${JSON.stringify(docs[0])}\n${JSON.stringify(docs[1])}`);
    }
    const runs: Partial<Record<Route, Measurement[]>> = {};
    for (let i = 0; i < rounds; i++) {
      for (const [name, url] of Object.entries(routes) as Array<[Route, string]>) {
        process.stderr.write('.');
        (runs[name] ??= []).push(await measure(url, { durationSec: SECONDS }));
      }
    }
    const out = { redis: Boolean(w.bindings.UPSTASH_REDIS_REST_URL), baseline: Boolean(baseline) } as Result;
    for (const [name, ms] of Object.entries(runs) as Array<[Route, Measurement[]]>) out[name] = combine(ms);
    return out;
  } finally {
    await baseline?.stop();
    await w.stop();
  }
}

export async function run(): Promise<Record<string, unknown>[]> {
  const noBaseline = baselineUnavailable();
  if (noBaseline) console.warn(`did: ${noBaseline}; measuring the Worker only`);
  const main = await scenario({}, ROUNDS, !noBaseline);
  const rows: Record<string, unknown>[] = [
    { worker: 'default', route: 'GET /livez (trivial)', ...main.trivial, ratio_rps: 1 },
    {
      worker: 'default',
      route: `GET /agents/{id}/did.json (hit: isolate memory${main.redis ? ', Redis behind it' : ', no Redis'})`,
      ...main.did,
      ratio_rps: ratio(main.did.rps, main.trivial.rps),
    },
  ];
  if (main.baselineTrivial && main.baselineDid) {
    rows.push(
      { worker: 'baseline (node:http + pg + node-redis)', route: 'GET /livez (trivial)', ...main.baselineTrivial, ratio_rps: 1 },
      {
        worker: 'baseline (node:http + pg + node-redis)',
        route: `GET /agents/{id}/did.json (${main.redis ? 'hit: Redis' : 'Postgres, no Redis'})`,
        ...main.baselineDid,
        ratio_rps: ratio(main.baselineDid.rps, main.baselineTrivial.rps),
      },
      { worker: 'Worker ÷ baseline', route: 'GET /agents/{id}/did.json', rps: ratio(main.did.rps, main.baselineDid.rps), p99: ratio(main.did.p99, main.baselineDid.p99) },
    );
  } else {
    rows.push({ worker: 'baseline', route: 'GET /agents/{id}/did.json', note: noBaseline });
  }
  if (main.redis) {
    const redisOnly = await scenario({ DID_MEMORY_CACHE_MS: '0' }, 1);
    rows.push(
      { worker: 'DID_MEMORY_CACHE_MS=0', route: 'GET /livez (trivial)', ...redisOnly.trivial, ratio_rps: 1 },
      {
        worker: 'DID_MEMORY_CACHE_MS=0',
        route: 'GET /agents/{id}/did.json (hit: Redis)',
        ...redisOnly.did,
        ratio_rps: ratio(redisOnly.did.rps, redisOnly.trivial.rps),
      },
    );
  }
  report('did', rows);
  console.log(
    `did.json (cache hit) / trivial throughput: ${ratio(main.did.rps, main.trivial.rps)} (goal ≥ 0.8); ` +
      `p99 ${main.did.p99} ms vs ${main.trivial.p99} ms` +
      (main.baselineDid ? `; Worker ÷ baseline did.json throughput: ${ratio(main.did.rps, main.baselineDid.rps)}` : ''),
  );
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
