import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { validParams } from '../../http/params.ts';
import { openCors, sendRepresentation } from '../did/respond.ts';
import { agentCredentialRoute, statusListRoute } from './contract.ts';
import { VC_JWT_MEDIA_TYPE } from './vc-documents.ts';

/**
 * Public credential routes: the agent identity credential and the status lists. Plain `app.get` (they answer
 * 304s and a JWT media type); their contracts are registered from contract.ts.
 */
export function vcRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const path of ['/agents/:agent_id/credential', '/status/:list_id']) app.use(path, openCors());
  for (const route of [agentCredentialRoute, statusListRoute]) app.openAPIRegistry.registerPath(route);

  app.get('/agents/:agent_id/credential', async (c) => {
    const { agent_id } = validParams(agentCredentialRoute.request.params, c.req.param());
    const { jwt, etag } = await c.var.services.agentCredentials.credential(agent_id);
    return sendRepresentation(c, { status: 200, body: jwt, etag, contentType: VC_JWT_MEDIA_TYPE });
  });

  app.get('/status/:list_id', async (c) => {
    const { list_id } = validParams(statusListRoute.request.params, c.req.param());
    const { jwt, etag, maxAgeSeconds } = await c.var.services.statusLists.statusList(list_id);
    return sendRepresentation(c, { status: 200, body: jwt, etag, contentType: VC_JWT_MEDIA_TYPE, maxAgeSeconds });
  });
}
