import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../worker/app.ts';
import { bindings, expectValidDidDocument, redisEnabled, withRequestLog } from '../../support/did.ts';
import { BASE, call, createAgent, createOrg, expectProblem, json } from '../../support/worker.ts';

const W3 = 'https://www.w3.org/ns/did#';

/** The same Worker code as another deployment: other bindings (e.g. memory cache off, another domain). */
function otherDeployment(overrides: Record<string, string>) {
  const app = createApp();
  const env = { ...bindings, ...overrides };
  return async (path: string, headers: Record<string, string> = {}) => {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`${BASE}${path}`, { headers }), env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
}

async function expectResolutionError(res: Response, status: number, name: string) {
  const body = await expectProblem(
    res,
    status,
    {
      INVALID_DID: 'invalid_did',
      NOT_FOUND: 'not_found',
      REPRESENTATION_NOT_SUPPORTED: 'representation_not_supported',
      METHOD_NOT_SUPPORTED: 'method_not_supported',
    }[name]!,
  );
  expect(body.type).toBe(`${W3}${name}`);
  expect(body.didDocument).toBeNull();
  expect(body.didResolutionMetadata.error).toMatchObject({ type: `${W3}${name}`, status });
  expect(res.headers.get('access-control-allow-origin')).toBe('*');
  return body;
}

