import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import {
  createPartnerRoute,
  deletePartnerRoute,
  getPartnerRoute,
  listPartnersRoute,
  patchPartnerRoute,
  verifyRoute,
} from './contract.ts';

/** Partner management (operator, ADMIN_TOKEN) and token verification (tenant). */
export function federationRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createPartnerRoute, async (c) => {
    return c.json(await c.var.services.federation.registerPartner(c.req.valid('json')), 201);
  });

  app.openapi(listPartnersRoute, async (c) => {
    return c.json({ data: await c.var.services.federation.listPartners() }, 200);
  });

  app.openapi(getPartnerRoute, async (c) => {
    return c.json(await c.var.services.federation.getPartner(c.req.valid('param').id), 200);
  });

  app.openapi(patchPartnerRoute, async (c) => {
    return c.json(await c.var.services.federation.updatePartner(c.req.valid('param').id, c.req.valid('json')), 200);
  });

  app.openapi(deletePartnerRoute, async (c) => {
    await c.var.services.federation.deletePartner(c.req.valid('param').id);
    return c.body(null, 204);
  });

  app.openapi(verifyRoute, async (c) => {
    const { token } = c.req.valid('json');
    return c.json(await c.var.services.federation.verifyFederatedToken(token, c.var.tenant.organizationId), 200);
  });
}
