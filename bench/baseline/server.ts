// Baseline for the benchmarks: the specification's Node implementation approach (seed/05-services-phase3-6.md)
// — plain `node:http`, a `pg` Pool, node-redis, `jsonwebtoken` + `crypto.createPublicKey` — serving the same
// routes as the Worker against the same Postgres and Redis. A baseline, not a product: no validation beyond
// what the spec's services do, errors are bare problem+json.
//
//   GET  /livez                         trivial route (no dependency)
//   GET  /agents/:id/did.json           DIDService.buildAgentDIDDocument: Redis `did:doc:<id>`, else agents +
//                                       agent_did_keys from Postgres, cached for DID_DOCUMENT_CACHE_TTL_SECONDS
//   GET  /v1/agents                     newest 50 agents of the tenant (the limiter benchmark's route)
//   POST /v1/federation/verify          FederationService.verifyFederatedToken: decode, partner by iss (Postgres),
//                                       JWKS from Redis `federation:jwks:<issuer>` (else fetched), key by kid,
//                                       JWK → PEM, jsonwebtoken.verify (RS256/ES256), organization rule
// /v1/* passes the spec's tenant gate: API key row from Postgres (per request, as the spec's middleware), the
// SHA-256 compared in constant time, then the daily call counter `rate:tier:calls:<org>:<date>` (Redis INCR,
// EXPIREAT next UTC midnight) against the tier's limit — unless BASELINE_LIMITER=false.
//
// Run as a child process (startBaseline) so that it does not share the load generator's event loop.
// Env: DATABASE_URL (required), REDIS_URL (optional: no caching and no counter without it), DID_WEB_DOMAIN,
// BASELINE_KEY_PREFIX (prefix of its Redis keys, so that it never reads or overwrites the Worker's entries),
// BASELINE_LIMITER (default true), PORT (default 0). Prints `listening <port>` on stdout when ready.

import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { createClient } from 'redis';

const DID_TTL_SECONDS = 300;
const JWKS_TTL_SECONDS = 3600;
type Jwk = { kid?: string; kty: string } & Record<string, unknown>;
const CALL_LIMITS: Record<string, number | null> = { free: 10_000, pro: 1_000_000, enterprise: null };

const env = process.env;
const domain = env.DID_WEB_DOMAIN ?? 'bench.test';
const prefix = env.BASELINE_KEY_PREFIX ?? 'baseline:';
const limiter = env.BASELINE_LIMITER !== 'false';
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 });
const redis = env.REDIS_URL ? createClient({ url: env.REDIS_URL }) : undefined;
redis?.on('error', (err) => console.error('redis:', err.message));
await redis?.connect();

class HttpError extends Error {
  status: number;
  constructor(status: number, detail: string) {
    super(detail);
    this.status = status;
  }
}

const send = (res: http.ServerResponse, status: number, body: unknown, type = 'application/json') => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) }).end(text);
};

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (data += d));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

/** The spec's tenant middleware: API key row per request, hash compare, then the Redis daily call counter. */
async function tenant(req: http.IncomingMessage): Promise<string> {
  const key = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  const keyId = key ? /^aidp_([A-Za-z0-9_-]{12})_[A-Za-z0-9_-]{43}$/.exec(key)?.[1] : undefined;
  if (!key || !keyId) throw new HttpError(401, 'Missing or malformed API key');
  const { rows } = await pool.query<{ organization_id: string; key_hash: string; tier: string }>(
    `SELECT k.organization_id, k.key_hash, o.tier FROM api_keys k JOIN organizations o USING (organization_id)
     WHERE k.key_id = $1 AND k.revoked_at IS NULL`,
    [keyId],
  );
  const row = rows[0];
  const presented = Buffer.from(createHash('sha256').update(key).digest('hex'));
  const stored = Buffer.from(row?.key_hash ?? '');
  if (!row || stored.length !== presented.length || !timingSafeEqual(stored, presented))
    throw new HttpError(401, 'Invalid API key');
  if (limiter && redis) {
    const day = new Date().toISOString().slice(0, 10);
    const counter = `${prefix}rate:tier:calls:${row.organization_id}:${day}`;
    const calls = await redis.incr(counter);
    if (calls === 1) await redis.expireAt(counter, Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000) + 86_400);
    const limit = CALL_LIMITS[row.tier] ?? null;
    if (limit !== null && calls > limit) throw new HttpError(429, 'Daily API call limit reached');
  }
  return row.organization_id;
}

