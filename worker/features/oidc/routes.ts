import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { COUNTED_CLIENT_HEADER, DELEGATION_RECORD_HEADER, PUBLIC_PROXY_HEADER } from '../../../shared/oidc-link.ts';
import type { AppEnv } from '../../env.ts';
import { problem } from '../../http/errors.ts';
import { TOKEN_EXCHANGE_GRANT } from '../delegations/delegation.service.ts';
import { parseDelegationRecord } from '../delegations/exchange-record.ts';
import { discoveryRoute, jwksRoute, tokenRoute } from './contract.ts';
import type { ReserveResult, TokenReservation } from './oidc-token.service.ts';

/**
 * The only node-oidc paths reachable from outside, matched exactly on the parsed path. Everything else
 * under /oidc/ is a 404 here, so no spelling of a path (`..`, `%2f`, `//`, `%2e%2e`) can reach node-oidc's
 * /internal/* endpoints through the proxy.
 */
const FORWARDED: Record<string, readonly string[]> = {
  '/oidc/.well-known/openid-configuration': ['GET', 'HEAD', 'OPTIONS'],
  '/oidc/jwks': ['GET', 'HEAD', 'OPTIONS'],
  '/oidc/token': ['POST', 'OPTIONS'],
};

/** Request headers passed on to node-oidc; the rest (cookies, client-sent X-Forwarded-*, ...) are dropped. */
const PASS_REQUEST = [
  'accept',
  'accept-language',
  'authorization',
  'content-type',
  'dpop',
  'origin',
  'user-agent',
  'access-control-request-method',
  'access-control-request-headers',
];

/** One line for the operator; the error's name and message only (never a request body or header). */
function logFailure(msg: string, err: unknown): void {
  console.error(
    JSON.stringify({ level: 'error', msg, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  );
}

function oauthError(
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error, error_description: description }), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });
}

/** RFC 6749 §2.3.1: client_id from HTTP Basic (form-urlencoded inside) or the form body. */
export function clientIdOf(authorization: string | undefined, form: URLSearchParams): string | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '')?.[1];
  if (basic) {
    try {
      const decoded = atob(basic);
      const i = decoded.indexOf(':');
      if (i > 0) return decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
    return undefined;
  }
  return form.get('client_id') ?? undefined;
}

function upstreamHeaders(c: Context<AppEnv>): Headers {
  // oidc-provider (provider.proxy = true) builds its endpoint URLs from X-Forwarded-Host/-Proto: they are set
  // here, never taken from the client — from OIDC_ISSUER when configured (endpoints then share the issuer's
  // origin whatever host name the Worker was called by), else from the request.
  const issuer = c.var.deps.config.OIDC_ISSUER;
  const url = issuer && URL.canParse(issuer) ? new URL(issuer) : new URL(c.req.url);
  const out = new Headers();
  for (const name of PASS_REQUEST) {
    const v = c.req.header(name);
    if (v !== undefined) out.set(name, v);
  }
  out.set('x-forwarded-host', url.host);
  out.set('x-forwarded-proto', url.protocol.replace(/:$/, ''));
  const ip = c.req.header('cf-connecting-ip');
  if (ip) out.set('x-forwarded-for', ip);
  out.set(PUBLIC_PROXY_HEADER, '1');
  return out;
}

function downstream(res: Response): Response {
  const headers = new Headers(res.headers);
  for (const name of ['set-cookie', DELEGATION_RECORD_HEADER]) headers.delete(name);
  return new Response(res.body, { status: res.status, headers });
}

async function forward(c: Context<AppEnv>, body?: ArrayBuffer, counted?: TokenReservation): Promise<Response> {
  const link = c.var.services.nodeOidc;
  if (!link)
    return problem('oidc_unavailable', 'The token service is not configured (OIDC_ORIGIN or the NODE_OIDC container)');
  // The allow-listed path itself (c.req.path matched it exactly), never the raw one the client spelled.
  const { search } = new URL(c.req.url);
  const headers = upstreamHeaders(c);
  if (counted) headers.set(COUNTED_CLIENT_HEADER, counted.agentId);
  return link.forward(`${c.req.path}${search}`, { method: c.req.method, headers, body });
}

