// npm run demo: against a running `npm start` stack, walks through what AgentIdP does — an organization,
// agents with did:web identities, credentials and OAuth tokens, a delegation, a federation partner backed by a
// local IdP, a webhook receiver, and a few days of analytics — then prints what to open and what to curl.

import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';

const ROOT = new URL('../', import.meta.url).pathname;
const DATA = `${ROOT}.data`;
if (!existsSync(`${DATA}/stack.json`)) {
  console.error('No running stack found: start one with `npm start` in another terminal, then run `npm run demo`.');
  process.exit(1);
}
const stack = JSON.parse(readFileSync(`${DATA}/stack.json`, 'utf8')) as { url: string; databaseUrl: string };
const BASE = process.env.AGENTIDP_URL || stack.url;
const ADMIN = process.env.ADMIN_TOKEN || JSON.parse(readFileSync(`${DATA}/local-secrets.json`, 'utf8')).ADMIN_TOKEN;

const step = (s: string) => console.log(`\n▸ ${s}`);

async function api(method: string, path: string, token: string | undefined, body?: unknown): Promise<any> {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return data;
}

try {
  await api('GET', '/livez', undefined);
} catch {
  console.error(`The stack at ${BASE} does not answer: is \`npm start\` running?`);
  process.exit(1);
}

