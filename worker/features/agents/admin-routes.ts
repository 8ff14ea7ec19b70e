import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { createOrganizationRoute } from './admin-contract.ts';

export function adminRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createOrganizationRoute, async (c) => {
    const { name, tier } = c.req.valid('json');
    const org = await c.var.services.organizations.create(name, tier ?? 'free');
    return c.json(org, 201);
  });
}
