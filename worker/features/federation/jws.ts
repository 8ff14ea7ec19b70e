import { decodeBase64urlStrict } from './base64url.ts';
import { verificationFailed } from './errors.ts';
import { isFederationAlg, type FederationAlg } from './key-policy.ts';

/** A compact JWS whose structure has been checked; nothing in it is trusted yet. */
export interface ParsedJws {
  readonly token: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly alg: FederationAlg;
  readonly kid: string | undefined;
  /** Decoded payload bytes (not yet JSON-parsed: a JWS payload need not be JSON). */
  readonly payload: Uint8Array;
  /** ASCII bytes of `header.payload`, what the signature covers. */
  readonly signingInput: Uint8Array<ArrayBuffer>;
  readonly signature: Uint8Array<ArrayBuffer>;
}

const encoder = new TextEncoder();

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
 * Checks a compact JWS without trusting it: size cap, exactly three canonical base64url parts, a JSON
 * object header whose `alg` is one of FEDERATION_ALGS (so `none` and every HMAC algorithm stop here), no
 * `crit` (we implement no JWS extension, so every critical parameter is unknown), and a string `kid` when
 * present. `jku`, `x5u`, `x5c` and `jwk` are left in the header and never read.
 * Throws FederationVerificationError: `token_too_large`, `malformed`, `alg_not_allowed`.
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
  if (header.crit !== undefined) throw verificationFailed('malformed', 'Token names critical header parameters we do not support');
  if (header.kid !== undefined && typeof header.kid !== 'string') throw verificationFailed('malformed', 'Token "kid" is not a string');
  const payload = decodeBase64urlStrict(p);
  const signature = s === '' ? undefined : decodeBase64urlStrict(s);
  if (!payload || !signature) throw verificationFailed('malformed', 'Token payload or signature is not canonical base64url');
  // Both parts are canonical base64url, hence ASCII: the UTF-8 encoding is the ASCII the signature covers.
  const signingInput = encoder.encode(token.slice(0, h.length + 1 + p.length)) as Uint8Array<ArrayBuffer>;
  return { token, header, alg: header.alg, kid: header.kid as string | undefined, payload, signingInput, signature };
}
