import { decodeBase64urlStrict, isCanonicalBase64url } from './base64url.ts';
import { verificationFailed } from './errors.ts';
import { type FederationAlg, isFederationAlg } from './key-policy.ts';

/** A compact JWS whose shape has been checked; nothing in it is trusted yet. */
export interface ParsedJws {
  readonly token: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly alg: FederationAlg;
  readonly kid: string | undefined;
  /** Decoded payload bytes (not yet JSON-parsed: a JWS payload need not be JSON). */
  readonly payload: Uint8Array;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses strict UTF-8 JSON that must be an object; undefined otherwise. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(strictUtf8.decode(bytes));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks the shape of a compact JWS before anything trusts it, with rules stricter than jose's: a size
 * cap, exactly three parts in canonical base64url (one encoding per byte string, so a token cannot be
 * re-encoded into a "different" one that still verifies), a JSON object header whose `alg` is one of
 * FEDERATION_ALGS (so `none` and every HMAC algorithm stop here, named for what they are), no `crit` at
 * all (jose would accept `b64`), and a string `kid` when present. `jku`, `x5u`, `x5c` and `jwk` are left
 * in the header and never read. Throws FederationVerificationError: `token_too_large`, `malformed`,
 * `alg_not_allowed`.
 */
export function parseJws(token: string, maxBytes: number): ParsedJws {
  // Length in UTF-16 units; any non-ASCII character makes the token malformed below anyway.
  if (token.length > maxBytes) throw verificationFailed('token_too_large', `Token exceeds ${maxBytes} bytes`);
  const parts = token.split('.');
  if (parts.length !== 3) throw verificationFailed('malformed', 'Token is not a compact JWS of three parts');
  const [h, p, s] = parts as [string, string, string];
  // Header first, so that `alg: none` (which usually comes with an empty signature) is named for what it is.
  const headerBytes = h === '' ? undefined : decodeBase64urlStrict(h);
  if (!headerBytes) throw verificationFailed('malformed', 'Token header is not canonical base64url');
  const header = parseJsonObject(headerBytes);
  if (!header) throw verificationFailed('malformed', 'Token header is not a JSON object');
  if (!isFederationAlg(header.alg)) {
    throw verificationFailed('alg_not_allowed', `Algorithm ${JSON.stringify(header.alg ?? null)} is not accepted`);
  }
  if (header.crit !== undefined)
    throw verificationFailed('malformed', 'Token names critical header parameters we do not support');
  if (header.kid !== undefined && typeof header.kid !== 'string')
    throw verificationFailed('malformed', 'Token "kid" is not a string');
  const payload = decodeBase64urlStrict(p);
  if (!payload || s === '' || !isCanonicalBase64url(s))
    throw verificationFailed('malformed', 'Token payload or signature is not canonical base64url');
  return { token, header, alg: header.alg, kid: header.kid as string | undefined, payload };
}
