// Pure pieces of the federation verifier: canonical base64url, claim checks at the skew boundaries, the
// ROCA fingerprint on fresh keys, and the bounded isolate memory.
import { describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair } from 'jose';
import { isCanonicalBase64url } from '../../../worker/features/federation/base64url.ts';
import { checkClaims, type ClaimPolicy } from '../../../worker/features/federation/claims.ts';
import { hasRocaFingerprint } from '../../../worker/features/federation/roca.ts';
import { IssuerMemory, type CachedPartner } from '../../../worker/features/federation/issuer-memory.ts';
import { FederationVerificationError } from '../../../worker/features/federation/errors.ts';
import { fromB64url } from '../../support/federation.ts';

describe('isCanonicalBase64url', () => {
  it.each(['', 'AA', 'AAA', 'AAAA', 'Zm9v', 'Zm8', 'Zg', '-_-_'])('accepts %j', (s) => expect(isCanonicalBase64url(s)).toBe(true));
  it.each(['A', 'Zm9v=', 'Zg==', 'Zh', 'Zm9', 'Zm+v', 'Zm/v', 'Zm 9v', 'Zm9v\n', 'Zé'])('refuses %j', (s) => expect(isCanonicalBase64url(s)).toBe(false));
});

describe('checkClaims', () => {
  const org = '0b9f3c52-8a4e-4c1e-9d7e-3f2a1b0c9d8e';
  const policy = (p: Partial<ClaimPolicy> = {}): ClaimPolicy => ({
    nowSeconds: 1_000_000,
    skewSeconds: 60,
    audiences: [],
    organizationClaim: 'organization_id',
    allowedOrganizations: [],
    tenantOrganizationId: org,
    ...p,
  });
  const reason = (claims: Record<string, unknown>, p?: Partial<ClaimPolicy>) => {
    try {
      checkClaims({ organization_id: org, exp: 1_000_600, ...claims }, policy(p));
      return 'ok';
    } catch (err) {
      return (err as FederationVerificationError).reason;
    }
  };

  it('applies the skew exactly at the boundaries', () => {
    expect(reason({ exp: 1_000_000 - 59 })).toBe('ok');
    expect(reason({ exp: 1_000_000 - 60 })).toBe('expired');
    expect(reason({ nbf: 1_000_060 })).toBe('ok');
    expect(reason({ nbf: 1_000_061 })).toBe('not_yet_valid');
    expect(reason({ iat: 1_000_060 })).toBe('ok');
    expect(reason({ iat: 1_000_061 })).toBe('not_yet_valid');
    expect(reason({ exp: 1_000_000 }, { skewSeconds: 0 })).toBe('expired');
  });

  it('requires numeric dates and a string subject', () => {
    expect(reason({ exp: undefined })).toBe('malformed');
    expect(reason({ exp: '1000600' })).toBe('malformed');
    expect(reason({ nbf: null })).toBe('malformed');
    expect(reason({ iat: {} })).toBe('malformed');
    expect(reason({ sub: 7 })).toBe('malformed');
  });

  it('checks audiences only when the partner lists some', () => {
    expect(reason({ aud: 'anything' })).toBe('ok');
    expect(reason({ aud: ['x', 'api'] }, { audiences: ['api'] })).toBe('ok');
    expect(reason({ aud: 'api' }, { audiences: ['api'] })).toBe('ok');
    expect(reason({ aud: [1, 'x'] }, { audiences: ['api'] })).toBe('audience_mismatch');
    expect(reason({}, { audiences: ['api'] })).toBe('audience_mismatch');
  });

  it('requires the token to be for the verifying tenant and on the allow list', () => {
    expect(reason({ organization_id: org.toUpperCase() })).toBe('ok');
    expect(reason({ organization_id: crypto.randomUUID() })).toBe('organization_not_allowed');
    expect(reason({ organization_id: undefined })).toBe('organization_not_allowed');
    expect(reason({ organization_id: 42 })).toBe('organization_not_allowed');
    expect(reason({}, { allowedOrganizations: [crypto.randomUUID()] })).toBe('organization_not_allowed');
    expect(reason({}, { allowedOrganizations: [crypto.randomUUID(), org] })).toBe('ok');
    expect(reason({ tenant: org, organization_id: undefined }, { organizationClaim: 'tenant' })).toBe('ok');
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
    mem.setKeys('i', { jwksUri: 'https://a/jwks', keySet: { jwks: [], keys: [] }, fetchedAtMs: 0 });
    mem.setPartner(partner('i', 'https://b/jwks'), 0);
    expect(mem.get('i')?.keys).toBeUndefined();
    expect(mem.claimFetchWindow('i', 7)).toBe(true);
    expect(mem.claimFetchWindow('i', 7)).toBe(false);
    expect(mem.claimFetchWindow('i', 8)).toBe(true);
  });
});
