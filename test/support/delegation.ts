// Helpers for the delegation tests (inside workerd): RFC 8693 token exchange through openid-client, and
// independent checks of delegation tokens with jose against the JWKS the Worker publishes.

import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { agentWithCredential, clientCredentials, discover, ISSUER } from './oidc.ts';
import { call, json, type Org } from './worker.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

type FetchRequest = (req: Request) => Promise<Response>;

export interface Agent {
  agentId: string;
  secret: string;
}

/** An agent with a credential and the given capabilities. */
export async function agent(org: Org, capabilities: string[] = ['search', 'summarize', 'write']): Promise<Agent> {
  const n = Math.floor(Math.random() * 1e9);
  return agentWithCredential(org, {
    email: `a${n}@example.com`,
    owner: `team-${n}`,
    agent_type: 'assistant',
    capabilities,
  });
}

/** The agent's own access token (client_credentials). */
export async function accessToken(a: Agent): Promise<string> {
  return (await clientCredentials(a.agentId, a.secret)).access_token;
}

/** The token exchange grant through openid-client, authenticated as `as`. */
export async function exchange(
  as: Agent,
  params: {
    subject_token: string;
    subject_token_type?: string;
    audience?: string;
    actor?: string;
    scope?: string;
    expires_in?: string;
  },
  via?: FetchRequest,
) {
  const config = await discover(as.agentId, as.secret, via);
  const body: Record<string, string> = { subject_token_type: params.subject_token_type ?? ACCESS_TOKEN_TYPE };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) body[k] = v;
  return client.genericGrantRequest(config, TOKEN_EXCHANGE, body);
}

/** The OAuth error an openid-client call rejected with (a 401 with a challenge is another error class). */
export async function oauthError(
  p: Promise<unknown>,
): Promise<{ error: string; status: number; description?: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof client.ResponseBodyError)
      return { error: err.error, status: err.status, description: err.error_description };
    if (err instanceof client.WWWAuthenticateChallengeError) {
      const body = (await err.response.json()) as { error: string; error_description?: string };
      return { error: body.error, status: err.status, description: body.error_description };
    }
    throw err;
  }
  throw new Error('expected an OAuth error');
}

/** Verifies a delegation token independently: jose against /oidc/jwks, ES256, this issuer, typ JWT. */
export async function verifyDelegationToken(token: string): Promise<JWTPayload> {
  const jwks = await json((await call('GET', '/oidc/jwks')) as Response);
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: ISSUER,
    algorithms: ['ES256'],
    typ: 'JWT',
  });
  return payload;
}

/** POST /v1/delegations/verify with `org`'s key. */
export function verifyCall(org: Org, token: string, delegateeId: string) {
  return call('POST', '/v1/delegations/verify', { token: org.api_key, body: { token, delegatee_id: delegateeId } });
}
