import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env.ts';

/**
 * HTTP lifetime of DID documents, resolution results and agent cards. With DID_MEMORY_CACHE_MS (≤ 5 s,
 * default 2 s) this bounds how long anyone can be served a document after the change that outdated it:
 * default ≤ 2 s + 3 s = 5 s. Redis never serves a stale entry (invalidated on commit).
 */
export const HTTP_MAX_AGE_SECONDS = 3;
export const CACHE_CONTROL = `public, max-age=${HTTP_MAX_AGE_SECONDS}`;

/** Whether `If-None-Match` matches `etag` (weak comparison, RFC 9110 §13.1.2). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

export interface RepresentationResponse {
  status: 200 | 410;
  body: string;
  etag: string;
  contentType: string;
  /** The representation depends on Accept. */
  varyOnAccept?: boolean;
  /** Overrides HTTP_MAX_AGE_SECONDS (status lists announce the time left of their own cache time). */
  maxAgeSeconds?: number;
}

/** A cacheable public representation; 304 when a 200 would repeat what the client holds. */
export function sendRepresentation(c: Context<AppEnv>, r: RepresentationResponse): Response {
  const cacheControl = r.maxAgeSeconds === undefined ? CACHE_CONTROL : `public, max-age=${r.maxAgeSeconds}`;
  const headers: Record<string, string> = { etag: r.etag, 'cache-control': cacheControl };
  if (r.varyOnAccept) headers.vary = 'Accept';
  if (r.status === 200 && ifNoneMatchHits(c.req.header('if-none-match'), r.etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers['content-type'] = r.contentType;
  return new Response(r.body, { status: r.status, headers });
}

/**
 * CORS for the public identity documents: any origin may read them (did:web resolvers run in browsers),
 * errors included; preflights (sent for `If-None-Match` or a profiled `Accept`) are answered here.
 */
export function openCors(): MiddlewareHandler<AppEnv> {
  return async function openCorsMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') {
      return new Response(null, {
        status: 204,
        headers: {
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'GET, HEAD, OPTIONS',
          'access-control-allow-headers': 'Accept, If-None-Match',
          'access-control-max-age': '86400',
        },
      });
    }
    await next();
    c.res.headers.set('access-control-allow-origin', '*');
    c.res.headers.set('access-control-expose-headers', 'ETag');
  };
}