/** oidc-provider's answer to a client it cannot authenticate, challenge included (RFC 6749 §5.2). */
function invalidClient(c: Context<AppEnv>): Response {
  const issuer = c.var.deps.config.OIDC_ISSUER ?? `${new URL(c.req.url).origin}/oidc`;
  const description = 'client authentication failed';
  const challenge: Record<string, string> =
    c.req.header('authorization') === undefined
      ? {}
      : { 'www-authenticate': `Basic realm="${issuer}", error="invalid_client", error_description="${description}"` };
  return oauthError(401, 'invalid_client', description, challenge);
}

const unavailable = () =>
  oauthError(503, 'temporarily_unavailable', 'The token service is temporarily unavailable', { 'retry-after': '1' });

/**
 * /oidc/*: discovery, JWKS and the token endpoint of node-oidc, forwarded. A token request reaches node-oidc
 * only once one token is reserved on the daily counter of the agent it names (canonical id, active agent;
 * otherwise `invalid_client` here), and node-oidc authenticates no other client for it
 * (COUNTED_CLIENT_HEADER). Past the limit: 429 with an OAuth error body and Retry-After. A token exchange's
 * chain is recorded with its audit event before the token is handed out. The token is then recorded in
 * analytics, or the reservation given back when none was issued.
 */
export function oidcRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const route of [discoveryRoute, jwksRoute, tokenRoute]) app.openAPIRegistry.registerPath(route);

  app.all('/oidc/*', async (c) => {
    const allowed = FORWARDED[c.req.path];
    if (!allowed) return problem('not_found', `No route for ${c.req.method} ${c.req.path}`);
    if (!allowed.includes(c.req.method)) return problem('method_not_allowed', `${c.req.method} is not allowed here`);

    if (c.req.path !== '/oidc/token' || c.req.method !== 'POST') {
      try {
        return downstream(await forward(c));
      } catch (err) {
        logFailure('node-oidc unreachable', err);
        return problem('oidc_unavailable', 'The token service is unavailable');
      }
    }

    const body = await c.req.arrayBuffer();
    const form = new URLSearchParams(new TextDecoder().decode(body));
    // Token exchange (delegation) is refused outright when A2A is off, whatever node-oidc runs with.
    const exchange = form.get('grant_type') === TOKEN_EXCHANGE_GRANT;
    if (exchange && !c.var.deps.config.A2A_ENABLED) {
      return oauthError(400, 'unsupported_grant_type', 'Token exchange (agent-to-agent delegation) is disabled');
    }
    const clientId = clientIdOf(c.req.header('authorization'), form);
    const tokens = c.var.services.oidcTokens;
    let reserved: ReserveResult;
    try {
      reserved = clientId ? await tokens.reserve(clientId) : { kind: 'unknown_client' };
    } catch (err) {
      logFailure('token reservation failed', err);
      return unavailable();
    }
    if (reserved.kind === 'unknown_client') return invalidClient(c);
    if (reserved.kind === 'limited') {
      return oauthError(
        429,
        'rate_limited',
        `The organization's daily token limit (${reserved.limit}) is reached; it resets at ${reserved.resetAt}`,
        { 'retry-after': String(reserved.retryAfterSeconds) },
      );
    }
    const reservation = reserved.reservation;
    let res: Response;
    try {
      res = await forward(c, body, reservation);
    } catch (err) {
      logFailure('node-oidc unreachable', err);
      tokens.notIssued(reservation);
      return unavailable();
    }
    if (exchange && res.status === 200) {
      // node-oidc signed the delegation token but wrote nothing: the chain row, its audit event and its
      // webhook outbox row commit here together, or the token is withheld (without its row it is worthless).
      try {
        const record = parseDelegationRecord(res.headers.get(DELEGATION_RECORD_HEADER));
        const refusal = await c.var.services.delegations.recordExchange(record, reservation);
        if (refusal) {
          await res.body?.cancel();
          tokens.notIssued(reservation);
          return oauthError(400, refusal.error, refusal.description);
        }
      } catch (err) {
        logFailure('recording the token exchange failed', err);
        await res.body?.cancel();
        tokens.notIssued(reservation);
        return unavailable();
      }
    }
    if (res.status === 200) tokens.issued(reservation);
    else tokens.notIssued(reservation);
    return downstream(res);
  });
}
