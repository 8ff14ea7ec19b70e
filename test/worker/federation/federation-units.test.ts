// Pieces of the federation verifier without the HTTP API: canonical base64url, claim checks at the skew
// boundaries (signed tokens through verifyPartnerToken), the ROCA fingerprint on fresh keys, and the
// bounded isolate memory.

import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCanonicalBase64url } from '../../../worker/features/federation/base64url.ts';
import { FederationVerificationError } from '../../../worker/features/federation/errors.ts';
import { type CachedPartner, IssuerMemory } from '../../../worker/features/federation/issuer-memory.ts';
import { parseJws } from '../../../worker/features/federation/jws.ts';
import { importJwks, type KeySet, keySetOf } from '../../../worker/features/federation/key-policy.ts';
import { hasRocaFingerprint } from '../../../worker/features/federation/roca.ts';
import { type ClaimPolicy, verifyPartnerToken } from '../../../worker/features/federation/verify-token.ts';
import { fromB64url, signRawEs256 } from '../../support/federation.ts';

describe('isCanonicalBase64url', () => {
  it.each(['', 'AA', 'AAA', 'AAAA', 'Zm9v', 'Zm8', 'Zg', '-_-_'])('accepts %j', (s) =>
    expect(isCanonicalBase64url(s)).toBe(true),
  );
  it.each(['A', 'Zm9v=', 'Zg==', 'Zh', 'Zm9', 'Zm+v', 'Zm/v', 'Zm 9v', 'Zm9v\n', 'Zé'])('refuses %j', (s) =>
    expect(isCanonicalBase64url(s)).toBe(false),
  );
});

