import {
  compactVerify,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { FederationVerificationError, verificationFailed } from './errors.ts';
import type { ParsedJws } from './jws.ts';
import { FEDERATION_ALGS, type KeySet } from './key-policy.ts';

/** Where the verifier gets a partner's keys. */
export interface KeySource {
  /** The key set in use (memory, Redis or a first fetch); undefined when none can be had. */
  current(): Promise<KeySet | undefined>;
  /**
   * After a key miss: a newer set if one can be had now (the refetch is cooldown-limited); `wanted` says
   * whether a set already stored by another isolate would do.
   */
  refresh(wanted: (ks: KeySet) => Promise<boolean>): Promise<KeySet | undefined>;
}

export interface ClaimPolicy {
  /** The partner's issuer: the token's `iss` must be exactly this. */
  issuer: string;
  nowMs: number;
  /** Allowed clock difference with the partner, applied to exp, nbf and iat. */
  skewSeconds: number;
  /** The partner's audiences; empty means `aud` is not checked. */
  audiences: readonly string[];
  /** The claim that names the organization the token was issued for. */
  organizationClaim: string;
  /** The partner's allow list of organizations; empty means any. */
  allowedOrganizations: readonly string[];
  /** The tenant asking: a token is only valid for the organization it was issued for. */
  tenantOrganizationId: string;
}

const ALGORITHMS = [...FEDERATION_ALGS];

/**
 * The token's key from `ks` (jose's local JWKS resolver: by kid, key type and curve), or undefined when no
 * key matches and a newer set might have it. A kid naming a key of another type is an algorithm-confusion
 * attempt (`alg_not_allowed`); no kid and several keys of the type is `key_not_found`.
 */
async function keyFrom(
  ks: KeySet,
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
): Promise<CryptoKey | undefined> {
  try {
    return await ks.resolve(header, token);
  } catch (err) {
    if (err instanceof errors.JWKSNoMatchingKey) {
      if (header.kid !== undefined && ks.jwks.some((k) => k.kid === header.kid)) {
        throw verificationFailed('alg_not_allowed', `Key "${header.kid}" does not accept ${header.alg}`);
      }
      return undefined;
    }
    if (err instanceof errors.JWKSMultipleMatchingKeys)
      throw verificationFailed('key_not_found', 'Token has no kid and several keys match');
    throw err;
  }
}

/** jose's key resolver for a partner: the current set, then after a miss one refreshed set. Never reads jwk, jku, x5u or x5c. */
function partnerKey(source: KeySource): JWTVerifyGetKey<CryptoKey> {
  return async function resolvePartnerKey(header, token) {
    const ks = await source.current();
    const key = ks && (await keyFrom(ks, header, token));
    if (key) return key;
    const fresh = await source.refresh(
      async (candidate) => (await keyFrom(candidate, header, token).catch(() => undefined)) !== undefined,
    );
    const again = fresh && (await keyFrom(fresh, header, token));
    if (again) return again;
    throw verificationFailed('key_not_found', 'No partner key matches the token');
  };
}

/** The FederationVerificationError a jose failure stands for; anything else is rethrown as is. */
function toVerificationError(err: unknown): unknown {
  if (err instanceof FederationVerificationError || !(err instanceof errors.JOSEError)) return err;
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return verificationFailed('signature_invalid', 'Signature verification failed');
  if (err instanceof errors.JOSEAlgNotAllowed) return verificationFailed('alg_not_allowed', err.message);
  if (err instanceof errors.JWTExpired) return verificationFailed('expired', 'Token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud')
      return verificationFailed('audience_mismatch', "Token audience does not include any of the partner's audiences");
    if (err.claim === 'iss') return verificationFailed('unknown_issuer', 'Token issuer is not the partner');
    if (err.reason === 'check_failed')
      return verificationFailed('not_yet_valid', `Token is not valid yet (${err.claim})`);
    return verificationFailed('malformed', `Token claims: ${err.message}`);
  }
  return verificationFailed('malformed', err.message);
}

/**
 * The JWS layer alone: key selection and the signature over any payload, with the same resolver,
 * algorithm allow-list and failure reasons as verifyPartnerToken (which adds the claim checks). `parsed`
 * comes from parseJws, so jose sees only tokens of canonical shape, an accepted `alg` and no `crit`.
 * Throws FederationVerificationError: `alg_not_allowed`, `key_not_found`, `signature_invalid`, `malformed`.
 */
export async function verifyJws(parsed: ParsedJws, keys: KeySource): Promise<void> {
  await compactVerify(parsed.token, partnerKey(keys), { algorithms: ALGORITHMS }).catch((err: unknown) => {
    throw toVerificationError(err);
  });
}

/**
 * Verifies a partner's JWT with jose's jwtVerify: key (partnerKey), signature, then `iss`, `aud` (when
 * the partner lists audiences), a numeric `exp`, `nbf` and `iat` types, `exp` and `nbf` within the skew.
 * Then what jose does not check: finite dates, `iat` not in the future, a string `sub`, and the
 * organization rule (the claim names the verifying tenant and is on the partner's allow list).
 * Returns the claims and the organization id. Throws FederationVerificationError: the reasons of
 * verifyJws and `expired`, `not_yet_valid`, `audience_mismatch`, `organization_not_allowed`, `malformed`.
 */
export async function verifyPartnerToken(
  parsed: ParsedJws,
  keys: KeySource,
  policy: ClaimPolicy,
): Promise<{ claims: JWTPayload; organizationId: string }> {
  const { payload: claims } = await jwtVerify(parsed.token, partnerKey(keys), {
    algorithms: ALGORITHMS,
    issuer: policy.issuer,
    audience: policy.audiences.length > 0 ? [...policy.audiences] : undefined,
    clockTolerance: policy.skewSeconds,
    currentDate: new Date(policy.nowMs),
    requiredClaims: ['exp'],
  }).catch((err: unknown) => {
    throw toVerificationError(err);
  });

  for (const name of ['exp', 'nbf', 'iat'] as const) {
    // JSON allows 1e999, which parses to Infinity: a date that never comes.
    if (claims[name] !== undefined && !Number.isFinite(claims[name]))
      throw verificationFailed('malformed', `Token "${name}" claim is not a finite number`);
  }
  if (claims.iat !== undefined && claims.iat > Math.floor(policy.nowMs / 1000) + policy.skewSeconds) {
    throw verificationFailed('not_yet_valid', 'Token was issued in the future (iat)');
  }
  if (claims.sub !== undefined && typeof claims.sub !== 'string')
    throw verificationFailed('malformed', 'Token "sub" claim is not a string');
  return { claims, organizationId: checkOrganization(claims, policy) };
}

/** The organization the token was issued for, which must be the verifying tenant's and allowed by the partner. */
function checkOrganization(claims: JWTPayload, policy: ClaimPolicy): string {
  const org = claims[policy.organizationClaim];
  if (typeof org !== 'string' || org === '') {
    throw verificationFailed('organization_not_allowed', `Token has no "${policy.organizationClaim}" claim`);
  }
  const orgId = org.toLowerCase();
  if (orgId !== policy.tenantOrganizationId.toLowerCase()) {
    throw verificationFailed('organization_not_allowed', 'Token was issued for another organization');
  }
  if (policy.allowedOrganizations.length > 0 && !policy.allowedOrganizations.some((o) => o.toLowerCase() === orgId)) {
    throw verificationFailed('organization_not_allowed', 'The partner may not issue tokens for this organization');
  }
  return orgId;
}
