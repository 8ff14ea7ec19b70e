import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ZodError } from 'zod';
import { errors as joseErrors } from 'jose';

/** A field-level validation problem, as listed in a `validation_failed` response. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * The one error type the app throws for expected failures. `code` is stable and machine-readable;
 * `extra` members are merged into the problem+json body (e.g. `reason`, `errors`).
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    detail: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.extra = extra;
    this.headers = headers;
  }
}

export const notFound = (what = 'Resource') => new AppError(404, 'not_found', `${what} not found`);
export const unauthorized = (detail = 'Missing or invalid credentials') => new AppError(401, 'unauthorized', detail);
export const validationFailed = (detail: string, errors: FieldError[] = []) =>
  new AppError(400, 'validation_failed', detail, { errors });
export const conflict = (detail: string) => new AppError(409, 'conflict', detail);

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Builds an RFC 9457 problem+json response. */
export function problem(
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const body = {
    type: `https://agentidp.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

export function zodFieldErrors(err: ZodError): FieldError[] {
  return err.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}

/** Maps any thrown value to problem+json. Unknown errors are logged and become a generic 500. */
export function toProblemResponse(err: unknown, c?: Context): Response {
  if (err instanceof AppError) return problem(err.status, err.code, err.message, err.extra, err.headers);
  if (err instanceof ZodError) {
    return problem(400, 'validation_failed', 'Request validation failed', { errors: zodFieldErrors(err) });
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 400 && /json/i.test(err.message)) return problem(400, 'malformed_json', 'Malformed JSON in request body');
    if (status === 413) return problem(413, 'payload_too_large', 'Request body exceeds 1 MiB');
    if (status === 401) return problem(401, 'unauthorized', 'Missing or invalid credentials');
    return problem(status, status >= 500 ? 'internal_error' : 'bad_request', err.message || TITLES[status] || 'Error');
  }
  if (err instanceof joseErrors.JOSEError) return problem(401, 'unauthorized', 'Token rejected');
  console.error(
    JSON.stringify({
      level: 'error',
      msg: 'unhandled error',
      request_id: c?.get('requestId'),
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    }),
  );
  return problem(500, 'internal_error', 'An unexpected error occurred');
}
