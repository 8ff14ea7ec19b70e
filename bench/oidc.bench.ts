// Agent tokens: what the Worker in front of node-oidc costs. Side by side in one run, against the same
// node-oidc process and Postgres: the client-credentials grant and the JWKS straight from node-oidc, and the
// same requests through the Worker (allow-list, tenant lookup, TenantLimiter reservation, analytics write
// under waitUntil, proxying). `node bench/oidc.bench.ts`
// Load generator, workerd, node-oidc and Postgres share this machine's cores: read the ratios, not the rates.
import { randomBytes } from 'node:crypto';
import { measure, postJson, ratio, report, startBenchWorker } from './harness.ts';
import { freePort } from '../scripts/stack/free-port.ts';
import { startNodeOidc } from '../scripts/stack/node-oidc.ts';
import { COUNTED_CLIENT_HEADER } from '../shared/oidc-link.ts';

const DURATION = 8;

export async function run(): Promise<Record<string, unknown>[]> {
  const port = await freePort();
  const internalToken = randomBytes(24).toString('hex');
  const issuer = 'http://bench.test/oidc';
  const w = await startBenchWorker({
    bindings: { OIDC_ORIGIN: `http://127.0.0.1:${port}`, OIDC_ISSUER: issuer, INTERNAL_TOKEN: internalToken },
  });
  const oidc = await startNodeOidc({
    port,
    output: new URL('../.data/node-oidc-bench.log', import.meta.url).pathname,
    env: { DATABASE_URL: w.stack.databaseUrl, OIDC_ISSUER: issuer, INTERNAL_TOKEN: internalToken, OIDC_KEYS_FILE: `/tmp/agentidp-bench-oidc-${process.pid}.json` },
  });
  try {
    // Enterprise: no daily token limit, so every request of the run is a success (the counter still counts).
    const org = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, { name: 'bench-oidc', tier: 'enterprise' });
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
      durationSec: DURATION,
    };
    // node-oidc authenticates only the client the Worker says it counted; called directly, the bench says so.
    const direct = await measure(`${oidc.url}/oidc/token`, { ...token, headers: { ...token.headers, [COUNTED_CLIENT_HEADER]: agent.agent_id as string } });
    const worker = await measure(`${w.url}/oidc/token`, token);
    const jwksDirect = await measure(`${oidc.url}/oidc/jwks`, { durationSec: DURATION });
    const jwksWorker = await measure(`${w.url}/oidc/jwks`, { durationSec: DURATION });
    // The Worker alone (no proxying, no I/O): what any route through it costs on this machine in this run.
    const livez = await measure(`${w.url}/livez`, { durationSec: DURATION });
    const rows = [
      { route: 'POST /oidc/token (node-oidc direct)', ...direct },
      { route: 'POST /oidc/token (through the Worker)', ...worker, rps_vs_direct: ratio(worker.rps, direct.rps) },
      { route: 'GET /oidc/jwks (node-oidc direct)', ...jwksDirect },
      { route: 'GET /oidc/jwks (through the Worker)', ...jwksWorker, rps_vs_direct: ratio(jwksWorker.rps, jwksDirect.rps) },
      { route: 'GET /livez (the Worker alone)', ...livez, rps_vs_direct: ratio(livez.rps, jwksDirect.rps) },
    ];
    report('oidc', rows);
    return rows;
  } finally {
    await oidc.stop();
    await w.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
