import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { listAuditEventsRoute, verifyAuditChainRoute } from './contract.ts';

export function auditRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listAuditEventsRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    return c.json(
      await c.var.services.auditVerification.listEvents(c.var.tenant.organizationId, limit ?? 50, cursor),
      200,
    );
  });

  app.openapi(verifyAuditChainRoute, async (c) => {
    const full = c.req.valid('query').full === 'true';
    c.header('cache-control', 'no-store');
    return c.json(await c.var.services.auditVerification.verifyChain(c.var.tenant.organizationId, { full }), 200);
  });
}
