import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { sql } from '../../support/db.ts';
import {
  agentWithCredential,
  clientCredentials,
  customFetchVia,
  discover,
  ISSUER,
  newCredential,
  tokenRequest,
  verifyAccessToken,
} from '../../support/oidc.ts';
import { agentInput, call, createOrg, json } from '../../support/worker.ts';

/**
 * The OAuth error openid-client rejects with: ResponseBodyError, or (for a 401 with a WWW-Authenticate
 * challenge, as invalid_client is) WWWAuthenticateChallengeError, whose response still holds the body.
 */
async function oauthErrorOf(p: Promise<unknown>): Promise<{ error: string; status: number }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof client.ResponseBodyError) return { error: err.error, status: err.status };
    if (err instanceof client.WWWAuthenticateChallengeError) {
      const body = await json<{ error: string }>(err.response);
      return { error: body.error, status: err.status };
    }
    throw err;
  }
  throw new Error('expected an OAuth error');
}

describe('discovery and JWKS through the Worker', () => {
  it('advertises the public issuer, the token endpoint and client_credentials', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const config = await discover(agentId, secret);
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(ISSUER);
    expect(meta.token_endpoint).toBe(`${ISSUER}/token`);
    expect(meta.jwks_uri).toBe(`${ISSUER}/jwks`);
    expect(meta.grant_types_supported).toEqual([
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
    expect(meta.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
  });

  it('publishes public signing keys only, ES256 first', async () => {
    const res = await call('GET', '/oidc/jwks');
    expect(res.status).toBe(200);
    const { keys } = await json<{ keys: Array<Record<string, string>> }>(res);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(keys.some((k) => k.alg === 'RS256')).toBe(true);
    for (const k of keys) for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k).not.toHaveProperty(priv);
  });
});

describe('client_credentials for agents', () => {
  it('issues an ES256 JWT access token verifiable against the published JWKS', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org, {
      ...agentInput(1),
      capabilities: ['search', 'summarize'],
    });
    const tokens = await clientCredentials(agentId, secret);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBe(600);

    const { payload, header } = await verifyAccessToken(tokens.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(payload.sub).toBe(agentId);
    expect(payload.client_id).toBe(agentId);
    expect(payload.organization_id).toBe(org.organization_id);
    expect(payload.aud).toBe('https://idp.test');
    expect(payload.scope).toBe('search summarize');
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('grants the requested subset of the agent capabilities and drops the rest', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org, {
      ...agentInput(2),
      capabilities: ['search', 'summarize', 'with space'],
    });
    const tokens = await clientCredentials(agentId, secret, 'search admin');
    expect(tokens.scope).toBe('search');
    expect((await verifyAccessToken(tokens.access_token)).payload.scope).toBe('search');
  });

  it('accepts client_secret_post as well', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const config = await discover(agentId, secret);
    const post = new client.Configuration(config.serverMetadata(), agentId, secret, client.ClientSecretPost(secret));
    post[client.customFetch] = customFetchVia();
    const tokens = await client.clientCredentialsGrant(post);
    expect((await verifyAccessToken(tokens.access_token)).payload.sub).toBe(agentId);
  });

  it('accepts each of two active credentials (rotation)', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const second = await newCredential(org, agentId);
    expect(second.client_secret).not.toBe(secret);
    for (const s of [secret, second.client_secret]) {
      const tokens = await clientCredentials(agentId, s);
      expect((await verifyAccessToken(tokens.access_token)).payload.sub).toBe(agentId);
    }
  });

  it('refuses a wrong secret with invalid_client', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    expect(await oauthErrorOf(clientCredentials(agentId, `${secret}x`))).toEqual({
      error: 'invalid_client',
      status: 401,
    });
  });

  it('refuses a revoked credential with invalid_client, while another one still works', async () => {
    const org = await createOrg();
    const { agentId, secret, credentialId } = await agentWithCredential(org);
    const other = await newCredential(org, agentId);
    expect((await clientCredentials(agentId, secret)).access_token).toBeTruthy();
    const del = await call('DELETE', `/v1/agents/${agentId}/credentials/${credentialId}`, { token: org.api_key });
    expect(del.status).toBe(204);
    expect(await oauthErrorOf(clientCredentials(agentId, secret))).toEqual({ error: 'invalid_client', status: 401 });
    expect((await clientCredentials(agentId, other.client_secret)).access_token).toBeTruthy();
  });

  it('refuses an expired credential with invalid_client', async () => {
    const org = await createOrg();
    const { agentId, secret, credentialId } = await agentWithCredential(org);
    expect((await clientCredentials(agentId, secret)).access_token).toBeTruthy();
    await sql(`UPDATE credentials SET expires_at = now() - interval '1 second' WHERE credential_id = $1`, [
      credentialId,
    ]);
    expect(await oauthErrorOf(clientCredentials(agentId, secret))).toEqual({ error: 'invalid_client', status: 401 });
  });

  it('refuses a decommissioned agent with invalid_client', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    expect((await clientCredentials(agentId, secret)).access_token).toBeTruthy();
    expect((await call('DELETE', `/v1/agents/${agentId}`, { token: org.api_key })).status).toBe(200);
    expect(await oauthErrorOf(clientCredentials(agentId, secret))).toEqual({ error: 'invalid_client', status: 401 });
  });

  it('refuses a suspended agent with invalid_client', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    await sql(`UPDATE agents SET status = 'suspended' WHERE agent_id = $1`, [agentId]);
    expect(await oauthErrorOf(clientCredentials(agentId, secret))).toEqual({ error: 'invalid_client', status: 401 });
  });

  it('refuses unknown and malformed client ids with invalid_client', async () => {
    for (const id of [crypto.randomUUID(), 'not-a-uuid', "x' OR '1'='1"]) {
      const res = await tokenRequest(id, 'aidp_cs_whatever');
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('issues for the platform audience only (resource indicator)', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const ok = await tokenRequest(agentId, secret, { grant_type: 'client_credentials', resource: 'https://idp.test' });
    expect(ok.status).toBe(200);
    expect((await verifyAccessToken((await json(ok)).access_token)).payload.aud).toBe('https://idp.test');
    const other = await tokenRequest(agentId, secret, {
      grant_type: 'client_credentials',
      resource: 'https://elsewhere.example',
    });
    expect(other.status).toBe(400);
    expect((await json(other)).error).toBe('invalid_target');
  });

  it('refuses grants other than client_credentials', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const res = await tokenRequest(agentId, secret, { grant_type: 'password', username: 'a', password: 'b' });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('stores no client secret in plaintext', async () => {
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    await clientCredentials(agentId, secret);
    const rows = await sql<{ hit: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM credentials WHERE agent_id = $1 AND secret_hash LIKE '%' || $2 || '%')
           OR EXISTS (SELECT 1 FROM oidc_payloads WHERE payload::text LIKE '%' || $2 || '%') AS hit`,
      [agentId, secret],
    );
    expect(rows[0]!.hit).toBe(false);
  });
});
