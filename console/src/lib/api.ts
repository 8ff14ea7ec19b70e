// The console's only way to the server: same-origin calls to the public API with the tenant's key as the
// bearer header. Failures become an ApiError carrying the problem+json `code`, `detail` and Retry-After.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  /** Seconds, from the Retry-After header (429, some 503s). */
  readonly retryAfter: number | null;
  /** Field errors of a 400 validation_failed. */
  readonly fieldErrors: Array<{ path: string; message: string }>;
  /** The whole problem document (extension members such as `limit`, `reset_at`). */
  readonly problem: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    detail: string,
    retryAfter: number | null = null,
    fieldErrors: ApiError['fieldErrors'] = [],
    problem: Record<string, unknown> = {},
  ) {
    super(`${status} ${code}: ${detail}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter;
    this.fieldErrors = fieldErrors;
    this.problem = problem;
  }
}

/** Status 0: the request never got an HTTP answer. */
export const NETWORK_ERROR = 0;

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

/** An API client bound to one key. `path` is an absolute path on this origin (`/v1/...`). */
export function createApi(apiKey: string): Api {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    if (!path.startsWith('/v1/')) throw new TypeError(`not an API path: ${path}`);
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ApiError(
        NETWORK_ERROR,
        'network_error',
        'The API could not be reached. Check your connection and try again.',
      );
    }
    if (res.ok) return (await res.json()) as T;
    throw await toApiError(res);
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    del: (path) => call('DELETE', path),
  };
}

async function toApiError(res: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  let problem: Record<string, unknown> = {};
  try {
    const parsed: unknown = await res.json();
    if (parsed && typeof parsed === 'object') problem = parsed as Record<string, unknown>;
  } catch {
    // not JSON (a proxy's error page): fall back to the status text below
  }
  const code = typeof problem.code === 'string' ? problem.code : `http_${res.status}`;
  const detail =
    typeof problem.detail === 'string'
      ? problem.detail
      : typeof problem.title === 'string'
        ? problem.title
        : res.statusText || 'Request failed';
  const fieldErrors = Array.isArray(problem.errors)
    ? problem.errors.flatMap((e) =>
        e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string'
          ? [{ path: String((e as { path?: unknown }).path ?? ''), message: (e as { message: string }).message }]
          : [],
      )
    : [];
  return new ApiError(res.status, code, detail, retryAfter, fieldErrors, problem);
}

/** Retry-After is delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}
