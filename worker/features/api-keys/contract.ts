import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import { jsonResponse, pick, Text, tenantProblems } from '../../http/schemas.ts';
import { API_KEY_ID_PATTERN } from './api-key.ts';

export const ApiKeySchema = z
  .object({
    id: z.string().openapi({ description: 'The key id: the public part of the key, after `aidp_`' }),
    prefix: z.string().openapi({ description: '`aidp_<id>`: how the key begins', example: 'aidp_Xk3v9QmP2aLd' }),
    name: z.string().nullable(),
    created_at: z.string(),
    last_used_at: z.string().nullable().openapi({ description: 'Last successful authentication, to the minute' }),
    revoked_at: z.string().nullable(),
    status: z.enum(['active', 'revoked']),
  })
  .openapi('ApiKey');

export const CreatedApiKeySchema = z
  .object({
    id: z.string(),
    prefix: z.string(),
    name: z.string().nullable(),
    api_key: z.string().openapi({ description: 'Shown once; store it now.' }),
    created_at: z.string(),
  })
  .openapi('CreatedApiKey');

export const CreateApiKeyBody = z
  .object({ name: Text(100).optional() })
  .strict()
  .openapi('CreateApiKey');

export const ApiKeyParams = z.object({
  id: z
    .string()
    .regex(API_KEY_ID_PATTERN, 'must be an API key id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'Xk3v9QmP2aLd' }),
});

const base = { tags: ['api-keys'], ...tenantAudience };

export const listApiKeysRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/api-keys',
  summary: "The tenant's API keys, active first (never the secrets)",
  responses: { 200: jsonResponse(z.object({ data: z.array(ApiKeySchema) }), 'API keys'), ...tenantProblems },
});

export const createApiKeyRoute = createRoute({
  ...base,
  method: 'post',
  path: '/v1/api-keys',
  summary: 'Create an API key (returned once)',
  request: { body: { required: false, content: { 'application/json': { schema: CreateApiKeyBody } } } },
  responses: {
    201: jsonResponse(CreatedApiKeySchema, 'Created; the key is shown once'),
    ...tenantProblems,
    ...pick(409),
  },
});

export const revokeApiKeyRoute = createRoute({
  ...base,
  method: 'delete',
  path: '/v1/api-keys/{id}',
  summary: 'Revoke an API key (it stops working within API_KEY_CACHE_SECONDS)',
  description:
    'The organization must keep one active key: revoking the last one is refused with 409 `last_active_key`.',
  request: { params: ApiKeyParams },
  responses: { 204: { description: 'Revoked' }, ...tenantProblems, ...pick(409) },
});
