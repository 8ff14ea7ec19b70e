import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { NodeOidc } from '../../../worker/features/oidc/node-oidc.ts';
import { nodeOidcKeys } from '../../../worker/features/oidc/node-oidc-jwks.ts';

/** A node-oidc link whose /oidc/jwks serves `current.keys` and counts fetches. */
function fakeLink(current: { keys: unknown[] }) {
  const seen = { fetches: 0 };
  const link = new NodeOidc(async (req) => {
    expect(new URL(req.url).pathname).toBe('/oidc/jwks');
    seen.fetches++;
    return Response.json({ keys: current.keys });
  }, undefined);
  return { link, seen };
}

async function key(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

describe("node-oidc's JWKS in isolate memory", () => {
  it('is reused within its lifetime, refetched after it, and refetched on an unknown kid at most once per cooldown', async () => {
    const k1 = await key('k1');
    const k2 = await key('k2');
    const served = { keys: [k1.jwk] as unknown[] };
    const { link, seen } = fakeLink(served);
    const opts = { cacheKey: `test-${crypto.randomUUID()}`, maxAgeMs: 60_000, cooldownMs: 10_000 };
    const t0 = 1_000_000;

    await nodeOidcKeys(link, opts, t0);
    await nodeOidcKeys(link, opts, t0 + 59_000);
    expect(seen.fetches).toBe(1);

    // Rotation: node-oidc now signs with k2. A token with kid k2 is unknown to the cached set...
    served.keys = [k2.jwk, k1.jwk];
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k2' }).sign(k2.privateKey);
    await expect(jwtVerify(token, await nodeOidcKeys(link, opts, t0 + 5_000))).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    // ...a refresh inside the cooldown does not fetch; after it, it does and the token verifies.
    await nodeOidcKeys(link, opts, t0 + 5_000, true);
    expect(seen.fetches).toBe(1);
    const fresh = await nodeOidcKeys(link, opts, t0 + 11_000, true);
    expect(seen.fetches).toBe(2);
    await expect(jwtVerify(token, fresh)).resolves.toBeTruthy();

    // Past the lifetime, a plain read refetches.
    await nodeOidcKeys(link, opts, t0 + 11_000 + 60_000);
    expect(seen.fetches).toBe(3);
  });

  it('answers 503 oidc_unavailable without a link or when node-oidc fails', async () => {
    const opts = { cacheKey: `test-${crypto.randomUUID()}`, maxAgeMs: 60_000, cooldownMs: 10_000 };
    await expect(nodeOidcKeys(undefined, opts, 0)).rejects.toMatchObject({ code: 'oidc_unavailable' });
    const broken = new NodeOidc(async () => new Response('nope', { status: 502 }), undefined);
    await expect(nodeOidcKeys(broken, opts, 0)).rejects.toMatchObject({ code: 'oidc_unavailable' });
  });
});
