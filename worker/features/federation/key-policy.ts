import { createLocalJWKSet, importJWK, type LocalJWKSet } from 'jose';
import { decodeBase64urlStrict } from './base64url.ts';
import { hasRocaFingerprint } from './roca.ts';

/** The only algorithms a federated token may use, each bound to one key type. */
export const FEDERATION_ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;
export type FederationAlg = (typeof FEDERATION_ALGS)[number];

export const isFederationAlg = (v: unknown): v is FederationAlg =>
  typeof v === 'string' && (FEDERATION_ALGS as readonly string[]).includes(v);

/** The public members kept of a usable key: what is cached in Redis and re-checked when read back. */
export interface PublicJwk {
  kty: 'RSA' | 'EC' | 'OKP';
  kid?: string;
  alg?: FederationAlg;
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

/** A partner's usable public keys and jose's resolver over them. */
export interface KeySet {
  readonly jwks: PublicJwk[];
  /** Picks the one key for a header's `alg` and `kid` (type, curve and `alg` must fit); imports it once per algorithm. */
  readonly resolve: LocalJWKSet;
}

/** A KeySet over keys that passed importJwks. */
export const keySetOf = (jwks: PublicJwk[]): KeySet => ({ jwks, resolve: createLocalJWKSet({ keys: jwks }) });

export type JwksImport = { ok: true; keySet: KeySet; skipped: number } | { ok: false; reason: string };

export const MAX_JWKS_KEYS = 100;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
const EC_SIZES: Record<string, { bytes: number; alg: FederationAlg }> = {
  'P-256': { bytes: 32, alg: 'ES256' },
  'P-384': { bytes: 48, alg: 'ES384' },
};

type KeyCheck = { use: PublicJwk; algs: FederationAlg[] } | { skip: string } | { refuse: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bitLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

function bytesToNumber(bytes: Uint8Array): number {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

/** The algorithms a key may verify: its own `alg` when given (it must fit the key type), else its type's. */
function algsFor(
  jwk: Record<string, unknown>,
  typeAlgs: FederationAlg[],
): { algs: FederationAlg[] } | { skip: string } | { refuse: string } {
  if (jwk.alg === undefined) return { algs: typeAlgs };
  if (!isFederationAlg(jwk.alg)) return { skip: `alg ${String(jwk.alg)} is not supported` };
  if (!typeAlgs.includes(jwk.alg)) return { refuse: `alg ${jwk.alg} does not match the key type` };
  return { algs: [jwk.alg] };
}

function checkRsa(jwk: Record<string, unknown>): KeyCheck {
  const n = decodeBase64urlStrict(jwk.n);
  const e = decodeBase64urlStrict(jwk.e);
  if (!n || !e) return { refuse: 'RSA key needs base64url "n" and "e"' };
  const bits = bitLength(n);
  if (bits < MIN_RSA_BITS) return { refuse: `RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are required` };
  if (bits > MAX_RSA_BITS) return { refuse: `RSA key of ${bits} bits; at most ${MAX_RSA_BITS} are accepted` };
  if ((n[n.length - 1]! & 1) === 0) return { refuse: 'RSA modulus is even' };
  const eBits = bitLength(e);
  const exponent = eBits <= 32 ? bytesToNumber(e) : NaN;
  if (!Number.isFinite(exponent) || exponent < 3 || exponent % 2 === 0)
    return { refuse: 'RSA public exponent must be odd, at least 3 and at most 32 bits' };
  if (hasRocaFingerprint(n)) return { refuse: 'RSA key has the ROCA fingerprint (CVE-2017-15361)' };
  const algs = algsFor(jwk, ['RS256', 'PS256']);
  if (!('algs' in algs)) return algs;
  return { use: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }, algs: algs.algs };
}

function checkEc(jwk: Record<string, unknown>): KeyCheck {
  if (typeof jwk.crv !== 'string') return { refuse: 'EC key needs "crv"' };
  const size = EC_SIZES[jwk.crv];
  if (!size) return { skip: `curve ${jwk.crv} is not supported` };
  const x = decodeBase64urlStrict(jwk.x);
  const y = decodeBase64urlStrict(jwk.y);
  if (!x || !y || x.length !== size.bytes || y.length !== size.bytes) {
    return { refuse: `${jwk.crv} key needs ${size.bytes}-byte base64url "x" and "y"` };
  }
  const algs = algsFor(jwk, [size.alg]);
  if (!('algs' in algs)) return algs;
  return { use: { kty: 'EC', crv: jwk.crv, x: jwk.x as string, y: jwk.y as string }, algs: algs.algs };
}

function checkOkp(jwk: Record<string, unknown>): KeyCheck {
  if (jwk.crv !== 'Ed25519') return { skip: `OKP curve ${String(jwk.crv)} is not supported` };
  const x = decodeBase64urlStrict(jwk.x);
  if (x?.length !== 32) return { refuse: 'Ed25519 key needs a 32-byte base64url "x"' };
  const algs = algsFor(jwk, ['EdDSA']);
  if (!('algs' in algs)) return algs;
  return { use: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }, algs: algs.algs };
}

/** Classifies one JWK: usable for verification, skipped (not a signing key we support), or refused. */
function checkKey(jwk: unknown): KeyCheck {
  if (!isObject(jwk)) return { refuse: 'every key must be a JSON object' };
  if (jwk.kty === 'oct') return { refuse: 'symmetric keys must not be published' };
  const secret = PRIVATE_MEMBERS.find((m) => m in jwk);
  if (secret) return { refuse: `a key carries the private member "${secret}"` };
  if (typeof jwk.kty !== 'string') return { refuse: 'every key needs "kty"' };
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return { refuse: '"kid" must be a string' };
  if (jwk.use !== undefined && jwk.use !== 'sig') return { skip: 'not a signing key (use)' };
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops)) return { refuse: '"key_ops" must be an array' };
    if (!jwk.key_ops.includes('verify')) return { skip: 'not a verification key (key_ops)' };
  }
  const checked =
    jwk.kty === 'RSA'
      ? checkRsa(jwk)
      : jwk.kty === 'EC'
        ? checkEc(jwk)
        : jwk.kty === 'OKP'
          ? checkOkp(jwk)
          : { skip: `kty ${jwk.kty} is not supported` };
  if ('use' in checked) {
    if (jwk.kid !== undefined) checked.use.kid = jwk.kid as string;
    if (jwk.alg !== undefined) checked.use.alg = jwk.alg as FederationAlg;
  }
  return checked;
}

