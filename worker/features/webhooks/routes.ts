import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { tenantActor as actor } from '../agents/routes.ts';
import {
  createWebhookRoute,
  deleteWebhookRoute,
  getWebhookRoute,
  getWebhookSecretRoute,
  listDeliveriesRoute,
  listWebhooksRoute,
  patchWebhookRoute,
  rotateWebhookSecretRoute,
} from './contract.ts';

export function webhookRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createWebhookRoute, async (c) => {
    const created = await c.var.services.webhooks.create(c.var.tenant.organizationId, c.req.valid('json'), actor(c));
    return c.json(created, 201);
  });

  app.openapi(listWebhooksRoute, async (c) => {
    const { limit, offset } = c.req.valid('query');
    return c.json(
      { data: await c.var.services.webhooks.list(c.var.tenant.organizationId, limit ?? 50, offset ?? 0) },
      200,
    );
  });

  app.openapi(getWebhookRoute, async (c) => {
    return c.json(await c.var.services.webhooks.get(c.var.tenant.organizationId, c.req.valid('param').id), 200);
  });

  app.openapi(patchWebhookRoute, async (c) => {
    const { id } = c.req.valid('param');
    return c.json(
      await c.var.services.webhooks.update(c.var.tenant.organizationId, id, c.req.valid('json'), actor(c)),
      200,
    );
  });

  app.openapi(deleteWebhookRoute, async (c) => {
    await c.var.services.webhooks.delete(c.var.tenant.organizationId, c.req.valid('param').id, actor(c));
    return c.body(null, 204);
  });

  app.openapi(rotateWebhookSecretRoute, async (c) => {
    return c.json(
      await c.var.services.webhooks.rotateSecret(c.var.tenant.organizationId, c.req.valid('param').id, actor(c)),
      200,
    );
  });

  app.openapi(getWebhookSecretRoute, async (c) => {
    c.header('cache-control', 'no-store');
    const { id } = c.req.valid('param');
    return c.json(await c.var.services.webhooks.readSecret(c.var.tenant.organizationId, id, actor(c)), 200);
  });

  app.openapi(listDeliveriesRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { limit, offset } = c.req.valid('query');
    const data = await c.var.services.webhooks.listDeliveries(
      c.var.tenant.organizationId,
      id,
      limit ?? 50,
      offset ?? 0,
    );
    return c.json({ data }, 200);
  });
}
