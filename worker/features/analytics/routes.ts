import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { agentActivityRoute, agentUsageRoute, tokenTrendRoute } from './contract.ts';

const DEFAULT_TREND_DAYS = 30;

export function analyticsRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(tokenTrendRoute, async (c) => {
    const { days } = c.req.valid('query');
    const trend = await c.var.services.analytics.getTokenTrend(c.var.tenant.organizationId, days ?? DEFAULT_TREND_DAYS);
    return c.json(trend, 200);
  });

  app.openapi(agentActivityRoute, async (c) => {
    return c.json(await c.var.services.analytics.getAgentActivity(c.var.tenant.organizationId), 200);
  });

  app.openapi(agentUsageRoute, async (c) => {
    return c.json(await c.var.services.analytics.getAgentUsageSummary(c.var.tenant.organizationId), 200);
  });
}
