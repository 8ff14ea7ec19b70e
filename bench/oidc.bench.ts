// Agent tokens: what the Worker in front of node-oidc costs. Side by side in one run, against the same
// node-oidc process and Postgres: the trivial Worker (the floor), the client-credentials grant and the JWKS
// straight from node-oidc (the baseline), and the same requests through the Worker (allow-list, tenant
// lookup, TenantLimiter reservation, analytics write under waitUntil, proxying). `node bench/oidc.bench.ts`
// Load generator, workerd, node-oidc and Postgres share this machine's cores: read the ratios, not the rates.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { freePort } from '../scripts/stack/free-port.ts';
import { startNodeOidc } from '../scripts/stack/node-oidc.ts';
import { COUNTED_CLIENT_HEADER } from '../shared/oidc-link.ts';
import { compare, postJson, ratio, report, startBenchWorker, startTrivialWorker } from './harness.ts';

export async function run(): Promise<Record<string, unknown>[]> {
  const port = await freePort();
  const internalToken = randomBytes(24).toString('hex');
  const issuer = 'http://bench.test/oidc';
  const w = await startBenchWorker({
    bindings: { OIDC_ORIGIN: `http://127.0.0.1:${port}`, OIDC_ISSUER: issuer, INTERNAL_TOKEN: internalToken },
  });
  const trivial = await startTrivialWorker();
  // node-oidc's signing keys for this run only (private keys: removed at the end).
  const keysFile = `/tmp/agentidp-bench-oidc-${process.pid}.json`;
  const oidc = await startNodeOidc({
    port,
    output: new URL('../.data/node-oidc-bench.log', import.meta.url).pathname,
    env: {
      DATABASE_URL: w.stack.databaseUrl,
      OIDC_ISSUER: issuer,
      INTERNAL_TOKEN: internalToken,
      OIDC_KEYS_FILE: keysFile,
    },
  });
  try {
    // Enterprise: no daily token limit, so every request of the run is a success (the counter still counts).
    const org = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, {
      name: 'bench-oidc',
      tier: 'enterprise',
    });
    const agent = await postJson(`${w.url}/v1/agents`, org.api_key!, {
      email: 'bench@example.com',
      owner: 'bench',
      agent_type: 'assistant',
      capabilities: ['search'],
    });
    const cred = await postJson(`${w.url}/v1/agents/${agent.agent_id}/credentials`, org.api_key!, {});
    const token = {
      method: 'POST' as const,
      headers: {
        authorization: `Basic ${Buffer.from(`${agent.agent_id}:${cred.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    };
    // node-oidc authenticates only the client the Worker says it counted; called directly, the bench says so.
    const direct = { ...token, headers: { ...token.headers, [COUNTED_CLIENT_HEADER]: agent.agent_id as string } };
    for (const [url, init] of [
      [`${oidc.url}/oidc/token`, direct],
      [`${w.url}/oidc/token`, token],
    ] as const) {
      const res = await fetch(url, init);
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    }
    const m = await compare([
      { name: 'trivial', url: trivial.url },
      { name: 'direct', url: `${oidc.url}/oidc/token`, ...direct },
      { name: 'worker', url: `${w.url}/oidc/token`, ...token },
      { name: 'jwksDirect', url: `${oidc.url}/oidc/jwks` },
      { name: 'jwksWorker', url: `${w.url}/oidc/jwks` },
    ]);
    const t = m.get('trivial')!;
    const row = (target: string, route: string, name: string, vs?: string) => ({
      target,
      route,
      ...m.get(name)!,
      vs_trivial: ratio(m.get(name)!.rps, t.rps),
      ...(vs ? { vs_direct: ratio(m.get(name)!.rps, m.get(vs)!.rps) } : {}),
    });
    const rows = [
      row('trivial Worker', 'GET /', 'trivial'),
      row('node-oidc direct (baseline)', 'POST /oidc/token (client_credentials)', 'direct'),
      row('Worker', 'POST /oidc/token (client_credentials)', 'worker', 'direct'),
      row('node-oidc direct (baseline)', 'GET /oidc/jwks', 'jwksDirect'),
      row('Worker', 'GET /oidc/jwks', 'jwksWorker', 'jwksDirect'),
    ];
    report('oidc', rows);
    return rows;
  } finally {
    await oidc.stop();
    await w.stop();
    await trivial.stop();
    rmSync(keysFile, { force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
