import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env.ts';
import { problem } from '../../http/errors.ts';
import { tenantActor as actor } from '../agents/routes.ts';
import { createDelegationRoute, revokeDelegationRoute, verifyDelegationRoute } from './contract.ts';

/** With A2A_ENABLED=false the delegation routes do not exist (404), before any body validation. */
const a2aOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.deps.config.A2A_ENABLED) return problem('not_found', `No route for ${c.req.method} ${c.req.path}`);
  await next();
};

export function delegationRoutes(app: OpenAPIHono<AppEnv>): void {
  app.use('/v1/delegations', a2aOnly);
  app.use('/v1/delegations/*', a2aOnly);

  app.openapi(createDelegationRoute, async (c) => {
    return c.json(
      await c.var.services.delegations.create(c.var.tenant.organizationId, c.req.valid('json'), actor(c)),
      201,
    );
  });

  app.openapi(verifyDelegationRoute, async (c) => {
    const { token, delegatee_id } = c.req.valid('json');
    return c.json(await c.var.services.delegations.verify(c.var.tenant.organizationId, token, delegatee_id), 200);
  });

  app.openapi(revokeDelegationRoute, async (c) => {
    return c.json(
      await c.var.services.delegations.revoke(c.var.tenant.organizationId, c.req.valid('param').chain_id, actor(c)),
      200,
    );
  });
}
