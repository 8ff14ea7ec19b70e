// Signed A2A agent cards, checked by an independent verifier (test/support/verify-signed.ts): did-resolver +
// web-did-resolver for the key, another JCS library for the payload, jose for the detached JWS.
import { describe, expect, it, vi } from 'vitest';
import { withRequestLog } from '../../support/did.ts';
import { verifyCard } from '../../support/verify-signed.ts';
import { call, createAgent, createOrg, expectProblem, json } from '../../support/worker.ts';

vi.mock('cross-fetch', () => import('../../support/worker-fetch.ts'));

const cardPath = (agentId: string) => `/agents/${agentId}/.well-known/agent-card.json`;

async function getCard(agentId: string) {
  const res = await call('GET', cardPath(agentId));
  expect(res.status).toBe(200);
  return { res, card: await res.json<any>() };
}

describe('GET /agents/{id}/.well-known/agent-card.json', () => {
  it('serves an A2A 0.3 card whose detached JWS verifies against the key in the agent DID document', async () => {
    const org = await createOrg();
    const agent = await createAgent(org, {
      email: 'planner@example.com',
      owner: 'team-travel',
      agent_type: 'planner',
      capabilities: ['search', 'book'],
      endpoint: 'https://agents.example.com/a2a/planner',
      version: '2.1.0',
    });
    const { res, card } = await getCard(agent.agent_id);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('public, max-age=3');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]+\.a2a"$/);

    expect(card).toMatchObject({
      protocolVersion: '0.3.0',
      name: 'planner@example.com',
      url: 'https://agents.example.com/a2a/planner',
      version: '2.1.0',
      provider: { organization: expect.stringMatching(/^org-/), url: 'https://agents.example.com' },
      capabilities: {},
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      securitySchemes: {
        agentidp: { type: 'openIdConnect', openIdConnectUrl: 'https://idp.test/oidc/.well-known/openid-configuration' },
      },
      security: [{ agentidp: [] }],
    });
    expect(card.description).toContain('planner');
    expect(card.skills.map((s: any) => s.id)).toEqual(['search', 'book']);
    for (const skill of card.skills)
      expect(skill).toEqual({ id: skill.id, name: skill.id, description: expect.any(String), tags: [skill.id] });

    const header = await verifyCard(card);
    expect(header).toEqual({
      alg: 'ES256',
      kid: expect.stringMatching(new RegExp(`^${agent.did}#[A-Za-z0-9_-]{43}$`)),
      typ: 'JOSE',
    });
  });

  it('fails verification when any one field is changed', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const { card } = await getCard(agent.agent_id);
    await verifyCard(card);
    const forgeries = [
      { ...card, name: 'someone-else@example.com' },
      { ...card, url: 'https://evil.example/a2a' },
      { ...card, skills: [...card.skills, { id: 'pay', name: 'pay', description: 'x', tags: ['pay'] }] },
      {
        ...card,
        securitySchemes: {
          agentidp: {
            ...card.securitySchemes.agentidp,
            openIdConnectUrl: 'https://evil.example/.well-known/openid-configuration',
          },
        },
      },
      { ...card, extra: true },
    ];
    for (const forged of forgeries) {
      await expect(verifyCard(forged)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    }
    // Another agent's valid signature does not carry over either.
    const other = await getCard((await createAgent(org)).agent_id);
    await expect(verifyCard({ ...card, signatures: other.card.signatures })).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  it('falls back to the card URL and this instance as provider when the agent registered no endpoint', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const { card } = await getCard(agent.agent_id);
    expect(card.url).toBe(`https://idp.test${cardPath(agent.agent_id)}`);
    expect(card.provider.url).toBe('https://idp.test');
    expect(card.version).toBe('unspecified');
    await verifyCard(card);
  });

  it('is served from cache on a hit (no SQL), answers 304 to its ETag, and is re-signed right after an update', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const first = await getCard(agent.agent_id);
    const { result, lineFor } = await withRequestLog(() => call('GET', cardPath(agent.agent_id)));
    expect(await result.json()).toEqual(first.card);
    expect(lineFor(result).db_queries).toBe(0);

    const etag = first.res.headers.get('etag')!;
    const notModified = await call('GET', cardPath(agent.agent_id), { headers: { 'if-none-match': etag } });
    expect(notModified.status).toBe(304);

    const patched = await call('PATCH', `/v1/agents/${agent.agent_id}`, {
      token: org.api_key,
      body: { capabilities: ['translate'] },
    });
    expect(patched.status).toBe(200);
    const { res, card } = await getCard(agent.agent_id);
    expect(res.headers.get('etag')).not.toBe(etag);
    expect(card.skills.map((s: any) => s.id)).toEqual(['translate']);
    await verifyCard(card);
  });

  it('answers 410 for a decommissioned agent, right after the decommission', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    await getCard(agent.agent_id);
    expect((await call('DELETE', `/v1/agents/${agent.agent_id}`, { token: org.api_key })).status).toBe(200);
    const res = await call('GET', cardPath(agent.agent_id));
    await expectProblem(res, 410, 'agent_decommissioned');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    // And again from cache.
    await expectProblem(await call('GET', cardPath(agent.agent_id)), 410, 'agent_decommissioned');
  });

  it('answers 404 for an unknown agent and 400 for a malformed id, as problem+json', async () => {
    await expectProblem(await call('GET', cardPath(crypto.randomUUID())), 404, 'not_found');
    const bad = await expectProblem(await call('GET', cardPath('not-a-uuid')), 400, 'validation_failed');
    expect(bad.errors).toEqual([{ path: 'agent_id', message: expect.any(String) }]);
    await expectProblem(await call('GET', cardPath(`${crypto.randomUUID()}x`)), 400, 'validation_failed');
  });

  it('is documented in the OpenAPI document as a public operation', async () => {
    const doc = await json(await call('GET', '/openapi.json'));
    const op = doc.paths['/agents/{agent_id}/.well-known/agent-card.json'].get;
    expect(op.security).toBeUndefined();
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '304', '400', '404', '410']));
  });
});
