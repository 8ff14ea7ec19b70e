// A real did:web client (did-resolver + web-did-resolver) against the Worker. web-did-resolver builds
// `https://<domain>/...` URLs and fetches them with `cross-fetch`; the mock below swaps that module for a fetch
// that hands the request to the Worker under test (test/support/worker-fetch.ts), as a TLS front would. The
// resolver's own code — DID parsing, URL building, the id check — runs unchanged.

import { Resolver } from 'did-resolver';
import { compactVerify, importJWK } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { getResolver } from 'web-did-resolver';
import { toBase64Url, utf8 } from '../../../worker/platform/encoding.ts';
import { expectValidDidDocument, workerServices } from '../../support/did.ts';
import { call, createAgent, createOrg } from '../../support/worker.ts';

vi.mock('cross-fetch', () => import('../../support/worker-fetch.ts'));

const resolver = new Resolver(getResolver());

describe('resolving agent DIDs with did-resolver + web-did-resolver', () => {
  it("resolves a new agent's DID to a key that verifies a signature made by its custody-held key", async () => {
    const org = await createOrg();
    const agent = await createAgent(org);

    const result = await resolver.resolve(agent.did);
    expect(result.didResolutionMetadata.error).toBeUndefined();
    expect(result.didResolutionMetadata.contentType).toBe('application/did+ld+json');
    const methods = await expectValidDidDocument(result.didDocument, agent.did, { keys: 1 });

    // Sign a JWS as the agent, through key custody, naming the verification method as kid.
    const { services, close } = workerServices();
    let jws: string;
    try {
      const kid = methods[0]!.id;
      const signingInput = `${toBase64Url(utf8(JSON.stringify({ alg: 'ES256', kid })))}.${toBase64Url(utf8(JSON.stringify({ iss: agent.did, nonce: crypto.randomUUID() })))}`;
      const { signature, verificationMethod } = await services.did.sign(
        org.organization_id,
        agent.agent_id,
        utf8(signingInput),
      );
      expect(verificationMethod).toBe(kid);
      jws = `${signingInput}.${toBase64Url(signature)}`;
    } finally {
      await close();
    }

    // A verifier that knows only the DID: resolve, pick the method named by kid, verify.
    const [encodedHeader] = jws.split('.');
    const header = JSON.parse(atob(encodedHeader!.replace(/-/g, '+').replace(/_/g, '/')));
    const vm = result.didDocument!.verificationMethod!.find((m) => m.id === header.kid)!;
    expect(result.didDocument!.assertionMethod).toContain(vm.id);
    const key = await importJWK(vm.publicKeyJwk as JsonWebKey, 'ES256');
    const { payload } = await compactVerify(jws, key, { algorithms: ['ES256'] });
    expect(JSON.parse(new TextDecoder().decode(payload)).iss).toBe(agent.did);

    // The same key does not verify a tampered payload.
    const [h, , s] = jws.split('.');
    const forged = `${h}.${toBase64Url(utf8(JSON.stringify({ iss: 'did:web:evil.example' })))}.${s}`;
    await expect(compactVerify(forged, key, { algorithms: ['ES256'] })).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  it('resolves the instance DID', async () => {
    const result = await resolver.resolve('did:web:idp.test');
    expect(result.didResolutionMetadata.error).toBeUndefined();
    await expectValidDidDocument(result.didDocument, 'did:web:idp.test', { keys: 1 });
  });

  it('sees a decommissioned agent as keyless right away', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    expect((await resolver.resolve(agent.did)).didDocument?.verificationMethod).toHaveLength(1);
    await call('DELETE', `/v1/agents/${agent.agent_id}`, { token: org.api_key });
    const after = await new Resolver(getResolver(), { cache: false }).resolve(agent.did);
    expect(after.didDocument?.verificationMethod).toEqual([]);
    expect(after.didDocument?.service).toEqual([
      { id: `${agent.did}#status`, type: 'AgentStatus', serviceEndpoint: 'decommissioned' },
    ]);
  });

  it('reports notFound for an unknown agent', async () => {
    const result = await resolver.resolve(`did:web:idp.test:agents:${crypto.randomUUID()}`);
    expect(result.didDocument).toBeNull();
    expect(result.didResolutionMetadata.error).toBe('notFound');
  });

  it('goes through the Worker fetch, never the network', async () => {
    const result = await resolver.resolve('did:web:example.com');
    expect(result.didResolutionMetadata).toMatchObject({
      error: 'notFound',
      message: expect.stringContaining('test fetch: no route to https://example.com/'),
    });
  });
});