/**
 * Validates a partner JWKS and imports its usable keys. Refused outright: anything that is not
 * `{ keys: [...] }`, more than MAX_JWKS_KEYS keys, any private or symmetric key material, RSA keys under
 * 2048 bits or with a bad exponent or the ROCA fingerprint, EC points off the curve, an `alg` that does not
 * fit its key, duplicate `kid`s, and a set with no usable key. Encryption keys and key types or algorithms
 * we do not verify with (P-521, RS512, X25519, ...) are skipped.
 */
export async function importJwks(input: unknown): Promise<JwksImport> {
  if (!isObject(input) || !Array.isArray(input.keys))
    return { ok: false, reason: 'not a JWKS: expected {"keys": [...]}' };
  if (input.keys.length > MAX_JWKS_KEYS) return { ok: false, reason: `more than ${MAX_JWKS_KEYS} keys` };
  const jwks: PublicJwk[] = [];
  const kids = new Set<string>();
  let skipped = 0;
  for (const raw of input.keys) {
    const checked = checkKey(raw);
    if ('refuse' in checked) return { ok: false, reason: checked.refuse };
    if ('skip' in checked) {
      skipped++;
      continue;
    }
    const { use: jwk, algs } = checked;
    if (jwk.kid !== undefined) {
      if (kids.has(jwk.kid)) return { ok: false, reason: `duplicate kid "${jwk.kid}"` };
      kids.add(jwk.kid);
    }
    // A trial import refuses what WebCrypto would refuse at verification time (an EC point off its curve).
    try {
      const { kid: _kid, alg: _alg, ...material } = jwk;
      await importJWK(material, algs[0]!, { extractable: false });
    } catch (err) {
      return { ok: false, reason: `a key cannot be imported: ${err instanceof Error ? err.message : String(err)}` };
    }
    jwks.push(jwk);
  }
  if (jwks.length === 0) return { ok: false, reason: 'the JWKS holds no usable signing key' };
  return { ok: true, keySet: keySetOf(jwks), skipped };
}