async function didDocument(agentId: string): Promise<unknown> {
  const cacheKey = `${prefix}did:doc:${agentId}`;
  const cached = await redis?.get(cacheKey);
  if (cached) return JSON.parse(cached);
  const { rows } = await pool.query<{ status: string; keys: Array<{ kid: string; jwk: { x: string; y: string } }> }>(
    `SELECT a.status,
            COALESCE((SELECT jsonb_agg(jsonb_build_object('kid', k.kid, 'jwk', k.public_key_jwk) ORDER BY k.created_at, k.kid)
                      FROM agent_did_keys k WHERE k.agent_id = a.agent_id), '[]'::jsonb) AS keys
     FROM agents a WHERE a.agent_id = $1 AND a.did IS NOT NULL`,
    [agentId],
  );
  const row = rows[0];
  if (!row) throw new HttpError(404, 'DID document not found');
  const did = `did:web:${domain}:agents:${agentId}`;
  const context = ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/suites/jws-2020/v1'];
  if (row.status === 'decommissioned') {
    return {
      '@context': context,
      id: did,
      verificationMethod: [],
      authentication: [],
      assertionMethod: [],
      service: [{ id: `${did}#status`, type: 'AgentStatus', serviceEndpoint: 'decommissioned' }],
    };
  }
  const methods = row.keys.map((k) => ({
    id: `${did}#${k.kid}`,
    type: 'JsonWebKey2020',
    controller: did,
    publicKeyJwk: { kty: 'EC', crv: 'P-256', x: k.jwk.x, y: k.jwk.y },
  }));
  const ids = methods.map((m) => m.id);
  const doc = {
    '@context': context,
    id: did,
    verificationMethod: methods,
    authentication: ids,
    assertionMethod: [...ids],
    service: [
      {
        id: `${did}#agent-card`,
        type: 'AgentCard',
        serviceEndpoint: `https://${domain.replace(/%3A/i, ':')}/agents/${agentId}/card.json`,
      },
    ],
  };
  await redis?.set(cacheKey, JSON.stringify(doc), { EX: DID_TTL_SECONDS });
  return doc;
}

interface PartnerRow {
  issuer: string;
  jwks_uri: string;
  allowed_organizations: string[];
  organization_claim: string;
  status: string;
  expires_at: Date | null;
}

async function partnerKeys(partner: PartnerRow): Promise<Jwk[]> {
  const cacheKey = `${prefix}federation:jwks:${partner.issuer}`;
  const cached = await redis?.get(cacheKey);
  if (cached) return JSON.parse(cached) as Jwk[];
  const res = await fetch(partner.jwks_uri, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new HttpError(401, 'JWKS unavailable');
  const keys = ((await res.json()) as { keys?: Jwk[] }).keys ?? [];
  await redis?.set(cacheKey, JSON.stringify(keys), { EX: JWKS_TTL_SECONDS });
  return keys;
}

async function verifyFederated(token: string, organizationId: string) {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload !== 'object') throw new HttpError(401, 'Malformed token');
  const { header, payload } = decoded;
  if (header.alg === 'none') throw new HttpError(401, 'alg none');
  const { rows } = await pool.query<PartnerRow>(
    `SELECT issuer, jwks_uri, allowed_organizations, organization_claim, status, expires_at FROM federation_partners WHERE issuer = $1`,
    [payload.iss],
  );
  const partner = rows[0];
  if (!partner) throw new HttpError(401, 'Unknown issuer');
  if (partner.status !== 'active' || (partner.expires_at && partner.expires_at.getTime() <= Date.now())) {
    throw new HttpError(401, 'Partner not active');
  }
  const jwk = (await partnerKeys(partner)).find((k) => k.kid === header.kid);
  if (!jwk) throw new HttpError(401, 'Unknown key');
  const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  let claims: jwt.JwtPayload;
  try {
    claims = jwt.verify(token, pem, { algorithms: ['RS256', 'ES256'], clockTolerance: 60 }) as jwt.JwtPayload;
  } catch (err) {
    throw new HttpError(401, (err as Error).message);
  }
  const org = String(claims[partner.organization_claim] ?? '').toLowerCase();
  if (
    org !== organizationId ||
    (partner.allowed_organizations.length > 0 && !partner.allowed_organizations.includes(org))
  ) {
    throw new HttpError(401, 'Organization not allowed');
  }
  return { valid: true, issuer: partner.issuer, subject: claims.sub ?? null, organization_id: org, claims };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (req.method === 'GET' && path === '/livez') return send(res, 200, { status: 'ok' });
  const did = /^\/agents\/([0-9a-f-]{36})\/did\.json$/.exec(path);
  if (req.method === 'GET' && did) return send(res, 200, await didDocument(did[1]!), 'application/did+json');
  if (path.startsWith('/v1/')) {
    const org = await tenant(req);
    if (req.method === 'GET' && path === '/v1/agents') {
      const { rows } = await pool.query(
        `SELECT agent_id, organization_id, email, owner, agent_type, capabilities, endpoint, version, deployment_env,
                status, did, did_created_at, created_at, updated_at
         FROM agents WHERE organization_id = $1 ORDER BY created_at DESC, agent_id DESC LIMIT 51`,
        [org],
      );
      return send(res, 200, { data: rows.slice(0, 50), next_cursor: null });
    }
    if (req.method === 'POST' && path === '/v1/federation/verify') {
      const body = JSON.parse(await readBody(req)) as { token?: unknown };
      if (typeof body.token !== 'string') throw new HttpError(400, 'token is required');
      return send(res, 200, await verifyFederated(body.token, org));
    }
  }
  throw new HttpError(404, 'Not found');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    const status = err instanceof HttpError ? err.status : 500;
    if (status === 500) console.error(err);
    send(res, status, { type: 'about:blank', status, detail: (err as Error).message }, 'application/problem+json');
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});

const shutdown = () => {
  server.close();
  server.closeAllConnections();
  void Promise.allSettled([pool.end(), redis?.quit()]).then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
