// Pure parts of node-oidc: signing-key checks and the hashed client-secret comparison.

import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { allowedScopes, matchesAnyHash } from '../../node-oidc/src/agent-clients.ts';
import { generateJwks, loadSigningKeys, normalizeJwks } from '../../node-oidc/src/keys.ts';
import { sha256Hex } from '../../worker/platform/crypto.ts';

const privateJwk = async (alg: 'ES256' | 'RS256' | 'ES384' | 'EdDSA') =>
  exportJWK((await generateKeyPair(alg, { extractable: true })).privateKey);

describe('signing keys', () => {
  it('generates ES256 first and RS256, each with alg, use and a thumbprint kid', async () => {
    const { keys } = await generateJwks();
    expect(keys.map((k) => [k.kty, k.alg, k.use])).toEqual([
      ['EC', 'ES256', 'sig'],
      ['RSA', 'RS256', 'sig'],
    ]);
    for (const k of keys) {
      expect(k.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(k.d).toBeTruthy();
    }
  });

  it('keeps the configured order (the first key of an algorithm signs; the others stay published)', async () => {
    const [newer, older] = [await privateJwk('ES256'), await privateJwk('ES256')];
    const { keys } = await normalizeJwks({
      keys: [{ ...newer, kid: 'es-2' }, { ...older, kid: 'es-1' }, await privateJwk('RS256')],
    });
    expect(keys.map((k) => k.kid).slice(0, 2)).toEqual(['es-2', 'es-1']);
    expect(keys.map((k) => k.alg)).toEqual(['ES256', 'ES256', 'RS256']);
  });

  it('refuses public keys, keys without ES256, unsupported curves, mismatched alg and duplicate kids', async () => {
    const es = await privateJwk('ES256');
    const { d: _d, ...pub } = es;
    const cases: unknown[] = [
      null,
      {},
      { keys: [] },
      { keys: [pub] },
      { keys: [await privateJwk('RS256')] },
      { keys: [await privateJwk('ES384')] },
      { keys: [await privateJwk('EdDSA')] },
      { keys: [{ ...es, alg: 'RS256' }] },
      {
        keys: [
          { ...es, kid: 'a' },
          { ...(await privateJwk('ES256')), kid: 'a' },
        ],
      },
    ];
    for (const c of cases) await expect(normalizeJwks(c), JSON.stringify(c)?.slice(0, 40)).rejects.toThrow();
  });

  it('takes OIDC_JWKS over the keys file, and refuses to generate keys in production', async () => {
    const es = await privateJwk('ES256');
    const fromEnv = await loadSigningKeys({
      jwksJson: JSON.stringify({ keys: [{ ...es, kid: 'configured' }] }),
      keysFile: '/nonexistent/never-read.json',
      requireConfigured: true,
      log: () => undefined,
    });
    expect(fromEnv.keys.map((k) => k.kid)).toEqual(['configured']);
    await expect(
      loadSigningKeys({ jwksJson: '{not json', keysFile: '/x', requireConfigured: false, log: () => undefined }),
    ).rejects.toThrow('OIDC_JWKS is not valid JSON');
    await expect(loadSigningKeys({ keysFile: '/x', requireConfigured: true, log: () => undefined })).rejects.toThrow(
      /required in production/,
    );
  });
});

describe('client secrets', () => {
  it('matches a secret against any of several SHA-256 hashes, and nothing else', async () => {
    const [a, b] = ['aidp_cs_first', 'aidp_cs_second'];
    const hashes = [await sha256Hex(a), await sha256Hex(b)];
    expect(matchesAnyHash(a, hashes)).toBe(true);
    expect(matchesAnyHash(b, hashes)).toBe(true);
    expect(matchesAnyHash('aidp_cs_third', hashes)).toBe(false);
    expect(matchesAnyHash(a, [])).toBe(false);
    // The hash itself is not a secret that works.
    expect(matchesAnyHash(hashes[0]!, hashes)).toBe(false);
    expect(matchesAnyHash(a, ['not-hex', ''])).toBe(false);
  });

  it('allows as scopes only the capabilities that are valid scope tokens', () => {
    expect(
      allowedScopes(['search', 'read:docs', 'with space', 'quote"', 'back\\slash', '', 'search', 42, 'ünicode']),
    ).toEqual(['search', 'read:docs']);
    expect(allowedScopes(null)).toEqual([]);
  });
});
