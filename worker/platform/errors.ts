/**
 * Every failure a caller can see, by stable code. Services and the data layer throw `AppError` with one of
 * these; `worker/http/errors.ts` is the one table that turns a code into an HTTP status and title.
 */
export const ERROR_CODES = [
  'validation_failed',
  'malformed_json',
  'invalid_did',
  'invalid_scope',
  'self_delegation',
  'federation_partner_invalid',
  'stripe_event_invalid',
  'stripe_signature_invalid',
  'unauthorized',
  'delegation_invalid',
  'federation_verification_failed',
  'not_found',
  'method_not_allowed',
  'representation_not_supported',
  'conflict',
  'agent_not_active',
  'idempotency_key_reused',
  'agent_decommissioned',
  'payload_too_large',
  'tier_limit_exceeded',
  'rate_limited',
  'internal_error',
  'key_unavailable',
  'method_not_supported',
  'billing_provider_error',
  'billing_not_configured',
  'key_custody_unavailable',
  'oidc_unavailable',
  'misconfigured',
  'unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppErrorOptions {
  /** Seconds after which retrying may succeed (rate limits, a busy database). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * The one error type thrown for expected failures. `code` is stable and machine-readable; `extra` members
 * are merged into the problem body (e.g. `reason`, `errors`). It carries no HTTP status: the HTTP layer
 * maps `code` to one.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly extra: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail: string, extra: Record<string, unknown> = {}, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.extra = extra;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export interface FieldError {
  path: string;
  message: string;
}

export const notFound = (what = 'Resource') => new AppError('not_found', `${what} not found`);
export const unauthorized = (detail = 'Missing or invalid credentials') => new AppError('unauthorized', detail);
export const validationFailed = (detail: string, errors: FieldError[] = []) =>
  new AppError('validation_failed', detail, { errors });
export const conflict = (detail: string) => new AppError('conflict', detail);
