// Operator management of federation partners: registration (with its JWKS checks), listing, expiry,
// updates and deletion, and what each does to the cached keys.

import { exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../../worker/platform/cache.ts';
import { bindings, clockedApp, MovableClock } from '../../support/clocked-app.ts';
import {
  jwksUrl,
  newIdp,
  type PartnerIdp,
  publish,
  registerPartner,
  unique,
  verify,
} from '../../support/federation.ts';
import { ADMIN_TOKEN, call, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

const admin = (method: string, path: string, body?: unknown) => call(method, path, { token: ADMIN_TOKEN, body });
const partnerBody = (idp: PartnerIdp, extra: Record<string, unknown> = {}) => ({
  name: idp.name,
  issuer: idp.issuer,
  jwks_uri: idp.jwksUri,
  ...extra,
});
const redis = new Cache(
  bindings.UPSTASH_REDIS_REST_URL as string | undefined,
  bindings.UPSTASH_REDIS_REST_TOKEN as string | undefined,
  bindings.CACHE_KEY_PREFIX as string | undefined,
);

let org: Org;
beforeAll(async () => {
  org = await createOrg('enterprise');
});

describe('operator authentication', () => {
  it('requires ADMIN_TOKEN on every partner route', async () => {
    const id = crypto.randomUUID();
    for (const [method, path] of [
      ['POST', '/v1/federation/partners'],
      ['GET', '/v1/federation/partners'],
      ['GET', `/v1/federation/partners/${id}`],
      ['PATCH', `/v1/federation/partners/${id}`],
      ['DELETE', `/v1/federation/partners/${id}`],
    ] as const) {
      await expectProblem(
        await call(method, path, { body: method === 'POST' || method === 'PATCH' ? { name: 'x' } : undefined }),
        401,
        'unauthorized',
      );
      await expectProblem(await call(method, path, { token: org.api_key }), 401, 'unauthorized');
    }
  });
});

describe('registration', () => {
  it('registers a partner, validates and caches its JWKS', async () => {
    const idp = await newIdp('ES256', 'RS256');
    const res = await admin('POST', '/v1/federation/partners', partnerBody(idp, { audiences: ['https://api.test'] }));
    expect(res.status).toBe(201);
    const p = await json(res);
    expect(p).toMatchObject({
      name: idp.name,
      issuer: idp.issuer,
      jwks_uri: idp.jwksUri,
      allowed_organizations: [],
      audiences: ['https://api.test'],
      organization_claim: 'organization_id',
      status: 'active',
      expires_at: null,
    });
    expect(p.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await idp.hits()).toBe(1);
    if (redis.enabled) {
      const stored = await redis.getJson<any>(`federation:jwks:${idp.issuer}`);
      expect(stored.jwks_uri).toBe(idp.jwksUri);
      expect(stored.keys.map((k: any) => k.kid).sort()).toEqual(idp.keys.map((k) => k.kid).sort());
      expect(JSON.stringify(stored)).not.toMatch(/"d"/);
    }
  });

  it('answers 409 when the issuer exists', async () => {
    const idp = await newIdp('ES256');
    await registerPartner(idp);
    await expectProblem(
      await admin('POST', '/v1/federation/partners', partnerBody(idp, { name: 'again' })),
      409,
      'conflict',
    );
  });

  it('validates the body', async () => {
    const idp = await newIdp('ES256');
    for (const body of [
      { issuer: idp.issuer, jwks_uri: idp.jwksUri },
      partnerBody(idp, { allowed_organizations: ['not-a-uuid'] }),
      partnerBody(idp, { issuer: ` ${idp.issuer}` }),
      partnerBody(idp, { expires_at: 'tomorrow' }),
      partnerBody(idp, { expires_at: '2001-01-01T00:00:00Z' }),
      partnerBody(idp, { status: 'active' }),
    ]) {
      await expectProblem(await admin('POST', '/v1/federation/partners', body), 400, 'validation_failed');
    }
  });

  it('refuses private, loopback, local and non-https jwks_uri when ALLOW_PRIVATE_URLS is off', async () => {
    const strict = clockedApp({ now: () => new Date() }, { ALLOW_PRIVATE_URLS: 'false' });
    for (const uri of [
      'http://jwks.example.com/keys',
      'https://127.0.0.1/jwks',
      'https://localhost/jwks',
      'https://10.1.2.3/jwks',
      'https://192.168.0.10/jwks',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/jwks',
      'https://idp.internal/jwks',
      'https://printer.local/jwks',
      'https://jwks.example.com:8443/keys',
      'not a url',
    ]) {
      const res = await strict('POST', '/v1/federation/partners', {
        token: ADMIN_TOKEN,
        body: { name: 'p', issuer: `https://${unique('strict')}.test`, jwks_uri: uri },
      });
      const body = await expectProblem(res, 400, 'federation_partner_invalid');
      expect(body.detail).toMatch(/jwks_uri/);
    }
  });

  async function refusedWith(answer: Parameters<typeof publish>[1], detail: RegExp): Promise<void> {
    const name = unique('bad');
    await publish(name, answer);
    const res = await admin('POST', '/v1/federation/partners', {
      name,
      issuer: `https://${name}.test`,
      jwks_uri: jwksUrl(name),
    });
    const body = await expectProblem(res, 400, 'federation_partner_invalid');
    expect(body.detail).toMatch(detail);
    // Nothing was stored.
    const list = await json(await admin('GET', '/v1/federation/partners'));
    expect(list.data.some((p: any) => p.name === name)).toBe(false);
  }

  it('refuses a JWKS with a private key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    await refusedWith({ json: { keys: [{ ...(await exportJWK(privateKey)), kid: 'leaked' }] } }, /private member "d"/);
  });

  it('refuses a response that is not JSON, or not a JWKS', async () => {
    await refusedWith({ body: '<html>hello</html>', headers: { 'content-type': 'text/html' } }, /not JSON/);
    await refusedWith({ json: { keys: 'none' } }, /not a JWKS/);
    await refusedWith({ json: [] }, /not a JWKS/);
    await refusedWith({ json: { keys: [] } }, /no usable signing key/);
  });

  it('refuses unusable keys: symmetric, small RSA, off-curve EC, mismatched alg', async () => {
    await refusedWith({ json: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }] } }, /symmetric/);
    // jose will not make a key this small; WebCrypto will.
    const small = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    await refusedWith({ json: { keys: [await exportJWK(small.publicKey)] } }, /1024 bits/);
    const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    const y = ec.y!;
    const flipped = y.slice(0, 10) + (y[10] === 'A' ? 'B' : 'A') + y.slice(11);
    await refusedWith({ json: { keys: [{ ...ec, y: flipped }] } }, /cannot be imported/);
    await refusedWith({ json: { keys: [{ ...ec, alg: 'RS256' }] } }, /does not match/);
    await refusedWith(
      {
        json: {
          keys: [
            { ...ec, kid: 'a' },
            { ...ec, kid: 'a' },
          ],
        },
      },
      /duplicate kid/,
    );
  });

  it('refuses an unreachable host, an error status, a redirect and an oversized response', async () => {
    const res = await admin('POST', '/v1/federation/partners', {
      name: 'x',
      issuer: `https://${unique('down')}.test`,
      jwks_uri: 'http://127.0.0.1:1/jwks',
    });
    expect((await expectProblem(res, 400, 'federation_partner_invalid')).detail).toMatch(/unreachable/);
    await refusedWith({ status: 404, json: { error: 'nope' } }, /HTTP 404/);
    const target = await newIdp('ES256');
    await refusedWith({ status: 302, headers: { location: target.jwksUri } }, /HTTP 302.*redirects/);
    expect(await target.hits()).toBe(0);
    await refusedWith({ json: { keys: [], pad: 'x'.repeat(300 * 1024) } }, /exceeds/);
  });

  it('refuses a host that does not answer within 5 s', async () => {
    await refusedWith({ hang: true }, /did not answer within 5 s/);
  }, 20_000);

  it('skips encryption keys and unsupported key types but keeps the usable ones', async () => {
    const idp = await newIdp('ES256');
    const enc = await exportJWK((await generateKeyPair('RSA-OAEP-256', { extractable: true })).publicKey);
    const p521 = await exportJWK((await generateKeyPair('ES512', { extractable: true })).publicKey);
    await publish(idp.name, {
      json: { keys: [{ ...enc, use: 'enc', kid: 'enc' }, { ...p521, kid: 'p521' }, idp.keys[0]!.publicJwk] },
    });
    await registerPartner(idp);
    expect((await verify(org.api_key, await idp.sign(idp.keys[0]!, org.organization_id))).status).toBe(200);
  });
});