describe('verifyPartnerToken claim checks', () => {
  const org = '0b9f3c52-8a4e-4c1e-9d7e-3f2a1b0c9d8e';
  const issuer = 'https://idp.partner.test';
  let privateKey: CryptoKey;
  let keySet: KeySet;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const imported = await importJwks({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] });
    if (!imported.ok) throw new Error(imported.reason);
    keySet = imported.keySet;
  });
  const policy = (p: Partial<ClaimPolicy> = {}): ClaimPolicy => ({
    issuer,
    nowMs: 1_000_000_000,
    skewSeconds: 60,
    audiences: [],
    organizationClaim: 'organization_id',
    allowedOrganizations: [],
    tenantOrganizationId: org,
    ...p,
  });
  const reason = async (claims: Record<string, unknown>, p?: Partial<ClaimPolicy>) => {
    const all: Record<string, unknown> = { iss: issuer, organization_id: org, exp: 1_000_600, ...claims };
    for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
    const token = await new SignJWT(all).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
    try {
      await verifyPartnerToken(
        parseJws(token, 16_384),
        { current: async () => keySet, refresh: async () => undefined },
        policy(p),
      );
      return 'ok';
    } catch (err) {
      if (err instanceof FederationVerificationError) return err.reason;
      throw err;
    }
  };

  const signedByK1 = () =>
    new SignJWT({ iss: issuer, organization_id: org, exp: 1_000_600 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(privateKey);

  it('applies the skew exactly at the boundaries', async () => {
    expect(await reason({ exp: 1_000_000 - 59 })).toBe('ok');
    expect(await reason({ exp: 1_000_000 - 60 })).toBe('expired');
    expect(await reason({ nbf: 1_000_060 })).toBe('ok');
    expect(await reason({ nbf: 1_000_061 })).toBe('not_yet_valid');
    expect(await reason({ iat: 1_000_060 })).toBe('ok');
    expect(await reason({ iat: 1_000_061 })).toBe('not_yet_valid');
    expect(await reason({ exp: 1_000_000 }, { skewSeconds: 0 })).toBe('expired');
  });

  it('requires numeric dates and a string subject', async () => {
    expect(await reason({ exp: undefined })).toBe('malformed');
    expect(await reason({ exp: '1000600' })).toBe('malformed');
    expect(await reason({ nbf: null })).toBe('malformed');
    expect(await reason({ iat: {} })).toBe('malformed');
    expect(await reason({ sub: 7 })).toBe('malformed');
  });

  it('refuses a date of 1e999 (Infinity once parsed) as malformed, not as a token that never expires', async () => {
    const signer = { kid: 'k1', alg: 'ES256' as const, privateKey, publicJwk: {} };
    const token = await signRawEs256(
      signer,
      { alg: 'ES256', kid: 'k1' },
      `{"iss":"${issuer}","organization_id":"${org}","exp":1e999}`,
    );
    const keys = { current: async () => keySet, refresh: async () => undefined };
    await expect(verifyPartnerToken(parseJws(token, 16_384), keys, policy())).rejects.toMatchObject({
      reason: 'malformed',
    });
  });

  it('asks for newer keys only after a miss, and names an ambiguous or mistyped key for what it is', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const second = await importJwks({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k2' }] });
    if (!second.ok) throw new Error(second.reason);
    const token = await new SignJWT({ iss: issuer, organization_id: org, exp: 1_000_600 })
      .setProtectedHeader({ alg: 'ES256', kid: 'k2' })
      .sign(pair.privateKey);
    let refreshes = 0;
    const rotating = {
      current: async () => keySet,
      refresh: async () => {
        refreshes++;
        return second.keySet;
      },
    };
    await expect(verifyPartnerToken(parseJws(token, 16_384), rotating, policy())).resolves.toMatchObject({
      organizationId: org,
    });
    expect(refreshes).toBe(1);

    // No kid, two ES256 keys: which one is meant is not guessed.
    const both = keySetOf([...keySet.jwks, ...second.keySet.jwks].map(({ kid: _kid, ...k }) => k));
    const noKid = await new SignJWT({ iss: issuer, organization_id: org, exp: 1_000_600 })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(privateKey);
    const fixed = { current: async () => both, refresh: async () => undefined };
    await expect(verifyPartnerToken(parseJws(noKid, 16_384), fixed, policy())).rejects.toMatchObject({
      reason: 'key_not_found',
    });
    // A kid naming a key of another type: algorithm confusion.
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const rsaSet = await importJwks({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1' }] });
    if (!rsaSet.ok) throw new Error(rsaSet.reason);
    const wrongType = { current: async () => rsaSet.keySet, refresh: async () => undefined };
    await expect(verifyPartnerToken(parseJws(await signedByK1(), 16_384), wrongType, policy())).rejects.toMatchObject({
      reason: 'alg_not_allowed',
    });
  });

  it('checks audiences only when the partner lists some', async () => {
    expect(await reason({ aud: 'anything' })).toBe('ok');
    expect(await reason({ aud: ['x', 'api'] }, { audiences: ['api'] })).toBe('ok');
    expect(await reason({ aud: 'api' }, { audiences: ['api'] })).toBe('ok');
    expect(await reason({ aud: [1, 'x'] }, { audiences: ['api'] })).toBe('audience_mismatch');
    expect(await reason({}, { audiences: ['api'] })).toBe('audience_mismatch');
  });

  it('requires the token to be for the verifying tenant and on the allow list', async () => {
    expect(await reason({ organization_id: org.toUpperCase() })).toBe('ok');
    expect(await reason({ organization_id: crypto.randomUUID() })).toBe('organization_not_allowed');
    expect(await reason({ organization_id: undefined })).toBe('organization_not_allowed');
    expect(await reason({ organization_id: 42 })).toBe('organization_not_allowed');
    expect(await reason({}, { allowedOrganizations: [crypto.randomUUID()] })).toBe('organization_not_allowed');
    expect(await reason({}, { allowedOrganizations: [crypto.randomUUID(), org] })).toBe('ok');
    expect(await reason({ tenant: org, organization_id: undefined }, { organizationClaim: 'tenant' })).toBe('ok');
  });
});

describe('hasRocaFingerprint', () => {
  it('does not flag freshly generated keys', async () => {
    for (let i = 0; i < 4; i++) {
      const { publicKey } = await generateKeyPair('RS256', { extractable: true });
      expect(hasRocaFingerprint(fromB64url((await exportJWK(publicKey)).n!))).toBe(false);
    }
  });
});

describe('IssuerMemory', () => {
  const partner = (issuer: string, jwksUri = 'https://a/jwks'): CachedPartner => ({
    id: issuer,
    issuer,
    jwksUri,
    status: 'active',
    expiresAtMs: null,
    audiences: [],
    allowedOrganizations: [],
    organizationClaim: 'organization_id',
  });

  it('keeps at most maxEntries issuers, dropping the oldest', () => {
    const mem = new IssuerMemory(3);
    for (const i of ['a', 'b', 'c', 'd']) mem.setPartner(partner(i), 0);
    expect(mem.get('a')).toBeUndefined();
    expect(mem.get('d')?.partner?.issuer).toBe('d');
  });

  it('drops keys from another jwks_uri and grants one fetch per window', () => {
    const mem = new IssuerMemory(10);
    mem.setKeys('i', { jwksUri: 'https://a/jwks', keySet: keySetOf([]), fetchedAtMs: 0 });
    mem.setPartner(partner('i', 'https://b/jwks'), 0);
    expect(mem.get('i')?.keys).toBeUndefined();
    expect(mem.claimFetchWindow('i', 7)).toBe(true);
    expect(mem.claimFetchWindow('i', 7)).toBe(false);
    expect(mem.claimFetchWindow('i', 8)).toBe(true);
  });
});
