import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { getTierRoute, upgradeTierRoute } from './contract.ts';

export function tierRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(getTierRoute, async (c) => {
    return c.json(await c.var.services.tier.getStatus(c.var.tenant.organizationId), 200);
  });

  app.openapi(upgradeTierRoute, async (c) => {
    const { target_tier } = c.req.valid('json');
    const { 'idempotency-key': idempotencyKey } = c.req.valid('header');
    return c.json(
      await c.var.services.tier.initiateUpgrade(c.var.tenant.organizationId, target_tier, { idempotencyKey }),
      200,
    );
  });
}
