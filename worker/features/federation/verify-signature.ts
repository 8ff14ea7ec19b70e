import { verificationFailed } from './errors.ts';
import type { ParsedJws } from './jws.ts';
import type { FederationAlg } from './key-policy.ts';

/** WebCrypto verification parameters of each accepted algorithm (RFC 7518 §3; PS256 salt = hash length). */
const VERIFY_PARAMS: Record<FederationAlg, SubtleCryptoSignAlgorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  PS256: { name: 'RSA-PSS', saltLength: 32 },
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  ES384: { name: 'ECDSA', hash: 'SHA-384' },
  EdDSA: { name: 'Ed25519' },
};

/**
 * Checks the signature of a parsed JWS with the selected key: one WebCrypto call. Everything jose's
 * compactVerify would add is already done, more strictly, by parseJws (structure, canonical base64url,
 * `alg` allow-list, `crit`), and `key` was imported by jose for exactly `parsed.alg` (key-policy.ts), so
 * its type, curve, hash and RSA size are fixed. Calling WebCrypto directly keeps the hot path at the cost
 * of the signature check (jose re-parses the token and re-reads the key's algorithm on every call).
 * ECDSA signatures must be raw r‖s of the curve's size: DER, truncated or zero values fail.
 * Throws FederationVerificationError `signature_invalid`.
 */
export async function verifySignature(parsed: ParsedJws, key: CryptoKey): Promise<void> {
  let ok = false;
  try {
    ok = await crypto.subtle.verify(VERIFY_PARAMS[parsed.alg], key, parsed.signature, parsed.signingInput);
  } catch {
    ok = false;
  }
  if (!ok) throw verificationFailed('signature_invalid', 'Signature verification failed');
}
