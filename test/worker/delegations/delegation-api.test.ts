import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { clockedApp, MovableClock } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import { type Agent, accessToken, agent, verifyCall, verifyDelegationToken } from '../../support/delegation.ts';
import { createWebhook, eventually, receiver } from '../../support/webhooks.ts';
import { call, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

async function delegate(org: Org, from: Agent | string, to: Agent | string, body: Record<string, unknown> = {}) {
  return call('POST', '/v1/delegations', {
    token: org.api_key,
    body: {
      delegator_id: typeof from === 'string' ? from : from.agentId,
      delegatee_id: typeof to === 'string' ? to : to.agentId,
      scope: 'search',
      ...body,
    },
  });
}

async function created(org: Org, from: Agent, to: Agent, body: Record<string, unknown> = {}) {
  const res = await delegate(org, from, to, body);
  if (res.status !== 201) throw new Error(`delegate: ${res.status} ${await res.text()}`);
  return json<{ chain_id: string; token: string; expires_at: string }>(res);
}

describe('POST /v1/delegations', () => {
  it('mints a node-oidc-signed token for an active delegatee, with audit and a webhook event', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const d = await created(org, a, b, { scope: 'search summarize', expires_in: 120 });
    const claims = await verifyDelegationToken(d.token);
    expect(claims).toMatchObject({
      sub: a.agentId,
      act: { sub: b.agentId },
      delegation_chain_id: d.chain_id,
      scope: 'search summarize',
    });
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(decodeProtectedHeader(d.token).alg).toBe('ES256');
    expect(Date.parse(d.expires_at)).toBe(claims.exp! * 1000);

    const ok = await verifyCall(org, d.token, b.agentId);
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({
      valid: true,
      chain_id: d.chain_id,
      delegator_id: a.agentId,
      delegatee_id: b.agentId,
      subject_id: a.agentId,
      scope: 'search summarize',
      depth: 1,
      expires_at: d.expires_at,
    });
    const audit = await sql<{ event_type: string }>(
      `SELECT event_type FROM audit_events WHERE organization_id = $1 AND subject = $2 ORDER BY seq`,
      [org.organization_id, d.chain_id],
    );
    expect(audit.map((r) => r.event_type)).toEqual(['delegation.created']);
  });

  it('delivers delegation.created and delegation.revoked to a subscribed webhook receiver', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const r = receiver('delegation');
    await createWebhook(org, r.url, ['delegation.created', 'delegation.revoked']);
    const d = await created(org, a, b);
    expect((await call('POST', `/v1/delegations/${d.chain_id}/revoke`, { token: org.api_key })).status).toBe(200);
    const got = await eventually(r.requests, (reqs) => reqs.length >= 2, 'two deliveries');
    const events = got.map((req) => JSON.parse(req.body) as { type: string; data: { chain_id: string } });
    expect(events.map((e) => [e.type, e.data.chain_id]).sort()).toEqual([
      ['delegation.created', d.chain_id],
      ['delegation.revoked', d.chain_id],
    ]);
  });

  it('answers documented 4xx for bad input, never 500', async () => {
    const org = await createOrg();
    const other = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const foreign = await agent(other);
    await expectProblem(await delegate(org, 'not-a-uuid', b), 400, 'validation_failed');
    await expectProblem(await delegate(org, a, 'nope'), 400, 'validation_failed');
    await expectProblem(
      await call('POST', '/v1/delegations', { token: org.api_key, body: { delegator_id: a.agentId } }),
      400,
      'validation_failed',
    );
    await expectProblem(await delegate(org, a, b, { expires_in: 0 }), 400, 'validation_failed');
    await expectProblem(await delegate(org, crypto.randomUUID(), b), 404, 'not_found');
    await expectProblem(await delegate(org, foreign, b), 404, 'not_found'); // another tenant's delegator
    await expectProblem(await delegate(org, a, crypto.randomUUID()), 404, 'not_found');
    await expectProblem(await delegate(org, a, a), 400, 'self_delegation');
    await expectProblem(await delegate(org, a, b, { scope: 'admin' }), 400, 'invalid_scope');
    await expectProblem(await delegate(org, a, b, { scope: 'search "x"' }), 400, 'invalid_scope');
    await sql(`UPDATE agents SET status = 'suspended' WHERE agent_id = $1`, [b.agentId]);
    await expectProblem(await delegate(org, a, b), 409, 'agent_not_active');
    await sql(`UPDATE agents SET status = 'suspended' WHERE agent_id = $1`, [foreign.agentId]);
    await expectProblem(await delegate(org, a, foreign), 404, 'not_found');
    const c = await agent(org);
    await sql(`UPDATE agents SET status = 'suspended' WHERE agent_id = $1`, [a.agentId]);
    await expectProblem(await delegate(org, a, c), 409, 'agent_not_active');
  });

  it('delegates to an active agent of another tenant, which verifies it', async () => {
    const [org, other] = [await createOrg(), await createOrg()];
    const [a, x] = [await agent(org), await agent(other)];
    const d = await created(org, a, x);
    expect((await verifyCall(other, d.token, x.agentId)).status).toBe(200);
  });
});

