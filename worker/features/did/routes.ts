import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { validParams } from '../../http/params.ts';
import { AppError } from '../../platform/errors.ts';
import { a2aCardRoute, agentCardRoute, agentDocumentRoute, instanceDocumentRoute, resolveRoute } from './contract.ts';
import { negotiate } from './negotiate.ts';
import { didResolutionError } from './resolution-error.ts';
import { openCors, sendRepresentation } from './respond.ts';

const DID_JSON = 'application/did+json';
const RESOLVE_PREFIX = '/1.0/identifiers/';
const A2A_CARD_PATH = '/agents/:agent_id/.well-known/agent-card.json';

/**
 * The DID in `/1.0/identifiers/<did>`, read from the raw path so that a did:web port (`%3A`) survives.
 * A DID percent-encoded as a whole (`did%3Aweb%3A...`) is decoded once.
 */
function didFromPath(url: string): string {
  const raw = new URL(url).pathname.slice(RESOLVE_PREFIX.length);
  if (!/^did%3A/i.test(raw)) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Public did:web routes: documents, resolution, AGNTCY cards and signed A2A cards. The handlers are plain
 * `app.get` because they answer several media types and 304s; their contracts are registered in the OpenAPI
 * document from the `createRoute` definitions in contract.ts.
 */
export function didRoutes(app: OpenAPIHono<AppEnv>): void {
  const cors = [
    '/.well-known/did.json',
    '/agents/:agent_id/did.json',
    '/agents/:agent_id/card.json',
    A2A_CARD_PATH,
    '/1.0/identifiers/*',
  ];
  for (const path of cors) app.use(path, openCors());
  for (const route of [instanceDocumentRoute, agentDocumentRoute, resolveRoute, agentCardRoute, a2aCardRoute]) {
    app.openAPIRegistry.registerPath(route);
  }

  app.get('/.well-known/did.json', async (c) => {
    const record = await c.var.services.did.instanceRecord();
    return sendRepresentation(c, {
      status: 200,
      body: record.documentBody(),
      etag: record.etag('did+json'),
      contentType: DID_JSON,
    });
  });

  app.get('/agents/:agent_id/did.json', async (c) => {
    const record = await c.var.services.did.agentRecord(c.req.param('agent_id'));
    return sendRepresentation(c, {
      status: 200,
      body: record.documentBody(),
      etag: record.etag('did+json'),
      contentType: DID_JSON,
    });
  });

  app.get('/agents/:agent_id/card.json', async (c) => {
    const record = await c.var.services.did.agentRecord(c.req.param('agent_id'));
    const body = record.cardBody();
    if (body === undefined) throw new AppError('agent_decommissioned', 'The agent is decommissioned');
    return sendRepresentation(c, { status: 200, body, etag: record.etag('card'), contentType: 'application/json' });
  });

  app.get(A2A_CARD_PATH, async (c) => {
    const { agent_id } = validParams(a2aCardRoute.request.params, c.req.param());
    const { body, etag } = await c.var.services.agentCards.card(agent_id);
    return sendRepresentation(c, { status: 200, body, etag, contentType: 'application/json' });
  });

  app.get('/1.0/identifiers/*', async (c) => {
    const did = didFromPath(c.req.url);
    if (did.includes('/')) {
      throw didResolutionError('INVALID_DID', 'Invalid DID: DID URLs with a path are not dereferenced here');
    }
    const record = await c.var.services.did.resolve(did);
    const repr = negotiate(c.req.header('accept'));
    if (!repr) {
      throw didResolutionError('REPRESENTATION_NOT_SUPPORTED', 'None of the accepted media types can be served');
    }
    return sendRepresentation(c, {
      status: record.deactivated ? 410 : 200,
      body: repr.kind === 'result' ? record.resultBody() : record.documentBody(),
      etag: record.etag(repr.id),
      contentType: repr.contentType,
      varyOnAccept: true,
    });
  });
}
