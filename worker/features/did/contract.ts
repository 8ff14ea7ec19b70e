import { createRoute, z } from '@hono/zod-openapi';
import { ProblemSchema, pick } from '../../http/schemas.ts';

const Jwk = z
  .object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string() })
  .openapi('PublicJwk');

export const DidDocumentSchema = z
  .object({
    '@context': z.array(z.string()),
    id: z.string().openapi({ example: 'did:web:idp.example.com:agents:7c3e9d1e-4c7a-4f0e-9d51-2b0a4e1f6c2d' }),
    verificationMethod: z.array(
      z.object({ id: z.string(), type: z.literal('JsonWebKey2020'), controller: z.string(), publicKeyJwk: Jwk }),
    ),
    authentication: z.array(z.string()),
    assertionMethod: z.array(z.string()),
    service: z.array(z.object({ id: z.string(), type: z.string(), serviceEndpoint: z.string() })).optional(),
  })
  .openapi('DidDocument');
export type DidDocument = z.infer<typeof DidDocumentSchema>;
export type VerificationMethod = DidDocument['verificationMethod'][number];
export type PublicJwk = VerificationMethod['publicKeyJwk'];
export type ServiceEntry = NonNullable<DidDocument['service']>[number];

const DidDocumentMetadataSchema = z
  .object({ created: z.string(), updated: z.string(), deactivated: z.boolean() })
  .openapi('DidDocumentMetadata');
export type DidDocumentMetadata = z.infer<typeof DidDocumentMetadataSchema>;

export const ResolutionResultSchema = z
  .object({
    '@context': z.string(),
    didDocument: DidDocumentSchema,
    didResolutionMetadata: z.object({ contentType: z.string() }),
    didDocumentMetadata: DidDocumentMetadataSchema,
  })
  .openapi('DidResolutionResult');

export const AgentCardSchema = z
  .object({
    did: z.string(),
    name: z.string(),
    agentType: z.string(),
    capabilities: z.array(z.string()),
    owner: z.string(),
    version: z.string().nullable(),
    deploymentEnv: z.string().nullable(),
    identityProvider: z.string(),
    issuedAt: z.string(),
  })
  .openapi('AgentCard');
/** AGNTCY agent card (api.md). */
export type AgentCard = z.infer<typeof AgentCardSchema>;

/** Problem details that are also a DID Resolution result carrying `didResolutionMetadata.error`. */
const ResolutionErrorSchema = ProblemSchema.extend({
  didDocument: z.null(),
  didDocumentMetadata: z.object({}),
  didResolutionMetadata: z.object({
    error: z.object({ type: z.string(), title: z.string(), status: z.number().int(), detail: z.string() }),
  }),
}).openapi('DidResolutionError');

const resolutionError = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ResolutionErrorSchema } },
});

const cached = {
  ETag: { schema: { type: 'string' as const }, description: 'Strong validator; send it back in If-None-Match' },
  'Cache-Control': { schema: { type: 'string' as const }, description: 'public, max-age=3' },
  'Access-Control-Allow-Origin': { schema: { type: 'string' as const }, description: '*' },
};
const notModified = { description: 'Not modified (If-None-Match matched the ETag)', headers: cached };
const AgentIdParam = z.object({
  agent_id: z.string().openapi({
    param: { name: 'agent_id', in: 'path' },
    format: 'uuid',
    description: 'The agent id; a malformed id is a 404',
  }),
});

export const instanceDocumentRoute = createRoute({
  method: 'get',
  path: '/.well-known/did.json',
  tags: ['did'],
  summary: "The instance's DID document (did:web:<DID_WEB_DOMAIN>)",
  responses: {
    200: {
      description: 'DID document',
      headers: cached,
      content: { 'application/did+json': { schema: DidDocumentSchema } },
    },
    304: notModified,
  },
});

export const agentDocumentRoute = createRoute({
  method: 'get',
  path: '/agents/{agent_id}/did.json',
  tags: ['did'],
  summary: "An agent's DID document (did:web:<DID_WEB_DOMAIN>:agents:<agent_id>)",
  description:
    'A decommissioned agent has a deactivated document: no verification methods and a service entry ' +
    '`{ type: "AgentStatus", serviceEndpoint: "decommissioned" }`.',
  request: { params: AgentIdParam },
  responses: {
    200: {
      description: 'DID document',
      headers: cached,
      content: { 'application/did+json': { schema: DidDocumentSchema } },
    },
    304: notModified,
    ...pick(404),
  },
});

