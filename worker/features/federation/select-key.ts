import { verificationFailed } from './errors.ts';
import type { FederationAlg, KeySet } from './key-policy.ts';

export type KeySelection =
  | { key: CryptoKey }
  /** No key with this kid (or, without a kid, none of the algorithm's type): worth one refetch. */
  | { miss: 'unknown' }
  /** The kid names a key of another type than the algorithm: an algorithm-confusion attempt. */
  | { miss: 'type_mismatch' }
  /** No kid and several keys of the algorithm's type. */
  | { miss: 'ambiguous' };

/**
 * Picks the verification key: by `kid` when the token names one (and the key must accept `alg`), else the
 * only key that accepts `alg`. Never looks at `jwk`, `jku`, `x5u` or `x5c`.
 */
export function selectKey(keySet: KeySet, alg: FederationAlg, kid: string | undefined): KeySelection {
  if (kid !== undefined) {
    const named = keySet.keys.find((k) => k.kid === kid);
    if (!named) return { miss: 'unknown' };
    const key = named.cryptoKeys.get(alg);
    return key ? { key } : { miss: 'type_mismatch' };
  }
  let found: CryptoKey | undefined;
  for (const k of keySet.keys) {
    const key = k.cryptoKeys.get(alg);
    if (!key) continue;
    if (found) return { miss: 'ambiguous' };
    found = key;
  }
  return found ? { key: found } : { miss: 'unknown' };
}

/**
 * The selected key, or the verification failure a miss stands for: a kid naming a key of another type is
 * `alg_not_allowed` (algorithm confusion); anything else is `key_not_found`.
 */
export function keyOrThrow(selection: KeySelection, alg: FederationAlg, kid: string | undefined): CryptoKey {
  if ('key' in selection) return selection.key;
  if (selection.miss === 'type_mismatch') throw verificationFailed('alg_not_allowed', `Key "${kid}" does not accept ${alg}`);
  throw verificationFailed('key_not_found', selection.miss === 'ambiguous' ? 'Token has no kid and several keys match' : 'No partner key matches the token');
}
