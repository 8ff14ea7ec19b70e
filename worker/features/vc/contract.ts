import { createRoute, z } from '@hono/zod-openapi';
import { pick } from '../../http/schemas.ts';
import { StrictAgentIdParam } from '../did/contract.ts';
import { VC_JWT_MEDIA_TYPE } from './vc-documents.ts';

const Jwt = z.string().openapi({
  description:
    'Compact JWS (VC-JOSE-COSE): header `{ alg: "ES256", kid: "did:web:<DID_WEB_DOMAIN>#<key id>", typ: "vc+jwt", cty: "vc" }`, payload the credential',
  example: 'eyJhbGciOiJFUzI1NiIs...',
});

const headers = (maxAge: string) => ({
  ETag: { schema: { type: 'string' as const }, description: 'Strong validator; send it back in If-None-Match' },
  'Cache-Control': { schema: { type: 'string' as const }, description: maxAge },
  'Access-Control-Allow-Origin': { schema: { type: 'string' as const }, description: '*' },
});

export const agentCredentialRoute = createRoute({
  method: 'get',
  path: '/agents/{agent_id}/credential',
  tags: ['credentials'],
  summary: "An agent's identity credential (W3C VC 2.0, application/vc+jwt)",
  description:
    'Issued by the instance DID (`did:web:<DID_WEB_DOMAIN>`; its key is in `/.well-known/did.json`). ' +
    '`credentialSubject` is the agent DID with its organization, owner, agent type and capabilities; ' +
    '`credentialStatus` is a `BitstringStatusListEntry` (revocation) into `GET /status/{list_id}`. ' +
    'Re-issued after every change of the agent, always with the same status entry.',
  request: { params: StrictAgentIdParam },
  responses: {
    200: {
      description: 'The credential',
      headers: headers('public, max-age=3'),
      content: { [VC_JWT_MEDIA_TYPE]: { schema: Jwt } },
    },
    304: { description: 'Not modified (If-None-Match matched the ETag)', headers: headers('public, max-age=3') },
    ...pick(400, 404, 410, 503),
  },
});

export const statusListRoute = createRoute({
  method: 'get',
  path: '/status/{list_id}',
  tags: ['credentials'],
  summary: 'A Bitstring Status List credential (revocation), application/vc+jwt',
  description:
    '`credentialSubject.encodedList` is the GZIP-compressed bitstring, base64url with the Multibase prefix `u`; ' +
    'bit i (the most significant bit of byte 0 is bit 0) is 1 when the credential with statusListIndex i is ' +
    'revoked. Served for at most STATUS_LIST_CACHE_SECONDS after it was built (`Cache-Control` says the time left).',
  request: {
    params: z.object({
      list_id: z
        .string()
        .uuid()
        .openapi({ param: { name: 'list_id', in: 'path' }, format: 'uuid', description: 'A malformed id is a 400' }),
    }),
  },
  responses: {
    200: {
      description: 'The status list credential',
      headers: headers('public, max-age=<seconds left>'),
      content: { [VC_JWT_MEDIA_TYPE]: { schema: Jwt } },
    },
    304: {
      description: 'Not modified (If-None-Match matched the ETag)',
      headers: headers('public, max-age=<seconds left>'),
    },
    ...pick(400, 404, 503),
  },
});
