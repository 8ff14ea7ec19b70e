import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { healthRoute, livenessRoute } from './health.routes.ts';

async function checkOidc(origin: string | undefined, internalToken: string | undefined): Promise<'ok' | 'error' | 'disabled'> {
  if (!origin) return 'disabled';
  try {
    const res = await fetch(`${origin}/internal/health`, {
      headers: internalToken ? { authorization: `Bearer ${internalToken}` } : {},
      signal: AbortSignal.timeout(2000),
    });
    return res.ok ? 'ok' : 'error';
  } catch {
    return 'error';
  }
}

export function healthRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(livenessRoute, (c) => c.json({ status: 'ok' as const }, 200));

  app.openapi(healthRoute, async (c) => {
    const { db, cache, config } = c.var.deps;
    const [database, cacheStatus, oidc] = await Promise.all([
      db.query('SELECT 1').then(
        () => 'ok' as const,
        () => 'error' as const,
      ),
      cache.ping(),
      checkOidc(config.OIDC_ORIGIN, config.INTERNAL_TOKEN),
    ]);
    const healthy = database === 'ok';
    const degraded = cacheStatus === 'error' || oidc === 'error';
    const body = { status: healthy && !degraded ? ('ok' as const) : ('degraded' as const), checks: { database, cache: cacheStatus, oidc } };
    c.header('cache-control', 'no-store');
    return healthy ? c.json(body, 200) : c.json(body, 503);
  });
}
