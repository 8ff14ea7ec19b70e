// Agent identity credentials and their status lists, checked by an independent verifier
// (test/support/verify-signed.ts): the issuer key resolved over did:web, jose for the JWTs, the status list
// gunzipped by the platform's DecompressionStream.
import { describe, expect, it, vi } from 'vitest';
import { testNow } from '../../support/clocked-app.ts';
import { withRequestLog } from '../../support/did.ts';
import { bitAt, bodyText, decodeStatusList, verifyVcJwt } from '../../support/verify-signed.ts';
import { call, createAgent, createOrg, expectProblem, json } from '../../support/worker.ts';

vi.mock('cross-fetch', () => import('../../support/worker-fetch.ts'));

const INSTANCE_DID = 'did:web:idp.test';

async function getCredential(agentId: string) {
  const res = await call('GET', `/agents/${agentId}/credential`);
  if (res.status !== 200) throw new Error(`credential: ${res.status} ${await res.text()}`);
  expect(res.headers.get('content-type')).toBe('application/vc+jwt');
  const jwt = await bodyText(res);
  return { res, jwt, ...(await verifyVcJwt(jwt)) };
}

/** Fetches the credential's status list, verifies it, and returns the credential's bit. */
async function revocationBit(credential: any): Promise<number> {
  const status = credential.credentialStatus;
  const url = new URL(status.statusListCredential);
  expect(url.origin).toBe('https://idp.test');
  const res = await call('GET', url.pathname);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/vc+jwt');
  const { header, credential: list } = await verifyVcJwt(await bodyText(res));
  expect(header).toMatchObject({ alg: 'ES256', typ: 'vc+jwt' });
  expect(list).toMatchObject({
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    id: status.statusListCredential,
    type: ['VerifiableCredential', 'BitstringStatusListCredential'],
    issuer: INSTANCE_DID,
    credentialSubject: {
      id: `${status.statusListCredential}#list`,
      type: 'BitstringStatusList',
      statusPurpose: 'revocation',
    },
  });
  const bits = await decodeStatusList(list.credentialSubject.encodedList);
  expect(bits.length).toBeGreaterThanOrEqual(16 * 1024); // the specification's minimum
  return bitAt(bits, Number(status.statusListIndex));
}

