import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { complianceAgentCardsRoute, complianceReportRoute } from './compliance-contract.ts';

export function complianceRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(complianceReportRoute, async (c) => {
    c.header('cache-control', 'no-store');
    return c.json(await c.var.services.compliance.generateReport(c.var.tenant.organizationId), 200);
  });

  app.openapi(complianceAgentCardsRoute, async (c) => {
    return c.json({ agent_cards: await c.var.services.compliance.exportAgentCards(c.var.tenant.organizationId) }, 200);
  });
}
