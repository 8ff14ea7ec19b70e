import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, TenantEnv } from '../../env.ts';
import {
  createAgentRoute,
  createCredentialRoute,
  deleteAgentRoute,
  getAgentRoute,
  listAgentsRoute,
  listCredentialsRoute,
  patchAgentRoute,
  revokeCredentialRoute,
} from './contract.ts';
import { DEFAULT_CREDENTIAL_DAYS } from './credential.service.ts';

/** The actor recorded in audit events for a tenant request. */
export const tenantActor = (c: { var: TenantEnv['Variables'] }) => `api_key:${c.var.tenant.apiKeyId}`;

export function agentRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(createAgentRoute, async (c) => {
    const agent = await c.var.services.agents.create(c.var.tenant.organizationId, c.req.valid('json'), tenantActor(c));
    return c.json(agent, 201);
  });

  app.openapi(listAgentsRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    return c.json(await c.var.services.agents.list(c.var.tenant.organizationId, limit ?? 50, cursor), 200);
  });

  app.openapi(getAgentRoute, async (c) => {
    return c.json(await c.var.services.agents.get(c.var.tenant.organizationId, c.req.valid('param').agent_id), 200);
  });

  app.openapi(patchAgentRoute, async (c) => {
    const { agent_id } = c.req.valid('param');
    const agent = await c.var.services.agents.update(
      c.var.tenant.organizationId,
      agent_id,
      c.req.valid('json'),
      tenantActor(c),
    );
    return c.json(agent, 200);
  });

  app.openapi(deleteAgentRoute, async (c) => {
    const { agent_id } = c.req.valid('param');
    return c.json(await c.var.services.agents.decommission(c.var.tenant.organizationId, agent_id, tenantActor(c)), 200);
  });

  app.openapi(createCredentialRoute, async (c) => {
    const { agent_id } = c.req.valid('param');
    const body = c.req.valid('json') ?? {};
    const issued = await c.var.services.credentials.create(
      c.var.tenant.organizationId,
      agent_id,
      body.expires_in_days ?? DEFAULT_CREDENTIAL_DAYS,
      tenantActor(c),
    );
    return c.json(issued, 201);
  });

  app.openapi(listCredentialsRoute, async (c) => {
    const { agent_id } = c.req.valid('param');
    return c.json({ data: await c.var.services.credentials.list(c.var.tenant.organizationId, agent_id) }, 200);
  });

  app.openapi(revokeCredentialRoute, async (c) => {
    const { agent_id, credential_id } = c.req.valid('param');
    await c.var.services.credentials.revoke(c.var.tenant.organizationId, agent_id, credential_id, tenantActor(c));
    return c.body(null, 204);
  });
}
