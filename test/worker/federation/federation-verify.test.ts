// POST /v1/federation/verify against real partner IdPs: keys made with jose, public JWKS served by the
// local JWKS server, tokens signed with the partners' private keys.

import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { clockedApp, MovableClock } from '../../support/clocked-app.ts';
import {
  b64url,
  fromB64url,
  jwksHits,
  jwksUrl,
  makeKey,
  newIdp,
  type PartnerAlg,
  publish,
  registerPartner,
  signRawEs256,
  unique,
  verify,
} from '../../support/federation.ts';
import { ADMIN_TOKEN, call, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

let org: Org;
beforeAll(async () => {
  org = await createOrg('enterprise');
});

async function expectReason(res: Response, reason: string): Promise<void> {
  const body = await expectProblem(res, 401, 'federation_verification_failed');
  expect(body.reason).toBe(reason);
}

describe('valid tokens', () => {
  it.each<PartnerAlg>(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'])('verifies %s', async (alg) => {
    const idp = await newIdp(alg);
    await registerPartner(idp);
    const token = await idp.sign(idp.keys[0]!, org.organization_id, { claims: { scope: 'read' } });
    const res = await verify(org.api_key, token);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({
      valid: true,
      issuer: idp.issuer,
      subject: 'user-42',
      organization_id: org.organization_id,
    });
    expect(body.claims).toMatchObject({ iss: idp.issuer, scope: 'read' });
  });

  it('picks the only key of the algorithm type when the token has no kid', async () => {
    const idp = await newIdp('RS256', 'ES256');
    await registerPartner(idp);
    const token = await idp.sign(idp.keys[1]!, org.organization_id, { header: { kid: undefined } });
    expect((await verify(org.api_key, token)).status).toBe(200);
  });

  it('uses a custom organization claim and accepts a listed audience', async () => {
    const idp = await newIdp('ES256');
    await registerPartner(idp, {
      organization_claim: 'tenant',
      audiences: ['https://api.one', 'https://api.two'],
      allowed_organizations: [org.organization_id],
    });
    const token = await idp.sign(idp.keys[0]!, 'ignored', {
      claims: { tenant: org.organization_id, aud: ['https://x', 'https://api.two'] },
    });
    const res = await verify(org.api_key, token);
    expect(res.status).toBe(200);
    expect((await json(res)).organization_id).toBe(org.organization_id);
  });

  it('tolerates the configured clock skew on exp', async () => {
    const idp = await newIdp('ES256');
    await registerPartner(idp);
    const now = Math.floor(Date.now() / 1000);
    const token = await idp.sign(idp.keys[0]!, org.organization_id, { claims: { exp: now - 20 } });
    expect((await verify(org.api_key, token)).status).toBe(200);
  });

  it('serves later verifications from cache without fetching the JWKS again', async () => {
    const idp = await newIdp('ES256');
    await registerPartner(idp);
    expect(await idp.hits()).toBe(1); // the registration fetch
    for (let i = 0; i < 3; i++) {
      expect((await verify(org.api_key, await idp.sign(idp.keys[0]!, org.organization_id))).status).toBe(200);
    }
    expect(await idp.hits()).toBe(1);
  });

  it('requires a tenant API key', async () => {
    const res = await call('POST', '/v1/federation/verify', { body: { token: 'a.b.c' } });
    await expectProblem(res, 401, 'unauthorized');
  });
});

