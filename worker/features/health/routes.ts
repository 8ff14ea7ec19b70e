import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import type { NodeOidc } from '../oidc/node-oidc.ts';
import { healthRoute, livenessRoute } from './contract.ts';

/** node-oidc's `GET /internal/health` (with INTERNAL_TOKEN), through OIDC_ORIGIN or the container binding. */
async function checkOidc(link: NodeOidc | undefined): Promise<'ok' | 'error' | 'disabled'> {
  return link ? link.health(2000) : 'disabled';
}

export function healthRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(livenessRoute, (c) => c.json({ status: 'ok' as const }, 200));

  app.openapi(healthRoute, async (c) => {
    const { db, cache } = c.var.deps;
    const [database, cacheStatus, oidc] = await Promise.all([
      db.query('SELECT 1').then(
        () => 'ok' as const,
        () => 'error' as const,
      ),
      cache.ping(),
      checkOidc(c.var.services.nodeOidc),
    ]);
    const healthy = database === 'ok';
    const degraded = cacheStatus === 'error' || oidc === 'error';
    const body = {
      status: healthy && !degraded ? ('ok' as const) : ('degraded' as const),
      checks: { database, cache: cacheStatus, oidc },
    };
    c.header('cache-control', 'no-store');
    return healthy ? c.json(body, 200) : c.json(body, 503);
  });
}
