// Signed documents on a cache hit next to did.json on a cache hit and the same Worker's /livez, in the same
// rounds: `node bench/card.bench.ts` (or `npm run bench -- card`). The A2A card and the agent credential have
// their own cache entries; a hit serves a stored signed body and must cost no more than a did.json hit (goal:
// card ÷ did.json ≥ 0.95, within this machine's noise). Load generator and workerd share the machine's cores:
// read the ratios, not the absolute figures.
import { type Measurement, measure, postJson, ratio, report, startBenchWorker } from './harness.ts';

const ROUNDS = 2;
const SECONDS = 4;

type Row = Record<string, unknown>;

export async function run(): Promise<Row[]> {
  const w = await startBenchWorker();
  try {
    const org = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, {
      name: 'card-bench',
      tier: 'enterprise',
    });
    const agent = await postJson(`${w.url}/v1/agents`, org.api_key, {
      email: 'bench@example.com',
      owner: 'bench',
      agent_type: 'assistant',
      capabilities: ['search'],
    });
    const routes: Record<string, string> = {
      livez: `${w.url}/livez`,
      did: `${w.url}/agents/${agent.agent_id}/did.json`,
      card: `${w.url}/agents/${agent.agent_id}/.well-known/agent-card.json`,
      credential: `${w.url}/agents/${agent.agent_id}/credential`,
    };
    for (const url of Object.values(routes)) {
      const res = await fetch(url); // warm-up: fills isolate memory (and Redis)
      if (res.status !== 200) throw new Error(`warm-up ${url}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
    const runs: Record<string, Measurement[]> = Object.fromEntries(Object.keys(routes).map((name) => [name, []]));
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, url] of Object.entries(routes)) {
        process.stderr.write('.');
        runs[name]!.push(await measure(url, { durationSec: SECONDS }));
      }
    }
    const m = Object.fromEntries(
      Object.entries(runs).map(([name, ms]) => [
        name,
        {
          rps: Math.round(ms.reduce((a, x) => a + x.rps, 0) / ms.length),
          p99: Math.max(...ms.map((x) => x.p99)),
          errors: ms.reduce((a, x) => a + x.errors + x.non2xx, 0),
        },
      ]),
    ) as Record<string, { rps: number; p99: number; errors: number }>;
    const rows: Row[] = [
      { route: 'GET /livez', ...m.livez, vs_livez: 1 },
      { route: 'GET /agents/{id}/did.json (hit)', ...m.did, vs_livez: ratio(m.did!.rps, m.livez!.rps), vs_did: 1 },
      {
        route: 'GET /agents/{id}/.well-known/agent-card.json (hit)',
        ...m.card,
        vs_livez: ratio(m.card!.rps, m.livez!.rps),
        vs_did: ratio(m.card!.rps, m.did!.rps),
      },
      {
        route: 'GET /agents/{id}/credential (hit)',
        ...m.credential,
        vs_livez: ratio(m.credential!.rps, m.livez!.rps),
        vs_did: ratio(m.credential!.rps, m.did!.rps),
      },
    ];
    report('card', rows);
    return rows;
  } finally {
    await w.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
