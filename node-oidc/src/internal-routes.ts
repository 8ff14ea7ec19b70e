// Endpoints only the Worker may call (`Authorization: Bearer <INTERNAL_TOKEN>`), under /internal/. They are
// never reachable through the Worker's public /oidc/* proxy: the Worker forwards only an allow-list of
// provider paths, server.ts routes /oidc/* and /internal/* apart on the raw path, and a request carrying
// the header the public proxy adds (PUBLIC_PROXY_HEADER) is refused here as well.
//
// Contract (JSON bodies; errors are problem+json with a stable `code`):
//   GET  /internal/health                      200 { status, database, vault } | 503
//   POST /internal/keys/store                  { kid, owner, private_jwk }            → 201 { path }
//   POST /internal/keys/sign                   { path, alg: "ES256", data: b64url }   → 200 { signature: b64url r‖s }
//   POST /internal/keys/delete                 { path }                               → 204 (also when absent)
//   POST /internal/webhook-secrets/store       { organization_id, subscription_id, secret } → 201 { path, version }
//   POST /internal/webhook-secrets/read        { path, version? }                     → 200 { secret, version }
//   POST /internal/webhook-secrets/delete      { path }                               → 204 (every version)
//   POST /internal/delegations/sign            { chain_id, organization_id, delegator_id, delegatee_id, scope,
//                                                expires_in? } → 200 { token, jti, expires_at, expires_in }
//                                                (a first-hop delegation token; the Worker writes the chain row)
// 401 `unauthorized` on a missing or wrong token; 404 `key_not_found` / `secret_not_found`; 503
// `vault_not_configured` without VAULT_ADDR, `vault_unavailable` when Vault fails; delegations/sign is 404
// when A2A is disabled.
import { createHash, createPrivateKey, type KeyObject, sign, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { PUBLIC_PROXY_HEADER } from '../../shared/oidc-link.ts';
import type { DelegationIssuer } from './delegation.ts';
import { type VaultClient, VaultError } from './vault.ts';

const MAX_BODY = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KID = /^[A-Za-z0-9_-]{43}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, detail: string) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

export interface InternalDeps {
  internalToken: string;
  pool: pg.Pool;
  vault?: VaultClient;
  delegations?: DelegationIssuer;
  log: (entry: Record<string, unknown>) => void;
}

type Body = Record<string, unknown>;
type Handler = (body: Body, deps: InternalDeps) => Promise<{ status: number; body?: unknown }>;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant time in the token's length too: both sides are hashed to 32 bytes before comparing. */
function authorized(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(token));
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { 'cache-control': 'no-store' }).end();
    return;
  }
  const problem = status >= 400;
  res
    .writeHead(status, {
      'content-type': problem ? 'application/problem+json' : 'application/json',
      'cache-control': 'no-store',
    })
    .end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'payload_too_large', 'body exceeds 64 KiB');
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Body;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'validation_failed', 'body must be a JSON object');
}

function field(body: Body, name: string, re?: RegExp): string {
  const v = body[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096 || (re && !re.test(v))) {
    throw new HttpError(400, 'validation_failed', `${name} is missing or invalid`);
  }
  return v;
}

function needVault(deps: InternalDeps): VaultClient {
  if (!deps.vault) throw new HttpError(503, 'vault_not_configured', 'VAULT_ADDR is not set on node-oidc');
  return deps.vault;
}

/** Vault path of a DID private key, from its owner (`agent:<uuid>` or `instance:did`) and kid. */
function keyPath(owner: string, kid: string): string {
  if (owner === 'instance:did') return `agentidp/instance/did-key/${kid}`;
  const agentId = /^agent:(.+)$/.exec(owner)?.[1];
  if (!agentId || !UUID.test(agentId))
    throw new HttpError(400, 'validation_failed', 'owner must be agent:<uuid> or instance:did');
  return `agentidp/agents/${agentId}/did-key/${kid}`;
}

const KEY_PATH = /^agentidp\/(agents\/[0-9a-f-]{36}|instance)\/did-key\/[A-Za-z0-9_-]{43}$/;
const SECRET_PATH = /^agentidp\/webhooks\/[0-9a-f-]{36}\/[0-9a-f-]{36}\/secret$/;

function p256PrivateKey(jwk: unknown): KeyObject {
  const { kty, crv, x, y, d } = (jwk ?? {}) as Record<string, unknown>;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string' || typeof d !== 'string') {
    throw new HttpError(400, 'validation_failed', 'private_jwk must be an EC P-256 private JWK');
  }
  try {
    return createPrivateKey({ key: { kty, crv, x, y, d }, format: 'jwk' });
  } catch {
    throw new HttpError(400, 'validation_failed', 'private_jwk is not a valid P-256 key');
  }
}

