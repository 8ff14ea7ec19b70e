import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from '../env.ts';

/** One structured JSON line per request. Never logs headers, bodies or query strings (they may hold secrets). */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const started = Date.now();
    const requestId = c.req.header('cf-ray') ?? crypto.randomUUID();
    c.set('requestId', requestId);
    await next();
    c.header('x-request-id', requestId);
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
