import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { errors as joseErrors } from 'jose';
import { ZodError } from 'zod';
import { AppError, type ErrorCode, type FieldError } from '../platform/errors.ts';

export { AppError, conflict, type FieldError, notFound, unauthorized, validationFailed } from '../platform/errors.ts';

/** The one table from error code to HTTP status and title; the OpenAPI error responses are built from it too. */
export const ERROR_STATUS: Record<ErrorCode, { status: number; title: string }> = {
  validation_failed: { status: 400, title: 'Bad Request' },
  malformed_json: { status: 400, title: 'Bad Request' },
  invalid_did: { status: 400, title: 'Invalid DID' },
  invalid_scope: { status: 400, title: 'Bad Request' },
  self_delegation: { status: 400, title: 'Bad Request' },
  federation_partner_invalid: { status: 400, title: 'Bad Request' },
  stripe_event_invalid: { status: 400, title: 'Bad Request' },
  stripe_signature_invalid: { status: 400, title: 'Bad Request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  delegation_invalid: { status: 401, title: 'Unauthorized' },
  federation_verification_failed: { status: 401, title: 'Unauthorized' },
  not_found: { status: 404, title: 'Not Found' },
  method_not_allowed: { status: 405, title: 'Method Not Allowed' },
  representation_not_supported: { status: 406, title: 'Representation not supported' },
  conflict: { status: 409, title: 'Conflict' },
  agent_not_active: { status: 409, title: 'Conflict' },
  idempotency_key_reused: { status: 409, title: 'Conflict' },
  last_active_key: { status: 409, title: 'Conflict' },
  api_key_limit_reached: { status: 409, title: 'Conflict' },
  agent_decommissioned: { status: 410, title: 'Gone' },
  payload_too_large: { status: 413, title: 'Payload Too Large' },
  tier_limit_exceeded: { status: 429, title: 'Too Many Requests' },
  rate_limited: { status: 429, title: 'Too Many Requests' },
  internal_error: { status: 500, title: 'Internal Server Error' },
  key_unavailable: { status: 500, title: 'Internal Server Error' },
  method_not_supported: { status: 501, title: 'DID method not supported' },
  billing_provider_error: { status: 502, title: 'Bad Gateway' },
  billing_not_configured: { status: 503, title: 'Service Unavailable' },
  key_custody_unavailable: { status: 503, title: 'Service Unavailable' },
  oidc_unavailable: { status: 503, title: 'Service Unavailable' },
  misconfigured: { status: 503, title: 'Service Unavailable' },
  unavailable: { status: 503, title: 'Service Unavailable' },
};

/** The HTTP status of an error code. */
export const statusOf = (code: ErrorCode): number => ERROR_STATUS[code].status;

/** The codes answered with `status`, for the OpenAPI description of that response. */
export const codesFor = (status: number): ErrorCode[] =>
  (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => ERROR_STATUS[code].status === status);

/** Builds an RFC 9457 problem+json response for `code`. */
export function problem(
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const { status, title } = ERROR_STATUS[code];
  // RFC 9110: a 401 names the scheme the client should use.
  if (status === 401 && !Object.keys(headers).some((h) => h.toLowerCase() === 'www-authenticate')) {
    headers = { 'WWW-Authenticate': 'Bearer realm="agentidp"', ...headers };
  }
  const body = { type: `https://agentidp.dev/problems/${code}`, title, status, detail, code, ...extra };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

export function zodFieldErrors(err: ZodError): FieldError[] {
  return err.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}

function httpExceptionProblem(err: HTTPException): Response {
  const status = err.status;
  if (status === 400 && /json/i.test(err.message)) return problem('malformed_json', 'Malformed JSON in request body');
  if (status === 413) return problem('payload_too_large', 'Request body exceeds 1 MiB');
  if (status === 401) return problem('unauthorized', 'Missing or invalid credentials');
  if (status >= 500) return problem('internal_error', 'An unexpected error occurred');
  return problem('validation_failed', err.message || 'Bad request');
}

/** Maps any thrown value to problem+json. Unknown errors are logged and become a generic 500. */
export function toProblemResponse(err: unknown, c?: Context): Response {
  if (err instanceof AppError) {
    const headers: Record<string, string> = {};
    if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
    return problem(err.code, err.message, err.extra, headers);
  }
  if (err instanceof ZodError) {
    return problem('validation_failed', 'Request validation failed', { errors: zodFieldErrors(err) });
  }
  if (err instanceof HTTPException) return httpExceptionProblem(err);
  if (err instanceof joseErrors.JOSEError) return problem('unauthorized', 'Token rejected');
  console.error(
    JSON.stringify({
      level: 'error',
      msg: 'unhandled error',
      request_id: c?.get('requestId'),
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    }),
  );
  return problem('internal_error', 'An unexpected error occurred');
}