describe('key rotation and the refetch cooldown', () => {
  // A fixed clock in the middle of a 30 s cooldown window, so that "same window" never straddles a boundary.
  const T0 = Date.parse('2031-05-05T10:00:10Z');

  it('verifies a new kid after exactly one refetch, then refuses random kids without fetching', async () => {
    const clock = new MovableClock(new Date(T0).toISOString());
    const app = clockedApp(clock);
    const nowS = () => Math.floor(clock.now().getTime() / 1000);
    const idp = await newIdp('ES256');
    expect(
      (
        await app('POST', '/v1/federation/partners', {
          token: ADMIN_TOKEN,
          body: { name: idp.name, issuer: idp.issuer, jwks_uri: idp.jwksUri },
        })
      ).status,
    ).toBe(201);
    const call = async (token: string) => app('POST', '/v1/federation/verify', { token: org.api_key, body: { token } });

    expect((await call(await idp.sign(idp.keys[0]!, org.organization_id, {}, nowS()))).status).toBe(200);
    expect(await idp.hits()).toBe(1);

    const rotated = await idp.addKey('ES256'); // partner publishes a new key with a new kid
    const res = await call(await idp.sign(rotated, org.organization_id, {}, nowS()));
    expect(res.status).toBe(200);
    expect(await idp.hits()).toBe(2); // one refetch
    expect((await call(await idp.sign(rotated, org.organization_id, {}, nowS()))).status).toBe(200);
    expect(await idp.hits()).toBe(2);

    // Random kids in the same window: refused, and the partner is not asked again.
    for (let i = 0; i < 5; i++) {
      const stranger = await makeKey('ES256');
      await expectReason(await call(await idp.sign(stranger, org.organization_id, {}, nowS())), 'key_not_found');
    }
    expect(await idp.hits()).toBe(2);

    // Next window: one more refetch is allowed (and the kid is still unknown).
    clock.set(new Date(T0 + 30_000).toISOString());
    await expectReason(
      await call(await idp.sign(await makeKey('ES256'), org.organization_id, {}, nowS())),
      'key_not_found',
    );
    await expectReason(
      await call(await idp.sign(await makeKey('ES256'), org.organization_id, {}, nowS())),
      'key_not_found',
    );
    expect(await idp.hits()).toBe(3);
    // The old key still verifies from cache.
    expect((await call(await idp.sign(idp.keys[0]!, org.organization_id, {}, nowS()))).status).toBe(200);
    expect(await idp.hits()).toBe(3);
  });
});

