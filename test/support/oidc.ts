// Helpers for the /oidc tests (inside workerd): a real OAuth client (openid-client) and jose, both talking
// to the Worker under test through its default export.

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { createApp } from '../../worker/app.ts';
import type { Clock } from '../../worker/platform/clock.ts';
import { bindings } from './clocked-app.ts';
import { BASE, call, createAgent, json, type Org } from './worker.ts';

export const ISSUER = `${BASE}/oidc`;

type FetchRequest = (req: Request) => Promise<Response>;

/** openid-client's customFetch over a Request-level fetch (by default the Worker's; no network, no TLS). */
export const customFetchVia =
  (via: FetchRequest = (req) => exports.default.fetch(req)): client.CustomFetch =>
  (url, options) =>
    via(new Request(url, options as RequestInit));

/** Discovery through the Worker, then a client configured for HTTP Basic with the agent's secret. */
export function discover(agentId: string, secret: string, via?: FetchRequest): Promise<client.Configuration> {
  return client.discovery(new URL(ISSUER), agentId, secret, client.ClientSecretBasic(secret), {
    [client.customFetch]: customFetchVia(via),
  });
}

/** The client-credentials grant through openid-client. */
export async function clientCredentials(agentId: string, secret: string, scope?: string, via?: FetchRequest) {
  const config = await discover(agentId, secret, via);
  return client.clientCredentialsGrant(config, scope === undefined ? {} : { scope });
}

/** Verifies an access token against the JWKS the Worker publishes (ES256 only, this issuer). */
export async function verifyAccessToken(
  token: string,
): Promise<{ payload: JWTPayload; header: Record<string, unknown> }> {
  const jwks = await json((await call('GET', '/oidc/jwks')) as Response);
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: ISSUER,
    algorithms: ['ES256'],
    typ: 'at+jwt',
  });
  return { payload, header: protectedHeader as Record<string, unknown> };
}

/** An agent of `org` with one credential; returns its id and client secret. */
export async function agentWithCredential(
  org: Org,
  input?: Record<string, unknown>,
): Promise<{ agentId: string; secret: string; credentialId: string }> {
  const agent = await createAgent(org, input);
  const cred = await newCredential(org, agent.agent_id);
  return { agentId: agent.agent_id, secret: cred.client_secret, credentialId: cred.credential_id };
}

export async function newCredential(org: Org, agentId: string, body: Record<string, unknown> = {}) {
  const res = await call('POST', `/v1/agents/${agentId}/credentials`, { token: org.api_key, body });
  if (res.status !== 201) throw new Error(`credential: ${res.status} ${await res.text()}`);
  return json<{ credential_id: string; client_secret: string; client_id: string }>(res);
}

/** A raw token request (form body, HTTP Basic), for the cases a client library would refuse to send. */
export function tokenRequest(
  agentId: string,
  secret: string,
  form: Record<string, string> = { grant_type: 'client_credentials' },
) {
  return tokenRequestVia((req) => exports.default.fetch(req), agentId, secret, form);
}

/**
 * A Worker app called in-process with the test bindings (plus `envOverrides`) and an optional clock. Each
 * request gets its own ExecutionContext and resolves only once the work it handed to waitUntil (analytics,
 * refunds) has settled, so tests assert on it without waiting.
 */
export function inProcessWorker(opts: { clock?: Clock; env?: Record<string, unknown> } = {}) {
  const app = createApp({ clock: opts.clock });
  const appEnv = { ...bindings, ...opts.env };
  return async function fetchInProcess(req: Request): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await app.fetch(req, appEnv, ctx);
    // Read the body before waiting: the handler's waitUntil work may depend on the response being done.
    const body = await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

/** Like tokenRequest, against a given fetch (e.g. an in-process Worker). */
export function tokenRequestVia(
  fetchFn: FetchRequest,
  agentId: string,
  secret: string,
  form: Record<string, string> = { grant_type: 'client_credentials' },
) {
  return fetchFn(
    new Request(`${ISSUER}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${btoa(`${encodeURIComponent(agentId)}:${encodeURIComponent(secret)}`)}`,
      },
      body: new URLSearchParams(form).toString(),
    }),
  );
}
