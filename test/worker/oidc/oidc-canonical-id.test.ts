// One spelling of an agent id at every boundary: the lower-case UUID Postgres prints. Postgres itself
// accepts other spellings, so anything that compares or counts ids as strings must use that form or refuse.
import { describe, expect, it } from 'vitest';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { bindings, MovableClock } from '../../support/clocked-app.ts';
import { accessToken, agent, exchange, JWT_TOKEN_TYPE, oauthError } from '../../support/delegation.ts';
import { agentWithCredential, inProcessWorker, tokenRequestVia } from '../../support/oidc.ts';
import { call, createOrg, expectProblem, json } from '../../support/worker.ts';

const NOW = '2026-05-20T10:00:00.000Z';
const NOW_MS = Date.parse(NOW);
const limiter = (orgId: string) => (bindings.TENANT_LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(orgId);

const basic = (id: string, secret: string) =>
  `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

/** A token request straight to node-oidc, as only the Worker should send one. */
function direct(id: string, secret: string, headers: Record<string, string> = {}) {
  return fetch(`${bindings.OIDC_ORIGIN}/oidc/token`, {
    method: 'POST',
    headers: {
      authorization: basic(id, secret),
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'idp.test',
      ...headers,
    },
    body: 'grant_type=client_credentials',
  });
}

describe('agent ids at /oidc/token', () => {
  it('refuses an agent id spelled in upper case (Basic or form), issues nothing and counts nothing', async () => {
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const upper = agentId.toUpperCase();

    const viaBasic = await tokenRequestVia(worker, upper, secret);
    expect(viaBasic.status).toBe(401);
    expect((await json(viaBasic)).error).toBe('invalid_client');
    const viaForm = await worker(
      new Request('https://idp.test/oidc/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: upper,
          client_secret: secret,
        }).toString(),
      }),
    );
    expect(viaForm.status).toBe(401);
    expect((await json(viaForm)).error).toBe('invalid_client');
    expect((await limiter(org.organization_id).usage(NOW_MS)).tokens).toBe(0);

    // The canonical spelling works and is what `sub` carries.
    const ok = await tokenRequestVia(worker, agentId, secret);
    expect(ok.status).toBe(200);
    expect((await limiter(org.organization_id).usage(NOW_MS)).tokens).toBe(1);
  });

  it('node-oidc authenticates only the client the Worker counted', async () => {
    const org = await createOrg();
    const a = await agentWithCredential(org);
    const b = await agentWithCredential(org);
    // Not through the Worker: nothing was counted, so nothing is issued.
    expect(await json(await direct(a.agentId, a.secret))).toMatchObject({ error: 'invalid_client' });
    expect((await direct(a.agentId, a.secret, { 'x-agentidp-counted-client': b.agentId })).status).toBe(401);
    expect(
      (await direct(a.agentId.toUpperCase(), a.secret, { 'x-agentidp-counted-client': a.agentId.toUpperCase() }))
        .status,
    ).toBe(401);
    expect((await direct(a.agentId, a.secret, { 'x-agentidp-counted-client': a.agentId })).status).toBe(200);

    // A client cannot name the counted client itself through the Worker.
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const spoofed = await worker(
      new Request('https://idp.test/oidc/token', {
        method: 'POST',
        headers: {
          authorization: basic(a.agentId.toUpperCase(), a.secret),
          'content-type': 'application/x-www-form-urlencoded',
          'x-agentidp-counted-client': a.agentId.toUpperCase(),
        },
        body: 'grant_type=client_credentials',
      }),
    );
    expect(spoofed.status).toBe(401);
    expect((await limiter(org.organization_id).usage(NOW_MS)).tokens).toBe(0);
  });

  it('an agent cannot delegate to itself under another spelling of its id', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const own = await accessToken(a);
    expect(await oauthError(exchange(a, { subject_token: own, audience: a.agentId.toUpperCase() }))).toMatchObject({
      error: 'invalid_target',
    });
    expect(
      await oauthError(
        exchange({ ...a, agentId: a.agentId.toUpperCase() }, { subject_token: own, audience: a.agentId }),
      ),
    ).toMatchObject({
      error: 'invalid_client',
    });
    // A delegation token cannot be handed back to its delegator's other spelling either.
    const hop = await exchange(a, { subject_token: own, audience: b.agentId });
    expect(
      await oauthError(
        exchange(b, {
          subject_token: hop.access_token,
          subject_token_type: JWT_TOKEN_TYPE,
          audience: b.agentId.toUpperCase(),
        }),
      ),
    ).toMatchObject({ error: 'invalid_target' });
    await expectProblem(
      await call('POST', '/v1/delegations', {
        token: org.api_key,
        body: { delegator_id: a.agentId, delegatee_id: a.agentId.toUpperCase(), scope: 'search' },
      }),
      400,
      'self_delegation',
    );
  });
});

describe('agent ids in tenant routes', () => {
  it('answers the canonical id whatever spelling the path used', async () => {
    const org = await createOrg();
    const { agentId } = await agentWithCredential(org);
    const upper = agentId.toUpperCase();
    expect((await json(await call('GET', `/v1/agents/${upper}`, { token: org.api_key }))).agent_id).toBe(agentId);
    const created = await call('POST', `/v1/agents/${upper}/credentials`, { token: org.api_key, body: {} });
    expect(created.status).toBe(201);
    expect((await json(created)).client_id).toBe(agentId);
    const listed = await json(await call('GET', `/v1/agents/${upper}/credentials`, { token: org.api_key }));
    expect(listed.data.map((c: { client_id: string }) => c.client_id)).toEqual([agentId, agentId]);
  });
});

describe('agent ids in public documents', () => {
  it('serves DID documents, cards and credentials under the canonical id only', async () => {
    const org = await createOrg();
    const { agentId } = await agentWithCredential(org);
    const paths = (id: string) => [
      `/agents/${id}/did.json`,
      `/agents/${id}/card.json`,
      `/agents/${id}/.well-known/agent-card.json`,
      `/agents/${id}/credential`,
    ];
    for (const path of paths(agentId)) expect((await call('GET', path)).status, path).toBe(200);
    // Another spelling would be another DID (DIDs compare character by character), and another cache key.
    for (const path of paths(agentId.toUpperCase())) await expectProblem(await call('GET', path), 404, 'not_found');
  });
});