describe('attack table', () => {
  let partnerOrg: Org;
  let idp: Awaited<ReturnType<typeof newIdp>>;
  beforeAll(async () => {
    partnerOrg = await createOrg('enterprise');
    idp = await newIdp('RS256', 'ES256');
    await registerPartner(idp);
  });
  const rsa = () => idp.keys[0]!;
  const ec = () => idp.keys[1]!;
  const good = (opts = {}) => idp.sign(ec(), partnerOrg.organization_id, opts);
  const parts = (t: string) => t.split('.') as [string, string, string];

  it('alg: none → alg_not_allowed', async () => {
    const claims = JSON.parse(new TextDecoder().decode(fromB64url(parts(await good())[1])));
    const token = `${b64url({ alg: 'none', kid: ec().kid })}.${b64url(claims)}.`;
    await expectReason(await verify(partnerOrg.api_key, token), 'alg_not_allowed');
  });

  it('HS256 keyed with the partner public key → alg_not_allowed', async () => {
    const publicKey = await crypto.subtle.importKey(
      'jwk',
      rsa().publicJwk as unknown as JsonWebKey,
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      true,
      ['verify'],
    );
    for (const secret of [
      new TextEncoder().encode(await exportSPKI(publicKey)),
      new TextEncoder().encode(JSON.stringify(rsa().publicJwk)),
    ]) {
      const token = await new SignJWT({
        iss: idp.issuer,
        organization_id: partnerOrg.organization_id,
        exp: Math.floor(Date.now() / 1000) + 600,
      })
        .setProtectedHeader({ alg: 'HS256', kid: rsa().kid })
        .sign(secret);
      await expectReason(await verify(partnerOrg.api_key, token), 'alg_not_allowed');
    }
  });

  it("a jwk header carrying the attacker's own key → signature_invalid", async () => {
    const attacker = await makeKey('ES256');
    // Without a kid the partner's only ES256 key is used; with the partner's kid, that key is used.
    for (const kid of [undefined, ec().kid]) {
      const token = await idp.sign(attacker, partnerOrg.organization_id, { header: { kid, jwk: attacker.publicJwk } });
      await expectReason(await verify(partnerOrg.api_key, token), 'signature_invalid');
    }
  });

  it('a jku pointing elsewhere is never fetched → key_not_found', async () => {
    const attacker = await makeKey('ES256');
    const elsewhere = unique('attacker');
    await publish(elsewhere, { json: { keys: [attacker.publicJwk] } });
    const token = await idp.sign(attacker, partnerOrg.organization_id, {
      header: { jku: jwksUrl(elsewhere), x5u: jwksUrl(elsewhere) },
    });
    await expectReason(await verify(partnerOrg.api_key, token), 'key_not_found');
    expect(await jwksHits(elsewhere)).toBe(0);
  });

  it('an ES256 signature with r = s = 0 → signature_invalid', async () => {
    const [h, p] = parts(await good());
    await expectReason(
      await verify(partnerOrg.api_key, `${h}.${p}.${b64url(new Uint8Array(64))}`),
      'signature_invalid',
    );
  });

  it('an ES256 signature in DER instead of raw r‖s → signature_invalid', async () => {
    const [h, p, s] = parts(await good());
    const raw = fromB64url(s);
    const int = (b: Uint8Array) => {
      let i = 0;
      while (i < b.length - 1 && b[i] === 0) i++;
      const v = b.slice(i);
      return v[0]! & 0x80 ? Uint8Array.of(0x02, v.length + 1, 0, ...v) : Uint8Array.of(0x02, v.length, ...v);
    };
    const r = int(raw.slice(0, 32));
    const sv = int(raw.slice(32));
    const der = Uint8Array.of(0x30, r.length + sv.length, ...r, ...sv);
    await expectReason(await verify(partnerOrg.api_key, `${h}.${p}.${b64url(der)}`), 'signature_invalid');
  });

  it('a truncated signature → signature_invalid', async () => {
    for (const t of [await good(), await idp.sign(rsa(), partnerOrg.organization_id)]) {
      const [h, p, s] = parts(t);
      const sig = fromB64url(s);
      await expectReason(
        await verify(partnerOrg.api_key, `${h}.${p}.${b64url(sig.slice(0, sig.length - 1))}`),
        'signature_invalid',
      );
      await expectReason(
        await verify(partnerOrg.api_key, `${h}.${p}.${b64url(sig.slice(0, sig.length / 2))}`),
        'signature_invalid',
      );
    }
  });

  it('a payload changed after signing → signature_invalid', async () => {
    const [h, p, s] = parts(await good());
    const claims = JSON.parse(new TextDecoder().decode(fromB64url(p)));
    await expectReason(
      await verify(partnerOrg.api_key, `${h}.${b64url({ ...claims, sub: 'admin' })}.${s}`),
      'signature_invalid',
    );
  });

  it('expired → expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectReason(
      await verify(partnerOrg.api_key, await good({ claims: { iat: now - 7200, exp: now - 3600 } })),
      'expired',
    );
  });

  it('not yet valid → not_yet_valid (nbf, and iat in the future)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectReason(
      await verify(partnerOrg.api_key, await good({ claims: { nbf: now + 3600, exp: now + 7200 } })),
      'not_yet_valid',
    );
    await expectReason(
      await verify(partnerOrg.api_key, await good({ claims: { iat: now + 3600, exp: now + 7200 } })),
      'not_yet_valid',
    );
  });

  it('unknown issuer → unknown_issuer', async () => {
    await expectReason(
      await verify(partnerOrg.api_key, await good({ claims: { iss: `https://${unique('nobody')}.test` } })),
      'unknown_issuer',
    );
    await expectReason(await verify(partnerOrg.api_key, await good({ claims: { iss: undefined } })), 'unknown_issuer');
  });

  it('suspended partner → partner_suspended, and active again after reinstatement', async () => {
    const other = await newIdp('ES256');
    const partner = await registerPartner(other);
    const token = await other.sign(other.keys[0]!, partnerOrg.organization_id);
    expect((await verify(partnerOrg.api_key, token)).status).toBe(200);
    const patch = (status: string) =>
      call('PATCH', `/v1/federation/partners/${partner.id}`, { token: ADMIN_TOKEN, body: { status } });
    expect((await patch('suspended')).status).toBe(200);
    await expectReason(await verify(partnerOrg.api_key, token), 'partner_suspended');
    expect((await patch('active')).status).toBe(200);
    expect((await verify(partnerOrg.api_key, token)).status).toBe(200);
  });

  it('expired partner → partner_expired', async () => {
    const clock = new MovableClock('2031-06-01T00:00:00Z');
    const app = clockedApp(clock);
    const other = await newIdp('ES256');
    const created = await app('POST', '/v1/federation/partners', {
      token: ADMIN_TOKEN,
      body: { name: other.name, issuer: other.issuer, jwks_uri: other.jwksUri, expires_at: '2031-06-01T01:00:00Z' },
    });
    expect(created.status).toBe(201);
    const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
    const check = async (iso: string) => {
      clock.set(iso);
      const token = await other.sign(other.keys[0]!, partnerOrg.organization_id, {}, at(iso));
      return app('POST', '/v1/federation/verify', { token: partnerOrg.api_key, body: { token } });
    };
    expect((await check('2031-06-01T00:30:00Z')).status).toBe(200);
    await expectReason(await check('2031-06-01T01:00:01Z'), 'partner_expired');
  });

  it('organization not allowed → organization_not_allowed', async () => {
    const allowedOrg = await createOrg('enterprise');
    const other = await newIdp('ES256');
    await registerPartner(other, { allowed_organizations: [allowedOrg.organization_id] });
    const key = other.keys[0]!;
    // The allowed organization verifies its own token.
    expect((await verify(allowedOrg.api_key, await other.sign(key, allowedOrg.organization_id))).status).toBe(200);
    // A tenant the partner may not issue for, with a token naming that tenant.
    await expectReason(
      await verify(partnerOrg.api_key, await other.sign(key, partnerOrg.organization_id)),
      'organization_not_allowed',
    );
    // A tenant replaying a token issued for another organization.
    await expectReason(
      await verify(partnerOrg.api_key, await other.sign(key, allowedOrg.organization_id)),
      'organization_not_allowed',
    );
    await expectReason(
      await verify(partnerOrg.api_key, await idp.sign(ec(), org.organization_id)),
      'organization_not_allowed',
    );
    // No organization claim at all.
    await expectReason(
      await verify(partnerOrg.api_key, await good({ claims: { organization_id: undefined } })),
      'organization_not_allowed',
    );
  });

  it('audience mismatch → audience_mismatch', async () => {
    const other = await newIdp('ES256');
    await registerPartner(other, { audiences: ['https://api.agentidp.test'] });
    const key = other.keys[0]!;
    await expectReason(
      await verify(
        partnerOrg.api_key,
        await other.sign(key, partnerOrg.organization_id, { claims: { aud: 'https://elsewhere.test' } }),
      ),
      'audience_mismatch',
    );
    await expectReason(
      await verify(partnerOrg.api_key, await other.sign(key, partnerOrg.organization_id)),
      'audience_mismatch',
    );
    expect(
      (
        await verify(
          partnerOrg.api_key,
          await other.sign(key, partnerOrg.organization_id, { claims: { aud: 'https://api.agentidp.test' } }),
        )
      ).status,
    ).toBe(200);
  });

  it('a 1 MB token → token_too_large', async () => {
    const token = await good({ claims: { pad: 'x'.repeat(745_000) } });
    expect(token.length).toBeGreaterThan(990_000);
    expect(token.length).toBeLessThan(1_040_000);
    await expectReason(await verify(partnerOrg.api_key, token), 'token_too_large');
  });

  it('a token that is not three base64url parts → malformed', async () => {
    const [h, p, s] = parts(await good());
    for (const token of [
      '',
      'abc',
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}.${p}.${s}!`,
      `${h}.${p}.${s}=`,
      `${h}=.${p}.${s}`,
      ` ${h}.${p}.${s}`,
      `${h}..${s}`,
    ]) {
      await expectReason(await verify(partnerOrg.api_key, token), 'malformed');
    }
  });

  it('an ES256 token naming the RSA key → alg_not_allowed', async () => {
    const token = await idp.sign(ec(), partnerOrg.organization_id, { header: { kid: rsa().kid } });
    await expectReason(await verify(partnerOrg.api_key, token), 'alg_not_allowed');
  });

  it('other refused algorithms and critical headers', async () => {
    const { privateKey } = await generateKeyPair('RS512', { extractable: true });
    const rs512 = await new SignJWT({ iss: idp.issuer, exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'RS512', kid: rsa().kid })
      .sign(privateKey);
    await expectReason(await verify(partnerOrg.api_key, rs512), 'alg_not_allowed');
    const claims = {
      iss: idp.issuer,
      organization_id: partnerOrg.organization_id,
      exp: Math.floor(Date.now() / 1000) + 600,
    };
    for (const crit of [['exp'], ['b64'], ['urn:example:unknown']]) {
      const token = await signRawEs256(
        ec(),
        { alg: 'ES256', kid: ec().kid, crit, exp: 1, b64: true, 'urn:example:unknown': 1 },
        claims,
      );
      await expectReason(await verify(partnerOrg.api_key, token), 'malformed');
    }
  });

  it('claims that are not well-formed → malformed', async () => {
    await expectReason(await verify(partnerOrg.api_key, await good({ claims: { exp: undefined } })), 'malformed');
    await expectReason(await verify(partnerOrg.api_key, await good({ claims: { exp: 'tomorrow' } })), 'malformed');
    await expectReason(
      await verify(partnerOrg.api_key, await signRawEs256(ec(), { alg: 'ES256', kid: ec().kid }, [1, 2])),
      'malformed',
    );
    await expectReason(
      await verify(partnerOrg.api_key, await signRawEs256(ec(), { alg: 'ES256', kid: ec().kid }, 'not json')),
      'malformed',
    );
  });
});