describe('agent DIDs', () => {
  it('gives a new agent did:web:<domain>:agents:<id> and serves its document', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    expect(agent.did).toBe(`did:web:idp.test:agents:${agent.agent_id}`);
    expect(Date.parse(agent.did_created_at)).not.toBeNaN();
    expect(agent).not.toHaveProperty('kid');
    expect(agent).not.toHaveProperty('publicKeyJwk');

    const res = await call('GET', `/agents/${agent.agent_id}/did.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/did+json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('public, max-age=3');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]+\.did\+json"$/);
    const doc = await res.json<any>();
    await expectValidDidDocument(doc, agent.did, { keys: 1 });
    expect(doc.service).toEqual([
      {
        id: `${agent.did}#agent-card`,
        type: 'AgentCard',
        serviceEndpoint: `https://idp.test/agents/${agent.agent_id}/card.json`,
      },
    ]);

    const got = await json(await call('GET', `/v1/agents/${agent.agent_id}`, { token: org.api_key }));
    expect(got.did).toBe(agent.did);
  });

  it('gives every agent its own key', async () => {
    const org = await createOrg();
    const [a, b] = [await createAgent(org), await createAgent(org)];
    const docA = await (await call('GET', `/agents/${a.agent_id}/did.json`)).json<any>();
    const docB = await (await call('GET', `/agents/${b.agent_id}/did.json`)).json<any>();
    expect(docA.verificationMethod[0].publicKeyJwk.x).not.toBe(docB.verificationMethod[0].publicKeyJwk.x);
  });

  it('serves the instance document at /.well-known/did.json, the same key every time', async () => {
    const res = await call('GET', '/.well-known/did.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/did+json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const doc = await res.json<any>();
    await expectValidDidDocument(doc, 'did:web:idp.test', { keys: 1 });
    const again = await otherDeployment({ DID_MEMORY_CACHE_MS: '0' })('/.well-known/did.json');
    expect((await again.json<any>()).verificationMethod).toEqual(doc.verificationMethod);
  });

  it('serves the AGNTCY agent card', async () => {
    const org = await createOrg();
    const agent = await createAgent(org, {
      email: 'card@example.com',
      owner: 'team-card',
      agent_type: 'orchestrator',
      capabilities: ['plan'],
      version: '1.2.3',
      deployment_env: 'prod',
    });
    const res = await call('GET', `/agents/${agent.agent_id}/card.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('etag')).toMatch(/\.card"$/);
    expect(await res.json()).toEqual({
      did: agent.did,
      name: 'card@example.com',
      agentType: 'orchestrator',
      capabilities: ['plan'],
      owner: 'team-card',
      version: '1.2.3',
      deploymentEnv: 'prod',
      identityProvider: 'did:web:idp.test',
      issuedAt: agent.did_created_at,
    });
  });
});

describe('HTTP caching and CORS', () => {
  it('answers If-None-Match with 304 and a changed document with a new ETag', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const path = `/agents/${agent.agent_id}/card.json`;
    const first = await call('GET', path);
    const etag = first.headers.get('etag')!;
    const hit = await call('GET', path, { headers: { 'if-none-match': etag } });
    expect(hit.status).toBe(304);
    expect(await hit.text()).toBe('');
    expect(hit.headers.get('etag')).toBe(etag);
    expect(hit.headers.get('cache-control')).toBe('public, max-age=3');
    expect(hit.headers.get('access-control-allow-origin')).toBe('*');
    expect((await call('GET', path, { headers: { 'if-none-match': `W/${etag}` } })).status).toBe(304);
    expect((await call('GET', path, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);

    await call('PATCH', `/v1/agents/${agent.agent_id}`, { token: org.api_key, body: { version: '2.0.0' } });
    const changed = await call('GET', path, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect((await changed.json<any>()).version).toBe('2.0.0');

    const doc = await call('GET', `/agents/${agent.agent_id}/did.json`);
    expect(
      (
        await call('GET', `/agents/${agent.agent_id}/did.json`, {
          headers: { 'if-none-match': doc.headers.get('etag')! },
        })
      ).status,
    ).toBe(304);
    const inst = await call('GET', '/.well-known/did.json');
    expect(
      (await call('GET', '/.well-known/did.json', { headers: { 'if-none-match': inst.headers.get('etag')! } })).status,
    ).toBe(304);
  });

  it('answers CORS preflights for the public documents and HEAD without a body', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    for (const path of [
      `/agents/${agent.agent_id}/did.json`,
      '/.well-known/did.json',
      `/1.0/identifiers/${agent.did}`,
      `/agents/${agent.agent_id}/card.json`,
    ]) {
      const pre = await call('OPTIONS', path, {
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'if-none-match',
        },
      });
      expect(pre.status, path).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
      expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('if-none-match');
    }
    const head = await call('HEAD', `/agents/${agent.agent_id}/did.json`);
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBeTruthy();
    expect(await head.text()).toBe('');
  });
});

describe('caching layers', () => {
  it('serves a cache hit without running SQL', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const path = `/agents/${agent.agent_id}/did.json`;
    const { result, lineFor } = await withRequestLog(async () => {
      const miss = await call('GET', path);
      const hit = await call('GET', path);
      const card = await call('GET', `/agents/${agent.agent_id}/card.json`);
      const resolved = await call('GET', `/1.0/identifiers/${agent.did}`);
      return { miss, hit, card, resolved };
    });
    expect(lineFor(result.miss)).toMatchObject({ route: '/agents/:agent_id/did.json', status: 200 });
    expect(lineFor(result.miss).db_queries).toBeGreaterThan(0);
    for (const res of [result.hit, result.card, result.resolved]) {
      expect(res.status).toBe(200);
      expect(lineFor(res).db_queries).toBe(0);
    }
    expect(await result.hit.text()).toBe(await result.miss.text());
  });

  it('serves from Redis without SQL when isolate memory is off (and from Postgres when Redis is off)', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const get = otherDeployment({ DID_MEMORY_CACHE_MS: '0' });
    const path = `/agents/${agent.agent_id}/did.json`;
    const { result, lineFor } = await withRequestLog(async () => [await get(path), await get(path), await get(path)]);
    const queries = result.map((r) => lineFor(r).db_queries);
    expect(queries[0]).toBeGreaterThan(0);
    if (redisEnabled) expect(queries.slice(1)).toEqual([0, 0]);
    else expect(queries.slice(1).every((n) => n > 0)).toBe(true);
  });

  it('shows a decommissioned agent as deactivated on the very next request', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const path = `/agents/${agent.agent_id}/did.json`;
    const noMemory = otherDeployment({ DID_MEMORY_CACHE_MS: '0' });
    // Warm every layer: this isolate's memory and Redis.
    expect((await call('GET', path)).status).toBe(200);
    expect((await call('GET', path)).status).toBe(200);
    expect((await noMemory(path)).status).toBe(200);
    expect((await call('GET', `/1.0/identifiers/${agent.did}`)).status).toBe(200);

    expect((await call('DELETE', `/v1/agents/${agent.agent_id}`, { token: org.api_key })).status).toBe(200);

    for (const res of [await call('GET', path), await noMemory(path)]) {
      expect(res.status).toBe(200);
      const doc = await res.json<any>();
      await expectValidDidDocument(doc, agent.did, { keys: 0 });
      expect(doc.service).toEqual([
        { id: `${agent.did}#status`, type: 'AgentStatus', serviceEndpoint: 'decommissioned' },
      ]);
    }

    const resolved = await call('GET', `/1.0/identifiers/${agent.did}`);
    expect(resolved.status).toBe(410);
    expect(resolved.headers.get('content-type')).toBe('application/did-resolution');
    const result = await resolved.json<any>();
    expect(result.didDocumentMetadata).toMatchObject({ deactivated: true, created: agent.did_created_at });
    expect(Date.parse(result.didDocumentMetadata.updated)).toBeGreaterThanOrEqual(Date.parse(agent.updated_at));
    expect(result.didDocument.verificationMethod).toEqual([]);

    const bare = await call('GET', `/1.0/identifiers/${agent.did}`, { headers: { accept: 'application/did+json' } });
    expect(bare.status).toBe(410);
    expect((await bare.json<any>()).id).toBe(agent.did);

    await expectProblem(await call('GET', `/agents/${agent.agent_id}/card.json`), 410, 'agent_decommissioned');
  });

  it('shows a patched agent on the next request, from every layer', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const path = `/agents/${agent.agent_id}/card.json`;
    const noMemory = otherDeployment({ DID_MEMORY_CACHE_MS: '0' });
    await call('GET', path);
    await noMemory(path);
    await call('PATCH', `/v1/agents/${agent.agent_id}`, { token: org.api_key, body: { capabilities: ['new-skill'] } });
    expect((await (await call('GET', path)).json<any>()).capabilities).toEqual(['new-skill']);
    expect((await (await noMemory(path)).json<any>()).capabilities).toEqual(['new-skill']);
    const resolved = await (await call('GET', `/1.0/identifiers/${agent.did}`)).json<any>();
    expect(Date.parse(resolved.didDocumentMetadata.updated)).toBeGreaterThan(
      Date.parse(resolved.didDocumentMetadata.created),
    );
  });
});

