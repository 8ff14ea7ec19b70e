import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../env.ts';
import { count } from '../platform/metrics.ts';

/** The operator's grouping of routes for request counters: by who calls them, never by id. */
export function routeClass(path: string): string {
  if (path === '/healthz' || path === '/livez') return 'health';
  if (path.startsWith('/v1/admin/') || path.startsWith('/v1/federation/partners')) return 'operator';
  if (path === '/v1/billing/stripe-webhook') return 'stripe';
  if (path.startsWith('/v1/')) return 'tenant';
  if (path.startsWith('/oidc/')) return 'oidc';
  if (
    path.startsWith('/agents/') ||
    path.startsWith('/.well-known/') ||
    path.startsWith('/1.0/') ||
    path.startsWith('/status/')
  ) {
    return 'public';
  }
  if (path === '/openapi.json' || path === '/docs') return 'docs';
  return 'other';
}

/**
 * One structured JSON line per request, and the request counters of the operator metrics. Never logs
 * headers, bodies or query strings (they may hold secrets).
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const started = Date.now();
    const requestId = c.req.header('cf-ray') ?? crypto.randomUUID();
    c.set('requestId', requestId);
    await next();
    c.header('x-request-id', requestId);
    count('agentidp_requests_total', { route_class: routeClass(c.req.path), status: String(c.res.status) });
    const deps = c.get('deps');
    if (deps && !deps.config.LOG_REQUESTS) return;
    console.log(
      JSON.stringify({
        level: 'info',
        msg: 'request',
        request_id: requestId,
        method: c.req.method,
        route: routePath(c),
        status: c.res.status,
        duration_ms: Date.now() - started,
        tenant: c.get('tenant')?.organizationId,
        db_queries: deps?.db.queries ?? 0,
      }),
    );
  };
}
