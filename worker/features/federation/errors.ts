import { AppError } from '../../platform/errors.ts';

/** Why a federated token was refused; the `reason` member of a 401 `federation_verification_failed`. */
export type VerificationReason =
  | 'malformed'
  | 'alg_not_allowed'
  | 'unknown_issuer'
  | 'partner_suspended'
  | 'partner_expired'
  | 'key_not_found'
  | 'signature_invalid'
  | 'expired'
  | 'not_yet_valid'
  | 'audience_mismatch'
  | 'organization_not_allowed'
  | 'token_too_large';

/** 401 `federation_verification_failed`; callers and tests branch on `reason`. */
export class FederationVerificationError extends AppError {
  readonly reason: VerificationReason;

  constructor(reason: VerificationReason, detail: string) {
    super('federation_verification_failed', detail, { reason });
    this.name = 'FederationVerificationError';
    this.reason = reason;
  }
}

export const verificationFailed = (reason: VerificationReason, detail: string) =>
  new FederationVerificationError(reason, detail);

/** 400 `federation_partner_invalid`: the partner's jwks_uri or the JWKS it serves is not acceptable. */
export const partnerInvalid = (detail: string) => new AppError('federation_partner_invalid', detail);
