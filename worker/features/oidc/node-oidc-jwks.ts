import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { AppError } from '../../platform/errors.ts';
import type { NodeOidc } from './node-oidc.ts';

type KeySet = ReturnType<typeof createLocalJWKSet>;

interface Entry {
  keys: KeySet;
  fetchedAtMs: number;
}

// node-oidc's public keys in this isolate's memory, per link (OIDC_ORIGIN or the container). Public keys only:
// a stale entry can at worst refuse a token signed by a key added since, and that triggers a refetch.
const cache = new Map<string, Entry>();

export interface NodeOidcJwksOptions {
  /** Which node-oidc this is (OIDC_ORIGIN, or 'container'): the cache key. */
  cacheKey: string;
  /** How long a fetched JWKS is used before it is fetched again. */
  maxAgeMs: number;
  /** An unknown `kid` refetches at most once per this window. */
  cooldownMs: number;
}

/**
 * The JWKS node-oidc publishes (GET /oidc/jwks over the node-oidc link), cached in isolate memory for
 * `maxAgeMs`; `refresh` asks for a refetch (honoured at most once per `cooldownMs`). Throws
 * `AppError(503, 'oidc_unavailable')` when no link is configured or node-oidc cannot answer.
 */
export async function nodeOidcKeys(
  link: NodeOidc | undefined,
  opts: NodeOidcJwksOptions,
  nowMs: number,
  refresh = false,
): Promise<KeySet> {
  const hit = cache.get(opts.cacheKey);
  const age = hit ? nowMs - hit.fetchedAtMs : Infinity;
  if (hit && age >= 0 && age < (refresh ? opts.cooldownMs : opts.maxAgeMs)) return hit.keys;
  if (!link)
    throw new AppError(
      'oidc_unavailable',
      'The token service is not configured (OIDC_ORIGIN or the NODE_OIDC container)',
    );
  let jwks: JSONWebKeySet;
  try {
    const res = await link.forward('/oidc/jwks', { method: 'GET', headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`status ${res.status}`);
    jwks = (await res.json()) as JSONWebKeySet;
    if (!Array.isArray(jwks?.keys)) throw new Error('not a JWKS');
  } catch (err) {
    console.error(JSON.stringify({ level: 'error', msg: 'node-oidc JWKS fetch failed', error: String(err) }));
    throw new AppError('oidc_unavailable', 'The token service keys are unavailable');
  }
  const keys = createLocalJWKSet(jwks);
  cache.set(opts.cacheKey, { keys, fetchedAtMs: nowMs });
  return keys;
}
