// did:web document serving vs a trivial route, same Worker, same run: `node bench/did.bench.ts`.
// The DID route is measured on a cache hit: one warm-up request fills isolate memory (and Redis when
// REDIS_URL is set). The trivial route is GET /livez (touches no dependency). Rounds alternate the two
// routes so that drift of the machine affects both. With REDIS_URL set, a second Worker with the isolate
// memory layer off (DID_MEMORY_CACHE_MS=0) measures the Redis-hit path the same way. Load generator and
// workerd share this machine's cores: read the ratios, not the absolute figures.
import { measure, ratio, report, startBenchWorker, type Measurement } from './harness.ts';

const ROUNDS = 2;
const SECONDS = 8;

async function post(url: string, token: string, body: unknown): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

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
async function scenario(bindings: Record<string, string>, rounds: number): Promise<{ trivial: Measurement; did: Measurement; redis: boolean }> {
  const w = await startBenchWorker({ bindings });
  try {
    const org = await post(`${w.url}/v1/admin/organizations`, w.adminToken, { name: 'did-bench', tier: 'enterprise' });
    const agent = await post(`${w.url}/v1/agents`, org.api_key, {
      email: 'bench@example.com',
      owner: 'bench',
      agent_type: 'assistant',
      capabilities: ['search'],
    });
    const routes = { trivial: `${w.url}/livez`, did: `${w.url}/agents/${agent.agent_id}/did.json` };
    for (const url of Object.values(routes)) {
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`warm-up ${url}: ${res.status}`);
      await res.arrayBuffer();
    }
    const runs = { trivial: [] as Measurement[], did: [] as Measurement[] };
    for (let i = 0; i < rounds; i++) {
      for (const name of ['trivial', 'did'] as const) runs[name].push(await measure(routes[name], { durationSec: SECONDS }));
    }
    return { trivial: combine(runs.trivial), did: combine(runs.did), redis: Boolean(w.bindings.UPSTASH_REDIS_REST_URL) };
  } finally {
    await w.stop();
  }
}

export async function run(): Promise<Record<string, unknown>[]> {
  const main = await scenario({}, ROUNDS);
  const rows: Record<string, unknown>[] = [
    { worker: 'default', route: 'GET /livez (trivial)', ...main.trivial, ratio_rps: 1 },
    {
      worker: 'default',
      route: `GET /agents/{id}/did.json (hit: isolate memory${main.redis ? ', Redis behind it' : ', no Redis'})`,
      ...main.did,
      ratio_rps: ratio(main.did.rps, main.trivial.rps),
    },
  ];
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
      `p99 ${main.did.p99} ms vs ${main.trivial.p99} ms`,
  );
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
