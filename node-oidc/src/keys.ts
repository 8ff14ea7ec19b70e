// Token signing keys of the provider: a private JWKS from OIDC_JWKS, or (locally) a pair generated once and
// kept in a file so tokens stay verifiable across restarts.
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export interface PrivateJwks {
  keys: JWK[];
}

/** Signing algorithm of a key, by its type: EC P-256 → ES256, RSA → RS256 (the only two we sign with). */
function algOf(jwk: JWK): 'ES256' | 'RS256' {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA') return 'RS256';
  throw new Error(`signing key ${jwk.kid ?? '(no kid)'}: only EC P-256 and RSA keys are supported`);
}

/**
 * Checks a private JWKS and fills in what oidc-provider needs: `alg` (from the key type when absent),
 * `use: "sig"` and a `kid` (RFC 7638 thumbprint when absent). Keys are kept in order: the first key of an
 * algorithm signs, the others stay published in the JWKS (rotation: put the new key first, drop the old one
 * once the tokens it signed have expired). ES256 must be present: agent access tokens are ES256.
 */
export async function normalizeJwks(jwks: unknown): Promise<PrivateJwks> {
  const keys = (jwks as PrivateJwks | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error('OIDC_JWKS must be a JWKS: { "keys": [ ... ] }');
  const out: JWK[] = [];
  const kids = new Set<string>();
  for (const key of keys) {
    if (!key || typeof key !== 'object' || !key.d) throw new Error('OIDC_JWKS must hold private keys (with "d")');
    const alg = algOf(key);
    if (key.alg !== undefined && key.alg !== alg)
      throw new Error(`signing key ${key.kid ?? ''}: alg ${key.alg} does not match its type (${alg})`);
    const kid = key.kid ?? (await calculateJwkThumbprint(key, 'sha256'));
    if (kids.has(kid)) throw new Error(`OIDC_JWKS: duplicate kid ${kid}`);
    kids.add(kid);
    out.push({ ...key, alg, use: 'sig', kid });
  }
  if (!out.some((k) => k.alg === 'ES256')) throw new Error('OIDC_JWKS must contain an EC P-256 (ES256) key');
  return { keys: out };
}

/** A fresh ES256 + RS256 pair (ES256 first: it is the algorithm of agent access tokens). */
export async function generateJwks(): Promise<PrivateJwks> {
  const keys: JWK[] = [];
  for (const [alg, opts] of [
    ['ES256', { extractable: true }],
    ['RS256', { extractable: true, modulusLength: 2048 }],
  ] as const) {
    const { privateKey } = await generateKeyPair(alg, opts);
    keys.push(await exportJWK(privateKey));
  }
  return normalizeJwks({ keys });
}

export interface LoadKeysOptions {
  /** The OIDC_JWKS secret (JSON text); wins over the file. */
  jwksJson?: string;
  /** Where generated keys are kept when OIDC_JWKS is unset. */
  keysFile: string;
  /** In production generated keys are refused: each container instance would sign with its own keys. */
  requireConfigured: boolean;
  log: (msg: string) => void;
}

/**
 * The provider's private JWKS: OIDC_JWKS when set; otherwise the keys file, created on first start
 * (mode 0600). The file appears whole (written aside, then hard-linked into place), and when two processes
 * start at once the first link wins and the other reads its keys. Throws when OIDC_JWKS is invalid, or
 * unset while `requireConfigured`.
 */
export async function loadSigningKeys(opts: LoadKeysOptions): Promise<PrivateJwks> {
  if (opts.jwksJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(opts.jwksJson);
    } catch {
      throw new Error('OIDC_JWKS is not valid JSON');
    }
    return normalizeJwks(parsed);
  }
  if (opts.requireConfigured) throw new Error('OIDC_JWKS is required in production (NODE_ENV=production)');
  if (existsSync(opts.keysFile)) {
    return normalizeJwks(JSON.parse(readFileSync(opts.keysFile, 'utf8')));
  }
  const jwks = await generateJwks();
  mkdirSync(dirname(opts.keysFile), { recursive: true });
  const tmp = `${opts.keysFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(jwks, null, 2), { mode: 0o600 });
  try {
    linkSync(tmp, opts.keysFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return normalizeJwks(JSON.parse(readFileSync(opts.keysFile, 'utf8')));
  } finally {
    rmSync(tmp, { force: true });
  }
  opts.log(`generated signing keys (ES256, RS256) in ${opts.keysFile}`);
  return jwks;
}