const routes: Record<string, Handler> = {
  'POST /internal/keys/store': async (body, deps) => {
    const vault = needVault(deps);
    const kid = field(body, 'kid', KID);
    const path = keyPath(field(body, 'owner'), kid);
    p256PrivateKey(body.private_jwk);
    const { kty, crv, x, y, d } = body.private_jwk as Record<string, string>;
    await vault.write(path, { private_jwk: { kty, crv, x, y, d }, kid });
    return { status: 201, body: { path } };
  },

  'POST /internal/keys/sign': async (body, deps) => {
    const vault = needVault(deps);
    const path = field(body, 'path', KEY_PATH);
    if (body.alg !== 'ES256') throw new HttpError(400, 'validation_failed', 'alg must be ES256');
    const data = Buffer.from(field(body, 'data', B64URL), 'base64url');
    const secret = await vault.read<{ private_jwk?: unknown }>(path);
    if (!secret?.data.private_jwk) throw new HttpError(404, 'key_not_found', 'no key at this path');
    const key = p256PrivateKey(secret.data.private_jwk);
    // ieee-p1363: the raw 64-byte r‖s that JWS ES256 uses, not DER.
    const signature = sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    return { status: 200, body: { signature: signature.toString('base64url') } };
  },

  'POST /internal/keys/delete': async (body, deps) => {
    await needVault(deps).remove(field(body, 'path', KEY_PATH));
    return { status: 204 };
  },

  'POST /internal/webhook-secrets/store': async (body, deps) => {
    const vault = needVault(deps);
    const org = field(body, 'organization_id', UUID);
    const sub = field(body, 'subscription_id', UUID);
    const secret = field(body, 'secret');
    const path = `agentidp/webhooks/${org}/${sub}/secret`;
    // Each rotation is a new KV version of the same path; the Worker keeps the version it needs.
    const version = await vault.write(path, { secret });
    return { status: 201, body: { path, version } };
  },

  'POST /internal/webhook-secrets/read': async (body, deps) => {
    const vault = needVault(deps);
    const path = field(body, 'path', SECRET_PATH);
    const version = body.version === undefined ? undefined : Number(body.version);
    if (version !== undefined && !(Number.isInteger(version) && version >= 1)) {
      throw new HttpError(400, 'validation_failed', 'version must be an integer ≥ 1');
    }
    const found = await vault.read<{ secret?: unknown }>(path, version);
    if (typeof found?.data.secret !== 'string')
      throw new HttpError(404, 'secret_not_found', 'no secret at this path and version');
    return { status: 200, body: { secret: found.data.secret, version: found.version } };
  },

  'POST /internal/webhook-secrets/delete': async (body, deps) => {
    await needVault(deps).remove(field(body, 'path', SECRET_PATH));
    return { status: 204 };
  },

  // Signs only the fixed delegation claim set (never arbitrary claims), so INTERNAL_TOKEN cannot mint access tokens.
  'POST /internal/delegations/sign': async (body, deps) => {
    const issuer = deps.delegations;
    if (!issuer) throw new HttpError(404, 'not_found', 'delegation is disabled (A2A_ENABLED=false)');
    const delegatorId = field(body, 'delegator_id', UUID);
    const delegateeId = field(body, 'delegatee_id', UUID);
    const scope = field(body, 'scope', /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/);
    let ttlSeconds: number;
    try {
      ttlSeconds = issuer.ttl(body.expires_in);
    } catch {
      throw new HttpError(400, 'validation_failed', 'expires_in must be a whole number of seconds ≥ 1');
    }
    const issued = await issuer.issue({
      chainId: field(body, 'chain_id', UUID),
      organizationId: field(body, 'organization_id', UUID),
      subjectId: delegatorId,
      delegatorId,
      act: { sub: delegateeId },
      scope,
      ttlSeconds,
    });
    return {
      status: 200,
      body: {
        token: issued.token,
        jti: issued.jti,
        expires_at: issued.expiresAt.toISOString(),
        expires_in: issued.expiresIn,
      },
    };
  },
};

async function health(deps: InternalDeps): Promise<{ status: number; body: unknown }> {
  const database = await deps.pool.query('SELECT 1').then(
    () => 'ok',
    () => 'error',
  );
  const vault = deps.vault ? ((await deps.vault.healthy()) ? 'ok' : 'error') : 'disabled';
  const ok = database === 'ok' && vault !== 'error';
  return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'error', database, vault } };
}

/** Serves /internal/* (the caller routed on the raw path). Never throws; logs no body, key or secret. */
export async function handleInternal(req: IncomingMessage, res: ServerResponse, deps: InternalDeps): Promise<void> {
  const path = (req.url ?? '').split('?')[0]!;
  try {
    if (req.headers[PUBLIC_PROXY_HEADER] !== undefined) throw new HttpError(404, 'not_found', 'not found');
    if (!authorized(req.headers.authorization, deps.internalToken)) {
      throw new HttpError(401, 'unauthorized', 'a valid internal token is required');
    }
    if (req.method === 'GET' && path === '/internal/health') {
      const { status, body } = await health(deps);
      return send(res, status, body);
    }
    const handler = routes[`${req.method} ${path}`];
    if (!handler) throw new HttpError(404, 'not_found', 'not found');
    const { status, body } = await handler(await readJson(req), deps);
    send(res, status, body);
  } catch (err) {
    if (err instanceof HttpError) {
      send(res, err.status, { status: err.status, code: err.code, detail: err.message });
    } else if (err instanceof VaultError) {
      deps.log({ level: 'error', msg: 'vault error', route: path, status: err.status, error: err.message });
      send(res, 503, { status: 503, code: 'vault_unavailable', detail: 'vault is unavailable' });
    } else if (err instanceof TypeError && err.message === 'invalid vault path') {
      send(res, 400, { status: 400, code: 'validation_failed', detail: 'invalid path' });
    } else {
      deps.log({ level: 'error', msg: 'internal route failed', route: path, error: (err as Error).name });
      send(res, 500, { status: 500, code: 'internal_error', detail: 'internal error' });
    }
  }
}
