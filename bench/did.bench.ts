// Public hot routes: GET /livez and GET /agents/{id}/did.json (cache hit), in one run next to the trivial
// Worker on the same workerd binary (the floor) and the seed-style Node baseline (bench/baseline/server.ts:
// node:http, pg Pool, node-redis) serving the same document from the same Postgres and Redis.
// `node bench/did.bench.ts`. With REDIS_URL, a second Worker with its isolate memory layer off
// (DID_MEMORY_CACHE_MS=0) measures the Redis-hit path. Load generator, workerd and the baseline share this
// machine's cores: read the ratios, not the absolute figures.

import { baselineUnavailable, startBaseline } from './baseline/index.ts';
import {
  compare,
  type Measurement,
  postJson,
  ratio,
  report,
  startBenchWorker,
  startTrivialWorker,
  type Target,
} from './harness.ts';

type Row = Record<string, unknown>;
const row = (target: string, route: string, m: Measurement | undefined, extra: Row = {}): Row => ({
  target,
  route,
  ...m,
  ...extra,
});

export async function run(): Promise<Row[]> {
  const noBaseline = baselineUnavailable();
  if (noBaseline) console.warn(`did: ${noBaseline}; measuring the Worker only`);
  const trivial = await startTrivialWorker();
  const w = await startBenchWorker();
  const baseline = noBaseline
    ? undefined
    : await startBaseline({
        databaseUrl: w.stack.databaseUrl,
        redisUrl: process.env.REDIS_URL || undefined,
        didWebDomain: w.bindings.DID_WEB_DOMAIN,
      });
  const rows: Row[] = [];
  try {
    const org = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, {
      name: 'did-bench',
      tier: 'enterprise',
    });
    const agent = await postJson(`${w.url}/v1/agents`, org.api_key, {
      email: 'bench@example.com',
      owner: 'bench',
      agent_type: 'assistant',
      capabilities: ['search'],
    });
    const did = `/agents/${agent.agent_id}/did.json`;
    // Warm-up fills the caches; the same document from both servers, or the comparison is meaningless.
    const docs = [await fetchJson(`${w.url}${did}`)];
    if (baseline) docs.push(await fetchJson(`${baseline.url}${did}`));
    if (docs.length === 2 && JSON.stringify(docs[0]) !== JSON.stringify(docs[1])) {
      throw new Error(`baseline document differs:\n${JSON.stringify(docs[0])}\n${JSON.stringify(docs[1])}`);
    }
    const targets: Target[] = [
      { name: 'trivial', url: trivial.url },
      { name: 'livez', url: `${w.url}/livez` },
      { name: 'did', url: `${w.url}${did}` },
    ];
    if (baseline)
      targets.push({ name: 'bLivez', url: `${baseline.url}/livez` }, { name: 'bDid', url: `${baseline.url}${did}` });
    const m = await compare(targets);
    const t = m.get('trivial')!;
    const bDid = m.get('bDid');
    rows.push(
      row('trivial Worker', 'GET / (one new Response)', t, { vs_trivial: 1 }),
      row('Worker', 'GET /livez', m.get('livez'), { vs_trivial: ratio(m.get('livez')!.rps, t.rps) }),
      row(
        'Worker',
        `GET /agents/{id}/did.json (hit: isolate memory${w.bindings.UPSTASH_REDIS_REST_URL ? ', Redis behind it' : ''})`,
        m.get('did'),
        {
          vs_trivial: ratio(m.get('did')!.rps, t.rps),
          ...(bDid ? { vs_baseline: ratio(m.get('did')!.rps, bDid.rps) } : {}),
        },
      ),
    );
    if (baseline) {
      rows.push(
        row('Node baseline', 'GET /livez', m.get('bLivez'), { vs_trivial: ratio(m.get('bLivez')!.rps, t.rps) }),
        row(
          'Node baseline',
          `GET /agents/{id}/did.json (${process.env.REDIS_URL ? 'hit: Redis' : 'Postgres, no Redis'})`,
          bDid,
          { vs_trivial: ratio(bDid!.rps, t.rps) },
        ),
      );
    } else {
      rows.push({ target: 'Node baseline', route: 'GET /agents/{id}/did.json', note: noBaseline });
    }
  } finally {
    await baseline?.stop();
    await w.stop();
  }
  try {
    if (process.env.REDIS_URL) rows.push(await redisOnly(trivial.url));
  } finally {
    await trivial.stop();
  }
  report('did', rows);
  return rows;
}

/** did.json served from Redis (the isolate memory layer off), against the trivial Worker in the same rounds. */
async function redisOnly(trivialUrl: string): Promise<Row> {
  const w = await startBenchWorker({ bindings: { DID_MEMORY_CACHE_MS: '0' } });
  try {
    const org = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, {
      name: 'did-bench-redis',
      tier: 'enterprise',
    });
    const agent = await postJson(`${w.url}/v1/agents`, org.api_key, {
      email: 'bench@example.com',
      owner: 'bench',
      agent_type: 'assistant',
      capabilities: ['search'],
    });
    const url = `${w.url}/agents/${agent.agent_id}/did.json`;
    await fetchJson(url);
    const m = await compare(
      [
        { name: 'trivial', url: trivialUrl },
        { name: 'did', url },
      ],
      { rounds: 1 },
    );
    return row('Worker, DID_MEMORY_CACHE_MS=0', 'GET /agents/{id}/did.json (hit: Redis)', m.get('did'), {
      vs_trivial: ratio(m.get('did')!.rps, m.get('trivial')!.rps),
    });
  } finally {
    await w.stop();
  }
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`warm-up ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
