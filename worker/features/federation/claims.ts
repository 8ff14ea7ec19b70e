import { verificationFailed } from './errors.ts';

export interface ClaimPolicy {
  nowSeconds: number;
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

function numericDate(claims: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const v = claims[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw verificationFailed('malformed', v === undefined ? `Token has no "${name}" claim` : `Token "${name}" claim is not a number`);
  }
  return v;
}

/**
 * Checks a verified token's claims, in this order: `exp` (required), `nbf`, `iat` (not in the future),
 * all with `skewSeconds` of tolerance; `aud` against the partner's audiences; and the organization claim,
 * which must be present, name the verifying tenant, and be on the partner's allow list when it has one.
 * Returns the organization id. Throws FederationVerificationError: `malformed`, `expired`, `not_yet_valid`,
 * `audience_mismatch`, `organization_not_allowed`.
 */
export function checkClaims(claims: Record<string, unknown>, policy: ClaimPolicy): { organizationId: string } {
  const { nowSeconds: now, skewSeconds: skew } = policy;
  const exp = numericDate(claims, 'exp', true)!;
  const nbf = numericDate(claims, 'nbf', false);
  const iat = numericDate(claims, 'iat', false);
  if (claims.sub !== undefined && typeof claims.sub !== 'string') throw verificationFailed('malformed', 'Token "sub" claim is not a string');
  if (exp <= now - skew) throw verificationFailed('expired', 'Token has expired');
  if (nbf !== undefined && nbf > now + skew) throw verificationFailed('not_yet_valid', 'Token is not valid yet (nbf)');
  if (iat !== undefined && iat > now + skew) throw verificationFailed('not_yet_valid', 'Token was issued in the future (iat)');

  if (policy.audiences.length > 0) {
    const aud = claims.aud;
    const auds = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
    if (!auds.some((a) => policy.audiences.includes(a))) {
      throw verificationFailed('audience_mismatch', 'Token audience does not include any of the partner\'s audiences');
    }
  }

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
  return { organizationId: orgId };
}