describe('GET /agents/{id}/credential', () => {
  it('is a VC 2.0 JWT issued by the instance DID, whose key the instance DID document carries', async () => {
    const org = await createOrg();
    const agent = await createAgent(org, {
      email: 'a@example.com',
      owner: 'team-x',
      agent_type: 'retriever',
      capabilities: ['search', 'summarize'],
    });
    const { res, header, credential } = await getCredential(agent.agent_id);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]+\.vc"$/);
    expect(header).toEqual({
      alg: 'ES256',
      kid: expect.stringMatching(/^did:web:idp\.test#[A-Za-z0-9_-]{43}$/),
      typ: 'vc+jwt',
      cty: 'vc',
    });

    const instanceDoc = await json(await call('GET', '/.well-known/did.json'));
    expect(instanceDoc.assertionMethod).toContain(header.kid);

    expect(credential['@context']).toEqual(['https://www.w3.org/ns/credentials/v2']);
    expect(credential.type).toEqual(['VerifiableCredential', 'AgentIdentityCredential']);
    expect(credential.id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(credential.issuer).toBe(INSTANCE_DID);
    const from = Date.parse(credential.validFrom);
    expect(credential.validFrom).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(from - testNow().getTime())).toBeLessThan(60_000);
    expect(Date.parse(credential.validUntil) - from).toBe(86_400_000);
    expect(credential.credentialSubject).toEqual({
      id: agent.did,
      organization: { id: `urn:uuid:${org.organization_id}`, name: expect.stringMatching(/^org-/) },
      owner: 'team-x',
      agentType: 'retriever',
      capabilities: ['search', 'summarize'],
    });
    const status = credential.credentialStatus;
    expect(status).toEqual({
      id: `${status.statusListCredential}#${status.statusListIndex}`,
      type: 'BitstringStatusListEntry',
      statusPurpose: 'revocation',
      statusListIndex: expect.stringMatching(/^\d+$/),
      statusListCredential: expect.stringMatching(/^https:\/\/idp\.test\/status\/[0-9a-f-]{36}$/),
    });
    expect(await revocationBit(credential)).toBe(0);
  });

  it('sets the agent bit when the agent is decommissioned, and then answers 410', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const neighbour = await getCredential((await createAgent(org)).agent_id);
    const { credential } = await getCredential(agent.agent_id);
    expect(await revocationBit(credential)).toBe(0);

    expect((await call('DELETE', `/v1/agents/${agent.agent_id}`, { token: org.api_key })).status).toBe(200);
    expect(await revocationBit(credential)).toBe(1);
    expect(await revocationBit(neighbour.credential)).toBe(0);
    await expectProblem(await call('GET', `/agents/${agent.agent_id}/credential`), 410, 'agent_decommissioned');
    // Decommissioning twice changes nothing.
    expect((await call('DELETE', `/v1/agents/${agent.agent_id}`, { token: org.api_key })).status).toBe(200);
    expect(await revocationBit(credential)).toBe(1);
  });

  it('is re-issued after an update with the same status entry, so one bit revokes every credential of the agent', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const first = await getCredential(agent.agent_id);
    // A cache hit runs no SQL and hands out the same credential.
    const { result, lineFor } = await withRequestLog(() => call('GET', `/agents/${agent.agent_id}/credential`));
    expect(await bodyText(result)).toBe(first.jwt);
    expect(lineFor(result).db_queries).toBe(0);

    await call('PATCH', `/v1/agents/${agent.agent_id}`, {
      token: org.api_key,
      body: { capabilities: ['translate'], owner: 'team-y' },
    });
    const second = await getCredential(agent.agent_id);
    expect(second.credential.id).not.toBe(first.credential.id);
    expect(second.credential.credentialSubject).toMatchObject({ capabilities: ['translate'], owner: 'team-y' });
    expect(second.credential.credentialStatus).toEqual(first.credential.credentialStatus);

    await call('DELETE', `/v1/agents/${agent.agent_id}`, { token: org.api_key });
    expect(await revocationBit(first.credential)).toBe(1);
    expect(await revocationBit(second.credential)).toBe(1);
  });

  it('gives agents distinct entries, also when an agent first asks for its credential several times at once', async () => {
    const org = await createOrg();
    const agents = await Promise.all(
      [0, 1, 2, 3].map((n) =>
        createAgent(org, { email: `p${n}@example.com`, owner: 'o', agent_type: 't', capabilities: [] }),
      ),
    );
    const entries = new Set<string>();
    for (const agent of agents) {
      const all = await Promise.all([0, 1, 2].map(() => getCredential(agent.agent_id)));
      const statuses = new Set(all.map((c) => JSON.stringify(c.credential.credentialStatus)));
      expect(statuses.size).toBe(1);
      entries.add([...statuses][0]!);
    }
    expect(entries.size).toBe(agents.length);
  });

  it('answers 404 for an unknown agent and 400 for a malformed id', async () => {
    await expectProblem(await call('GET', `/agents/${crypto.randomUUID()}/credential`), 404, 'not_found');
    const bad = await expectProblem(await call('GET', '/agents/nope/credential'), 400, 'validation_failed');
    expect(bad.errors).toEqual([{ path: 'agent_id', message: expect.any(String) }]);
  });
});

describe('GET /status/{list_id}', () => {
  it('answers 404 for an unknown list and 400 for a malformed id', async () => {
    await expectProblem(await call('GET', `/status/${crypto.randomUUID()}`), 404, 'not_found');
    await expectProblem(await call('GET', '/status/12'), 400, 'validation_failed');
    await expectProblem(await call('GET', "/status/'%20OR%201=1"), 400, 'validation_failed');
  });

  it('announces how long it may be cached and answers 304 to its ETag', async () => {
    const org = await createOrg();
    const { credential } = await getCredential((await createAgent(org)).agent_id);
    const path = new URL(credential.credentialStatus.statusListCredential).pathname;
    const res = await call('GET', path);
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(60);
    const { credential: list } = await verifyVcJwt(await bodyText(res));
    expect(list.credentialSubject.ttl).toBe(60_000);
    const again = await call('GET', path, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('documents both routes as public operations', async () => {
    const doc = await json(await call('GET', '/openapi.json'));
    for (const path of ['/agents/{agent_id}/credential', '/status/{list_id}']) {
      const op = doc.paths[path].get;
      expect(op.security).toBeUndefined();
      expect(op.responses['200'].content['application/vc+jwt']).toBeDefined();
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
    }
  });
});
