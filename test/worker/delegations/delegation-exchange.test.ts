import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { bindings, MovableClock } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import {
  accessToken,
  agent,
  exchange,
  JWT_TOKEN_TYPE,
  oauthError,
  TOKEN_EXCHANGE,
  verifyCall,
  verifyDelegationToken,
} from '../../support/delegation.ts';
import { customFetchVia, discover, inProcessWorker, tokenRequest } from '../../support/oidc.ts';
import { call, createOrg, expectProblem, json } from '../../support/worker.ts';

const NOW = '2026-05-20T10:00:00.000Z';

describe('RFC 8693 token exchange at /oidc/token', () => {
  it('issues a delegation token whose claims jose verifies against the published JWKS, and records the chain', async () => {
    const org = await createOrg();
    const a = await agent(org);
    const b = await agent(org);
    const res = await exchange(a, {
      subject_token: await accessToken(a),
      audience: b.agentId,
      scope: 'search summarize',
    });
    expect(res.token_type.toLowerCase()).toBe('bearer');
    expect(res.issued_token_type).toBe(JWT_TOKEN_TYPE);
    expect(res.expires_in).toBe(300);
    expect(res.scope).toBe('search summarize');

    const claims = await verifyDelegationToken(res.access_token);
    expect(claims.sub).toBe(a.agentId);
    expect(claims.act).toEqual({ sub: b.agentId });
    expect(claims.scope).toBe('search summarize');
    expect(claims.aud).toBe('https://idp.test');
    expect(claims.organization_id).toBe(org.organization_id);
    expect(typeof claims.jti).toBe('string');
    expect(claims.exp! - claims.iat!).toBe(300);
    const chainId = claims.delegation_chain_id as string;

    const [row] = await sql<Record<string, unknown>>('SELECT * FROM delegation_chains WHERE chain_id = $1', [chainId]);
    expect(row).toMatchObject({
      organization_id: org.organization_id,
      parent_chain_id: null,
      depth: 1,
      delegator_id: a.agentId,
      delegatee_id: b.agentId,
      scope: 'search summarize',
      status: 'active',
      token_jti: claims.jti,
    });
    // The bearer token itself is never stored.
    expect(JSON.stringify(row)).not.toContain(res.access_token);

    const ok = await verifyCall(org, res.access_token, b.agentId);
    expect(ok.status).toBe(200);
    expect(await json(ok)).toMatchObject({
      valid: true,
      chain_id: chainId,
      delegator_id: a.agentId,
      delegatee_id: b.agentId,
      subject_id: a.agentId,
      depth: 1,
    });
  });

  it('verifies for the named delegatee only', async () => {
    const org = await createOrg();
    const [a, b, c] = [await agent(org), await agent(org), await agent(org)];
    const { access_token } = await exchange(a, {
      subject_token: await accessToken(a),
      actor: b.agentId,
      scope: 'search',
    });
    expect((await verifyCall(org, access_token, b.agentId)).status).toBe(200);
    for (const other of [a.agentId, c.agentId, crypto.randomUUID()]) {
      const body = await expectProblem(await verifyCall(org, access_token, other), 401, 'delegation_invalid');
      expect(body.reason).toBe('delegatee_mismatch');
    }
  });

  it('nests act along a chain, narrows scope only, and refuses a fourth hop', async () => {
    const org = await createOrg();
    const [a, b, c, d, e] = [await agent(org), await agent(org), await agent(org), await agent(org), await agent(org)];
    const hop1 = await exchange(a, {
      subject_token: await accessToken(a),
      audience: b.agentId,
      scope: 'search summarize',
    });
    // Widening is refused at every hop.
    expect(
      await oauthError(
        exchange(b, {
          subject_token: hop1.access_token,
          subject_token_type: JWT_TOKEN_TYPE,
          audience: c.agentId,
          scope: 'search write',
        }),
      ),
    ).toMatchObject({
      error: 'invalid_scope',
      status: 400,
    });
    const hop2 = await exchange(b, {
      subject_token: hop1.access_token,
      subject_token_type: JWT_TOKEN_TYPE,
      audience: c.agentId,
      scope: 'search',
    });
    const claims2 = await verifyDelegationToken(hop2.access_token);
    expect(claims2.sub).toBe(a.agentId);
    expect(claims2.act).toEqual({ sub: c.agentId, act: { sub: b.agentId } });
    expect(claims2.scope).toBe('search');

    const hop3 = await exchange(c, {
      subject_token: hop2.access_token,
      subject_token_type: JWT_TOKEN_TYPE,
      audience: d.agentId,
    });
    const claims3 = await verifyDelegationToken(hop3.access_token);
    expect(claims3.act).toEqual({ sub: d.agentId, act: { sub: c.agentId, act: { sub: b.agentId } } });
    expect(claims3.scope).toBe('search');
    expect(await json(await verifyCall(org, hop3.access_token, d.agentId))).toMatchObject({
      valid: true,
      depth: 3,
      delegator_id: c.agentId,
      subject_id: a.agentId,
    });

    const fourth = await oauthError(
      exchange(d, { subject_token: hop3.access_token, subject_token_type: JWT_TOKEN_TYPE, audience: e.agentId }),
    );
    expect(fourth).toMatchObject({ error: 'invalid_grant', status: 400 });
    expect(fourth.description).toMatch(/3 hops/);

    const rows = await sql<{ depth: number; parent_chain_id: string | null }>(
      'SELECT depth, parent_chain_id FROM delegation_chains WHERE subject_id = $1 ORDER BY depth',
      [a.agentId],
    );
    expect(rows.map((r) => r.depth)).toEqual([1, 2, 3]);
    expect(rows[1]!.parent_chain_id).toBe((await verifyDelegationToken(hop1.access_token)).delegation_chain_id);
  });

  it('revoking a parent fails every descendant on the next verification', async () => {
    const org = await createOrg();
    const [a, b, c, d] = [await agent(org), await agent(org), await agent(org), await agent(org)];
    const hop1 = await exchange(a, { subject_token: await accessToken(a), audience: b.agentId, scope: 'search' });
    const hop2 = await exchange(b, {
      subject_token: hop1.access_token,
      subject_token_type: JWT_TOKEN_TYPE,
      audience: c.agentId,
    });
    const hop3 = await exchange(c, {
      subject_token: hop2.access_token,
      subject_token_type: JWT_TOKEN_TYPE,
      audience: d.agentId,
    });
    for (const [t, who] of [
      [hop2, c],
      [hop3, d],
    ] as const)
      expect((await verifyCall(org, t.access_token, who.agentId)).status).toBe(200);

    const chain2 = (await verifyDelegationToken(hop2.access_token)).delegation_chain_id as string;
    const revoked = await call('POST', `/v1/delegations/${chain2}/revoke`, { token: org.api_key });
    expect(revoked.status).toBe(200);
    expect(await json(revoked)).toMatchObject({ chain_id: chain2, status: 'revoked' });

    expect((await verifyCall(org, hop1.access_token, b.agentId)).status).toBe(200);
    for (const [t, who] of [
      [hop2, c],
      [hop3, d],
    ] as const) {
      expect(
        (await expectProblem(await verifyCall(org, t.access_token, who.agentId), 401, 'delegation_invalid')).reason,
      ).toBe('revoked');
    }
    // A revoked delegation cannot be exchanged further either.
    expect(
      await oauthError(
        exchange(d, { subject_token: hop3.access_token, subject_token_type: JWT_TOKEN_TYPE, audience: a.agentId }),
      ),
    ).toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses bad exchanges with OAuth errors', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const tokenA = await accessToken(a);
    // Someone else's access token.
    expect(await oauthError(exchange(b, { subject_token: tokenA, audience: a.agentId }))).toMatchObject({
      error: 'invalid_grant',
    });
    // A malformed token, and a token-shaped string not signed by node-oidc.
    expect(await oauthError(exchange(a, { subject_token: 'not-a-jwt', audience: b.agentId }))).toMatchObject({
      error: 'invalid_grant',
    });
    expect(
      await oauthError(exchange(a, { subject_token: `${tokenA.slice(0, -4)}AAAA`, audience: b.agentId })),
    ).toMatchObject({ error: 'invalid_grant' });
    // Delegatee: missing, unknown, malformed, itself, inactive.
    expect(await oauthError(exchange(a, { subject_token: tokenA }))).toMatchObject({ error: 'invalid_request' });
    for (const aud of [crypto.randomUUID(), 'not-a-uuid', a.agentId]) {
      expect(await oauthError(exchange(a, { subject_token: tokenA, audience: aud }))).toMatchObject({
        error: 'invalid_target',
      });
    }
    await sql(`UPDATE agents SET status = 'suspended' WHERE agent_id = $1`, [b.agentId]);
    expect(await oauthError(exchange(a, { subject_token: tokenA, audience: b.agentId }))).toMatchObject({
      error: 'invalid_target',
    });
    // Unsupported token type, bad lifetime, widening from the access token's scope.
    const c = await agent(org);
    expect(
      await oauthError(exchange(a, { subject_token: tokenA, subject_token_type: 'urn:x', audience: c.agentId })),
    ).toMatchObject({ error: 'invalid_request' });
    expect(
      await oauthError(exchange(a, { subject_token: tokenA, audience: c.agentId, expires_in: '-5' })),
    ).toMatchObject({ error: 'invalid_request' });
    expect(await oauthError(exchange(a, { subject_token: tokenA, audience: c.agentId, scope: 'admin' }))).toMatchObject(
      { error: 'invalid_scope' },
    );
    // Caps the lifetime (DELEGATION_MAX_TTL_SECONDS, default 3600).
    expect((await exchange(a, { subject_token: tokenA, audience: c.agentId, expires_in: '999999' })).expires_in).toBe(
      3600,
    );
    // No client authentication: invalid_client, as for any grant.
    const raw = await tokenRequest(a.agentId, 'wrong', {
      grant_type: TOKEN_EXCHANGE,
      subject_token: tokenA,
      audience: c.agentId,
    });
    expect(raw.status).toBe(401);
  });

  it('counts an exchange against the daily token limit and records audit and webhook events', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const tokenA = await accessToken(a);
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const limiter = (bindings.TENANT_LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(org.organization_id);
    const before = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1 AND event_type = 'delegation.created'`,
      [org.organization_id],
    );
    const res = await exchange(a, { subject_token: tokenA, audience: b.agentId, scope: 'search' }, worker);
    const chainId = (await verifyDelegationToken(res.access_token)).delegation_chain_id;
    const after = await sql<{ subject: string; actor: string }>(
      `SELECT subject, actor FROM audit_events WHERE organization_id = $1 AND event_type = 'delegation.created' ORDER BY seq`,
      [org.organization_id],
    );
    expect(after.length).toBe(before[0]!.n + 1);
    expect(after.at(-1)).toMatchObject({ subject: chainId, actor: `agent:${a.agentId}` });
    expect((await limiter.usage(Date.parse(NOW))).tokens).toBe(1);
    // A refused exchange gives its reservation back.
    expect(
      await oauthError(exchange(a, { subject_token: tokenA, audience: crypto.randomUUID() }, worker)),
    ).toMatchObject({ error: 'invalid_target' });
    expect((await limiter.usage(Date.parse(NOW))).tokens).toBe(1);
  });

  it('refuses the grant (unsupported_grant_type) when A2A_ENABLED=false', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const tokenA = await accessToken(a);
    const off = inProcessWorker({ env: { A2A_ENABLED: 'false' } });
    expect(await oauthError(exchange(a, { subject_token: tokenA, audience: b.agentId }, off))).toEqual({
      error: 'unsupported_grant_type',
      status: 400,
      description: expect.any(String),
    });
    // client_credentials still works with A2A off.
    const config = await discover(a.agentId, a.secret, off);
    config[client.customFetch] = customFetchVia(off);
    expect((await client.clientCredentialsGrant(config)).access_token).toBeTruthy();
  });
});