describe('POST /v1/delegations/verify', () => {
  it('fails a revoked delegation on the very next verification', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const d = await created(org, a, b);
    expect((await verifyCall(org, d.token, b.agentId)).status).toBe(200);
    const res = await call('POST', `/v1/delegations/${d.chain_id}/revoke`, { token: org.api_key });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ chain_id: d.chain_id, status: 'revoked' });
    expect((await expectProblem(await verifyCall(org, d.token, b.agentId), 401, 'delegation_invalid')).reason).toBe(
      'revoked',
    );
    // Idempotent: the same revocation again.
    expect(await json(await call('POST', `/v1/delegations/${d.chain_id}/revoke`, { token: org.api_key }))).toEqual(
      body,
    );
  });

  it('fails an expired delegation (a moved clock, and an expiry set in the past)', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const d = await created(org, a, b, { expires_in: 60 });
    const clock = new MovableClock(new Date().toISOString());
    const app = clockedApp(clock);
    const verify = () =>
      app('POST', '/v1/delegations/verify', { token: org.api_key, body: { token: d.token, delegatee_id: b.agentId } });
    expect((await verify()).status).toBe(200);
    clock.set(new Date(Date.parse(d.expires_at) + 1000).toISOString());
    expect((await expectProblem(await verify(), 401, 'delegation_invalid')).reason).toBe('expired');

    // The chain row's expiry counts too, whatever the token says.
    const e = await created(org, a, b);
    expect((await verifyCall(org, e.token, b.agentId)).status).toBe(200);
    await sql(`UPDATE delegation_chains SET expires_at = now() - interval '1 second' WHERE chain_id = $1`, [
      e.chain_id,
    ]);
    expect((await expectProblem(await verifyCall(org, e.token, b.agentId), 401, 'delegation_invalid')).reason).toBe(
      'expired',
    );
  });

  it('fails a token signed by another key, with or without a known kid', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const d = await created(org, a, b);
    const claims = decodeJwt(d.token);
    const { kid } = decodeProtectedHeader(d.token);
    const { privateKey } = await generateKeyPair('ES256');
    for (const header of [
      { alg: 'ES256', typ: 'JWT', kid },
      { alg: 'ES256', typ: 'JWT', kid: 'attacker-key' },
    ]) {
      const forged = await new SignJWT(claims).setProtectedHeader(header).sign(privateKey);
      expect((await expectProblem(await verifyCall(org, forged, b.agentId), 401, 'delegation_invalid')).reason).toBe(
        'signature',
      );
    }
    // The genuine token still verifies (the forged kid did not poison the key cache).
    expect((await verifyCall(org, d.token, b.agentId)).status).toBe(200);
  });

  it('refuses malformed tokens and access tokens with 401, non-UUID delegatees with 400', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    for (const t of ['x', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.']) {
      expect((await expectProblem(await verifyCall(org, t, b.agentId), 401, 'delegation_invalid')).reason).toBe(
        'malformed',
      );
    }
    // An agent's access token is not a delegation (typ at+jwt).
    await expectProblem(await verifyCall(org, await accessToken(a), a.agentId), 401, 'delegation_invalid');
    await expectProblem(await verifyCall(org, 'x', 'not-a-uuid'), 400, 'validation_failed');
    await expectProblem(
      await call('POST', '/v1/delegations/verify', {
        token: org.api_key,
        body: { token: 'x'.repeat(9000), delegatee_id: b.agentId },
      }),
      400,
      'validation_failed',
    );
    // A valid token whose chain row is gone.
    const d = await created(org, a, b);
    await sql('DELETE FROM delegation_chains WHERE chain_id = $1', [d.chain_id]);
    expect((await expectProblem(await verifyCall(org, d.token, b.agentId), 401, 'delegation_invalid')).reason).toBe(
      'unknown_chain',
    );
  });
});

describe('POST /v1/delegations/{chain_id}/revoke', () => {
  it('is refused (404) to another tenant, and leaves the chain active', async () => {
    const [org, other] = [await createOrg(), await createOrg()];
    const [a, b] = [await agent(org), await agent(org)];
    const d = await created(org, a, b);
    await expectProblem(
      await call('POST', `/v1/delegations/${d.chain_id}/revoke`, { token: other.api_key }),
      404,
      'not_found',
    );
    expect((await verifyCall(org, d.token, b.agentId)).status).toBe(200);
    await expectProblem(
      await call('POST', `/v1/delegations/${crypto.randomUUID()}/revoke`, { token: org.api_key }),
      404,
      'not_found',
    );
    await expectProblem(
      await call('POST', '/v1/delegations/not-a-uuid/revoke', { token: org.api_key }),
      400,
      'validation_failed',
    );
    await expectProblem(await call('POST', `/v1/delegations/${d.chain_id}/revoke`), 401, 'unauthorized');
  });
});

describe('A2A_ENABLED=false', () => {
  it('answers 404 on every delegation route', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const d = await created(org, a, b);
    const off = clockedApp(new MovableClock(new Date().toISOString()), { A2A_ENABLED: 'false' });
    const body = { delegator_id: a.agentId, delegatee_id: b.agentId, scope: 'search' };
    await expectProblem(await off('POST', '/v1/delegations', { token: org.api_key, body }), 404, 'not_found');
    await expectProblem(await off('POST', '/v1/delegations', { token: org.api_key, body: {} }), 404, 'not_found');
    await expectProblem(
      await off('POST', '/v1/delegations/verify', {
        token: org.api_key,
        body: { token: d.token, delegatee_id: b.agentId },
      }),
      404,
      'not_found',
    );
    await expectProblem(
      await off('POST', `/v1/delegations/${d.chain_id}/revoke`, { token: org.api_key }),
      404,
      'not_found',
    );
    const [row] = await sql<{ status: string }>('SELECT status FROM delegation_chains WHERE chain_id = $1', [
      d.chain_id,
    ]);
    expect(row!.status).toBe('active');
  });
});
