import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { getTierRoute, upgradeTierRoute } from './tier.routes.ts';

export function tierRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getTierRoute, async (c) => {
    return c.json(await c.var.services.tier.getStatus(c.var.tenant.organizationId), 200);
  });

  app.openapi(upgradeTierRoute, async (c) => {
    const { target_tier } = c.req.valid('json');
    // Optional client idempotency key for the Checkout Session (see services/billing/checkout-idempotency.ts).
    const idempotencyKey = c.req.header('idempotency-key') || undefined;
    return c.json(await c.var.services.tier.initiateUpgrade(c.var.tenant.organizationId, target_tier, { idempotencyKey }), 200);
  });
}
