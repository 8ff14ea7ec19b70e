import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { metricsRoute } from './contract.ts';
import { MetricsService } from './metrics.service.ts';

/** Whether the client asked for the Prometheus text format: `text/plain` ranked above JSON in Accept. */
export function wantsText(accept: string | undefined): boolean {
  if (!accept) return false;
  const q = (type: string) => {
    let best = -1;
    for (const part of accept.split(',')) {
      const [range = '', ...params] = part.trim().toLowerCase().split(';');
      if (range !== type && range !== `${type.split('/')[0]}/*` && range !== '*/*') continue;
      const exact = range === type ? 0.001 : 0;
      const qv = Number(
        params
          .map((p) => p.trim())
          .find((p) => p.startsWith('q='))
          ?.slice(2) ?? '1',
      );
      best = Math.max(best, (Number.isFinite(qv) ? qv : 0) + exact);
    }
    return best;
  };
  return q('text/plain') > q('application/json');
}

export function metricsRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(metricsRoute, async (c) => {
    const report = await c.var.services.metrics.report();
    if (wantsText(c.req.header('accept'))) {
      return c.text(MetricsService.prometheus(report), 200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'cache-control': 'no-store',
      });
    }
    return c.json(report, 200, { 'cache-control': 'no-store' });
  });
}