describe('DID resolution', () => {
  it('returns the resolution result by default and the document when asked', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const res = await call('GET', `/1.0/identifiers/${agent.did}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/did-resolution');
    expect(res.headers.get('vary')).toBe('Accept');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const result = await res.json<any>();
    await expectValidDidDocument(result.didDocument, agent.did, { keys: 1 });
    expect(result.didResolutionMetadata).toEqual({ contentType: 'application/did+json' });
    expect(result.didDocumentMetadata).toEqual({
      created: agent.did_created_at,
      updated: agent.updated_at,
      deactivated: false,
    });

    const ld = await call('GET', `/1.0/identifiers/${agent.did}`, {
      headers: { accept: 'application/ld+json;profile="https://w3id.org/did-resolution"' },
    });
    expect(ld.headers.get('content-type')).toBe('application/ld+json;profile="https://w3id.org/did-resolution"');
    expect(await ld.json()).toEqual(result);

    const etags = new Set<string>();
    for (const accept of ['application/did+json', 'application/did']) {
      const bare = await call('GET', `/1.0/identifiers/${agent.did}`, { headers: { accept } });
      expect(bare.status).toBe(200);
      expect(bare.headers.get('content-type')).toBe(accept);
      expect(await bare.json()).toEqual(result.didDocument);
      etags.add(bare.headers.get('etag')!);
    }
    etags.add(res.headers.get('etag')!);
    expect(etags.size).toBe(3);

    await expectResolutionError(
      await call('GET', `/1.0/identifiers/${agent.did}`, { headers: { accept: 'text/html' } }),
      406,
      'REPRESENTATION_NOT_SUPPORTED',
    );
  });

  it('resolves the instance DID and a DID percent-encoded as a whole', async () => {
    const inst = await call('GET', '/1.0/identifiers/did:web:idp.test', {
      headers: { accept: 'application/did+json' },
    });
    expect(inst.status).toBe(200);
    expect((await inst.json<any>()).id).toBe('did:web:idp.test');
    const org = await createOrg();
    const agent = await createAgent(org);
    const encoded = await call('GET', `/1.0/identifiers/${encodeURIComponent(agent.did)}`);
    expect(encoded.status).toBe(200);
    expect((await encoded.json<any>()).didDocument.id).toBe(agent.did);
  });

  it('keeps a %3A port in DIDs and document ids (DID_WEB_DOMAIN with a port)', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const ported = otherDeployment({ DID_WEB_DOMAIN: 'idp.test:8443' });
    const did = `did:web:idp.test%3A8443:agents:${agent.agent_id}`;
    const doc = await (await ported(`/agents/${agent.agent_id}/did.json`)).json<any>();
    await expectValidDidDocument(doc, did, { keys: 1 });
    expect(doc.service[0].serviceEndpoint).toBe(`https://idp.test:8443/agents/${agent.agent_id}/card.json`);
    const resolved = await ported(`/1.0/identifiers/${did}`);
    expect(resolved.status).toBe(200);
    expect((await resolved.json<any>()).didDocument.id).toBe(did);
    expect((await (await ported('/.well-known/did.json')).json<any>()).id).toBe('did:web:idp.test%3A8443');
    // The same agent under the port-less domain is another DID of another domain here.
    await expectResolutionError(await ported(`/1.0/identifiers/${agent.did}`), 501, 'METHOD_NOT_SUPPORTED');
  });
});