// A local webhook receiver and a local identity provider (JWKS server) for the federation demo.
const received: Array<{ type: string; id: string }> = [];
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'demo-idp-1', alg: 'ES256', use: 'sig' };
const local = createServer((req, res) => {
  if (req.url === '/jwks.json')
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    try {
      const payload = JSON.parse(body);
      received.push({ type: payload.type, id: String(req.headers['webhook-id']) });
    } catch {
      // ignore
    }
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
const localUrl = `http://127.0.0.1:${(local.address() as { port: number }).port}`;

step('Create an organization (operator, ADMIN_TOKEN)');
const org = await api('POST', '/v1/admin/organizations', ADMIN, {
  name: `Demo Corp ${new Date().toISOString().slice(0, 16)}`,
  tier: 'pro',
});
console.log(
  `  organization ${org.organization_id}, tier ${org.tier}; API key shown once: ${org.api_key.slice(0, 18)}…`,
);
const KEY = org.api_key;

step('Subscribe a webhook receiver to agent and credential events');
const hook = await api('POST', '/v1/webhooks', KEY, {
  name: 'demo receiver',
  url: `${localUrl}/hooks`,
  events: ['agent.created', 'credential.created', 'delegation.created'],
});
console.log(`  subscription ${hook.id} → ${hook.url} (secret ${String(hook.secret).slice(0, 10)}…)`);

step('Register three agents, each with its own did:web identity and P-256 key');
const agents = [];
for (const [i, name] of ['planner', 'researcher', 'writer'].entries()) {
  agents.push(
    await api('POST', '/v1/agents', KEY, {
      email: `${name}@demo.test`,
      owner: `team-${name}`,
      agent_type: 'assistant',
      capabilities: ['search', 'summarize', 'draft'].slice(0, 3 - (i === 2 ? 1 : 0)),
      version: '1.0.0',
      deployment_env: 'demo',
    }),
  );
  console.log(`  ${name}: ${agents[i].did}`);
}

step('Issue client credentials and get OAuth access tokens (client_credentials at /oidc/token)');
const tokens: string[] = [];
for (const agent of agents) {
  const cred = await api('POST', `/v1/agents/${agent.agent_id}/credentials`, KEY, { expires_in_days: 30 });
  for (let n = 0; n < 3; n++) {
    const res = await fetch(`${BASE}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(cred.client_id)}:${encodeURIComponent(cred.client_secret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (!body.access_token) throw new Error(`token: ${res.status} ${JSON.stringify(body)}`);
    tokens.push(body.access_token);
  }
}
console.log(`  ${tokens.length} ES256 access tokens issued (verify them against ${BASE}/oidc/jwks)`);

step('Delegate from the planner to the researcher');
try {
  const d = await api('POST', '/v1/delegations', KEY, {
    delegator_id: agents[0].agent_id,
    delegatee_id: agents[1].agent_id,
    scope: 'search',
  });
  const v = await api('POST', '/v1/delegations/verify', KEY, { token: d.token, delegatee_id: agents[1].agent_id });
  console.log(`  chain ${d.chain_id}, expires ${d.expires_at}; verify → valid=${v.valid}, scope ${v.scope}`);
} catch (err) {
  console.log(`  delegation unavailable: ${(err as Error).message.slice(0, 120)}`);
}

step('Trust a partner identity provider (a local JWKS server) and verify one of its tokens');
const issuer = `${localUrl}/idp-${Date.now()}`;
await api('POST', '/v1/federation/partners', ADMIN, {
  name: 'Demo partner IdP',
  issuer,
  jwks_uri: `${localUrl}/jwks.json`,
});
const partnerToken = await new SignJWT({ organization_id: org.organization_id, scope: 'read' })
  .setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
  .setIssuer(issuer)
  .setSubject('partner-user-42')
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(privateKey);
const verified = await api('POST', '/v1/federation/verify', KEY, { token: partnerToken });
console.log(`  partner token valid=${verified.valid}, subject ${verified.subject}`);

step('Seed six earlier days of analytics so the trend and heatmap have history');
const db = new pg.Client({ connectionString: stack.databaseUrl });
await db.connect();
await db.query(
  `INSERT INTO analytics_events (organization_id, date, hour, metric_type, count)
   SELECT $1, current_date - d, h, m, 1 + ((d * 7 + h) % 5)
   FROM generate_series(1, 6) d, generate_series(8, 18, 2) h, unnest($2::text[]) m
   ON CONFLICT DO NOTHING`,
  [org.organization_id, ['token_issued', ...agents.map((a) => `agent:${a.agent_id}:token_issued`)]],
);
await db.end();
const trend = await api('GET', '/v1/analytics/tokens?days=7', KEY);
console.log(
  `  tokens per day: ${trend.series.map((p: { date: string; count: number }) => `${p.date.slice(5)}=${p.count}`).join(' ')}`,
);

step('Wait for webhook deliveries');
for (let i = 0; i < 40 && received.length < 4; i++) await new Promise((r) => setTimeout(r, 250));
console.log(
  `  receiver got ${received.length} signed deliveries: ${[...new Set(received.map((r) => r.type))].join(', ')}`,
);
local.close();

const report = await api('GET', '/v1/compliance/report', KEY);
console.log(
  `\n▸ Compliance report: ${report.overall_status} (${report.sections.map((s: { name: string; status: string }) => `${s.name}=${s.status}`).join(', ')})`,
);

const a0 = agents[0];
console.log(`
Open:
  ${BASE}/docs                                  the API reference
  ${BASE}/console                               the tenant console (paste the API key below)
  ${BASE}/agents/${a0.agent_id}/did.json
  ${BASE}/oidc/.well-known/openid-configuration

Try:
  export KEY='${KEY}'
  curl -s ${BASE}/1.0/identifiers/${encodeURIComponent(a0.did)}
  curl -s ${BASE}/agents/${a0.agent_id}/card.json
  curl -s -H "authorization: Bearer $KEY" ${BASE}/v1/agents
  curl -s -H "authorization: Bearer $KEY" ${BASE}/v1/tier
  curl -s -H "authorization: Bearer $KEY" '${BASE}/v1/analytics/tokens?days=7'
  curl -s -H "authorization: Bearer $KEY" ${BASE}/v1/analytics/agent-activity
  curl -s -H "authorization: Bearer $KEY" ${BASE}/v1/audit/verify
  curl -s -H "authorization: Bearer $KEY" ${BASE}/v1/webhooks/${hook.id}/deliveries
`);