export const resolveRoute = createRoute({
  method: 'get',
  path: '/1.0/identifiers/{did}',
  tags: ['did'],
  summary: 'Resolve a DID (DIF Universal Resolver HTTP binding)',
  description:
    'Resolves did:web DIDs of this instance. `Accept: application/did-resolution` (the default) or ' +
    '`application/ld+json;profile="https://w3id.org/did-resolution"` (or `application/json`) gives the whole ' +
    'resolution result; `application/did+json`, `application/did` or `application/did+ld+json` gives the ' +
    'document alone. The DID may be percent-encoded as a whole.',
  request: {
    params: z.object({
      did: z.string().openapi({ param: { name: 'did', in: 'path' }, example: 'did:web:idp.example.com' }),
    }),
  },
  responses: {
    200: {
      description: 'Resolved',
      headers: cached,
      content: {
        'application/did-resolution': { schema: ResolutionResultSchema },
        'application/did+json': { schema: DidDocumentSchema },
      },
    },
    304: notModified,
    400: resolutionError('https://www.w3.org/ns/did#INVALID_DID'),
    404: resolutionError('https://www.w3.org/ns/did#NOT_FOUND'),
    406: resolutionError('https://www.w3.org/ns/did#REPRESENTATION_NOT_SUPPORTED'),
    410: {
      description: 'Deactivated (decommissioned agent): the result with didDocumentMetadata.deactivated = true',
      content: {
        'application/did-resolution': { schema: ResolutionResultSchema },
        'application/did+json': { schema: DidDocumentSchema },
      },
    },
    501: resolutionError(
      'https://www.w3.org/ns/did#METHOD_NOT_SUPPORTED: another method, or did:web of another domain',
    ),
  },
});

export const agentCardRoute = createRoute({
  method: 'get',
  path: '/agents/{agent_id}/card.json',
  tags: ['did'],
  summary: "An agent's AGNTCY agent card",
  request: { params: AgentIdParam },
  responses: {
    200: { description: 'Agent card', headers: cached, content: { 'application/json': { schema: AgentCardSchema } } },
    304: notModified,
    ...pick(404, 410),
  },
});

const A2aCardSchema = z
  .object({
    protocolVersion: z.literal('0.3.0'),
    name: z.string(),
    description: z.string(),
    url: z.string().openapi({ description: "The agent's endpoint; its card's URL when it registered none" }),
    version: z.string(),
    provider: z.object({ organization: z.string(), url: z.string() }),
    capabilities: z.object({}),
    securitySchemes: z.record(
      z.string(),
      z.object({ type: z.literal('openIdConnect'), openIdConnectUrl: z.string(), description: z.string() }),
    ),
    security: z.array(z.record(z.string(), z.array(z.string()))),
    defaultInputModes: z.array(z.string()),
    defaultOutputModes: z.array(z.string()),
    skills: z.array(z.object({ id: z.string(), name: z.string(), description: z.string(), tags: z.array(z.string()) })),
    signatures: z.array(
      z.object({
        protected: z
          .string()
          .openapi({ description: 'base64url of `{"alg":"ES256","kid":"<agent DID>#<key id>","typ":"JOSE"}`' }),
        signature: z.string().openapi({ description: 'base64url ES256 signature (r‖s)' }),
      }),
    ),
  })
  .openapi('A2aAgentCard');

/** Path ids of the signed documents: a malformed one is a 400. */
export const StrictAgentIdParam = z.object({
  agent_id: z
    .string()
    .uuid()
    .openapi({
      param: { name: 'agent_id', in: 'path' },
      format: 'uuid',
      description: 'The agent id; a malformed id is a 400',
    }),
});

export const a2aCardRoute = createRoute({
  method: 'get',
  path: '/agents/{agent_id}/.well-known/agent-card.json',
  tags: ['did'],
  summary: "An agent's signed A2A agent card (A2A protocol 0.3)",
  description:
    '`signatures[0]` is a JWS (RFC 7515) with a detached payload: the RFC 8785 (JCS) canonical form of the card ' +
    'without `signatures`, signed ES256 by the agent key named in `kid` (a verification method of the agent DID ' +
    'document). Cached like the DID document.',
  request: { params: StrictAgentIdParam },
  responses: {
    200: {
      description: 'Signed agent card',
      headers: cached,
      content: { 'application/json': { schema: A2aCardSchema } },
    },
    304: notModified,
    ...pick(400, 404, 410, 503),
  },
});