describe('bad input', () => {
  it('answers 404 for unknown agents and malformed ids, never 500', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    for (const id of [
      crypto.randomUUID(),
      'not-a-uuid',
      agent.agent_id.toUpperCase(),
      '%00',
      `${agent.agent_id}x`,
      "1'or'1'='1",
    ]) {
      await expectProblem(await call('GET', `/agents/${id}/did.json`), 404, 'not_found');
      await expectProblem(await call('GET', `/agents/${id}/card.json`), 404, 'not_found');
    }
  });

  it.each([
    ['not-a-did', 400, 'INVALID_DID'],
    ['did:web:', 400, 'INVALID_DID'],
    ['did:WEB:idp.test', 400, 'INVALID_DID'],
    ['did:web:idp.test%3Axyz', 400, 'INVALID_DID'],
    ['did:web:idp.test:agents:..', 400, 'INVALID_DID'],
    ['did:web:idp.test:agents:x/extra', 400, 'INVALID_DID'],
    ['did%3Aweb%3A%E0%A4%A', 400, 'INVALID_DID'],
    [`did:web:${'a'.repeat(3000)}`, 400, 'INVALID_DID'],
    ['', 400, 'INVALID_DID'],
    ['did:web:idp.test:agents:not-a-uuid', 404, 'NOT_FOUND'],
    [`did:web:idp.test:agents:${crypto.randomUUID()}`, 404, 'NOT_FOUND'],
    ['did:web:idp.test:agents', 404, 'NOT_FOUND'],
    ['did:web:idp.test:users:alice', 404, 'NOT_FOUND'],
    ['did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', 501, 'METHOD_NOT_SUPPORTED'],
    ['did:example:123456789abcdefghi', 501, 'METHOD_NOT_SUPPORTED'],
    ['did:web:example.com', 501, 'METHOD_NOT_SUPPORTED'],
    ['did:web:idp.test%3A8443', 501, 'METHOD_NOT_SUPPORTED'],
  ] as const)('resolving %j answers %i %s', async (did, status, name) => {
    await expectResolutionError(await call('GET', `/1.0/identifiers/${did}`), status, name);
  });
});

describe('OpenAPI', () => {
  it('documents the DID routes', async () => {
    const doc = await json(await call('GET', '/openapi.json'));
    for (const path of [
      '/.well-known/did.json',
      '/agents/{agent_id}/did.json',
      '/1.0/identifiers/{did}',
      '/agents/{agent_id}/card.json',
    ]) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
    expect(Object.keys(doc.paths['/1.0/identifiers/{did}'].get.responses)).toEqual(
      expect.arrayContaining(['200', '304', '400', '404', '406', '410', '501']),
    );
  });
});