describe('reading, expiry, updates and deletion', () => {
  it('lists newest first and gets one; unknown or malformed ids answer 404 / 400', async () => {
    const a = await registerPartner(await newIdp('ES256'));
    const b = await registerPartner(await newIdp('ES256'));
    const list = await json(await admin('GET', '/v1/federation/partners'));
    const ids = list.data.map((p: any) => p.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    expect(ids.indexOf(a.id)).toBeGreaterThanOrEqual(0);
    expect(await json(await admin('GET', `/v1/federation/partners/${a.id}`))).toEqual(a);
    await expectProblem(await admin('GET', `/v1/federation/partners/${crypto.randomUUID()}`), 404, 'not_found');
    await expectProblem(await admin('GET', '/v1/federation/partners/nope'), 400, 'validation_failed');
  });

  it('marks partners past expires_at as expired when read, and revives them with a new expiry', async () => {
    const clock = new MovableClock('2032-01-01T00:00:00Z');
    const app = clockedApp(clock);
    const idp = await newIdp('ES256');
    const created = await json(
      await app('POST', '/v1/federation/partners', {
        token: ADMIN_TOKEN,
        body: partnerBody(idp, { expires_at: '2032-01-01T01:00:00Z' }),
      }),
    );
    expect(created.status).toBe('active');
    const get = async () => json(await app('GET', `/v1/federation/partners/${created.id}`, { token: ADMIN_TOKEN }));
    expect((await get()).status).toBe('active');
    clock.set('2032-01-01T02:00:00Z');
    expect((await get()).status).toBe('expired');
    const list = await json(await app('GET', '/v1/federation/partners', { token: ADMIN_TOKEN }));
    expect(list.data.find((p: any) => p.id === created.id).status).toBe('expired');
    const revived = await app('PATCH', `/v1/federation/partners/${created.id}`, {
      token: ADMIN_TOKEN,
      body: { expires_at: '2032-06-01T00:00:00Z' },
    });
    expect(await json(revived)).toMatchObject({ status: 'active', expires_at: '2032-06-01T00:00:00.000Z' });
    // A suspended partner stays suspended when it passes its expiry.
    await app('PATCH', `/v1/federation/partners/${created.id}`, { token: ADMIN_TOKEN, body: { status: 'suspended' } });
    clock.set('2032-07-01T00:00:00Z');
    expect((await get()).status).toBe('suspended');
  });

  it('updates fields; validates the patch', async () => {
    const idp = await newIdp('ES256');
    const p = await registerPartner(idp);
    const res = await admin('PATCH', `/v1/federation/partners/${p.id}`, {
      name: 'renamed',
      audiences: ['a'],
      allowed_organizations: [org.organization_id],
      organization_claim: 'org',
    });
    expect(await json(res)).toMatchObject({
      id: p.id,
      name: 'renamed',
      audiences: ['a'],
      allowed_organizations: [org.organization_id],
      organization_claim: 'org',
      issuer: idp.issuer,
    });
    await expectProblem(await admin('PATCH', `/v1/federation/partners/${p.id}`, {}), 400, 'validation_failed');
    await expectProblem(
      await admin('PATCH', `/v1/federation/partners/${p.id}`, { issuer: 'https://other' }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await admin('PATCH', `/v1/federation/partners/${p.id}`, { status: 'expired' }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await admin('PATCH', `/v1/federation/partners/${crypto.randomUUID()}`, { name: 'x' }),
      404,
      'not_found',
    );
  });

  it('a new jwks_uri is validated and replaces the cached keys at once', async () => {
    const idp = await newIdp('ES256');
    const p = await registerPartner(idp);
    const oldToken = await idp.sign(idp.keys[0]!, org.organization_id);
    expect((await verify(org.api_key, oldToken)).status).toBe(200);

    // A bad new JWKS is refused and changes nothing.
    const broken = unique('broken');
    await publish(broken, { body: 'nope' });
    await expectProblem(
      await admin('PATCH', `/v1/federation/partners/${p.id}`, { jwks_uri: jwksUrl(broken) }),
      400,
      'federation_partner_invalid',
    );
    expect((await verify(org.api_key, oldToken)).status).toBe(200);

    // The partner moves to a new endpoint with a new key; the old key must stop working immediately.
    const moved = await newIdp('ES256');
    const res = await admin('PATCH', `/v1/federation/partners/${p.id}`, { jwks_uri: moved.jwksUri });
    expect((await json(res)).jwks_uri).toBe(moved.jwksUri);
    expect(await moved.hits()).toBe(1);
    const newKeyToken = await idp.sign(moved.keys[0]!, org.organization_id);
    expect((await verify(org.api_key, newKeyToken)).status).toBe(200);
    expect(await moved.hits()).toBe(1); // served from the keys cached by the PATCH
    const rejected = await verify(org.api_key, oldToken);
    expect((await expectProblem(rejected, 401, 'federation_verification_failed')).reason).toBe('key_not_found');
    if (redis.enabled) expect((await redis.getJson<any>(`federation:jwks:${idp.issuer}`)).jwks_uri).toBe(moved.jwksUri);
  });

  it('deletion removes the partner and its cached keys', async () => {
    const idp = await newIdp('ES256');
    const p = await registerPartner(idp);
    const token = await idp.sign(idp.keys[0]!, org.organization_id);
    expect((await verify(org.api_key, token)).status).toBe(200);
    expect((await admin('DELETE', `/v1/federation/partners/${p.id}`)).status).toBe(204);
    expect((await expectProblem(await verify(org.api_key, token), 401, 'federation_verification_failed')).reason).toBe(
      'unknown_issuer',
    );
    await expectProblem(await admin('GET', `/v1/federation/partners/${p.id}`), 404, 'not_found');
    await expectProblem(await admin('DELETE', `/v1/federation/partners/${p.id}`), 404, 'not_found');
    expect(await redis.getJson(`federation:jwks:${idp.issuer}`)).toBeUndefined();
    // The same issuer can be registered again.
    expect((await admin('POST', '/v1/federation/partners', partnerBody(idp))).status).toBe(201);
  });
});
