import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { tenantActor } from '../agents/routes.ts';
import { createApiKeyRoute, listApiKeysRoute, revokeApiKeyRoute } from './contract.ts';

export function apiKeyRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listApiKeysRoute, async (c) => {
    return c.json({ data: await c.var.services.apiKeys.list(c.var.tenant.organizationId) }, 200);
  });

  app.openapi(createApiKeyRoute, async (c) => {
    const body = c.req.valid('json') ?? {};
    return c.json(
      await c.var.services.apiKeys.create(c.var.tenant.organizationId, body.name ?? null, tenantActor(c)),
      201,
    );
  });

  app.openapi(revokeApiKeyRoute, async (c) => {
    await c.var.services.apiKeys.revoke(c.var.tenant.organizationId, c.req.valid('param').id, tenantActor(c));
    return c.body(null, 204);
  });
}
