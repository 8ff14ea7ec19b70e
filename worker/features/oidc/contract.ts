import { createRoute, z } from '@hono/zod-openapi';

// Contracts of the provider endpoints the Worker forwards to node-oidc, for the OpenAPI document. The
// handlers (index.ts) proxy raw requests; node-oidc (oidc-provider) shapes the bodies.

const OAuthError = z
  .object({ error: z.string(), error_description: z.string().optional() })
  .openapi('OAuthError', { description: 'RFC 6749 §5.2 error response' });

export const discoveryRoute = createRoute({
  method: 'get',
  path: '/oidc/.well-known/openid-configuration',
  tags: ['OAuth'],
  summary: 'OpenID Provider metadata (served by node-oidc)',
  responses: {
    200: {
      description: 'Discovery document',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

export const jwksRoute = createRoute({
  method: 'get',
  path: '/oidc/jwks',
  tags: ['OAuth'],
  summary: 'Public keys that sign agent access tokens (served by node-oidc)',
  responses: {
    200: {
      description: 'JWK Set',
      content: { 'application/json': { schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
    },
  },
});

export const tokenRoute = createRoute({
  method: 'post',
  path: '/oidc/token',
  tags: ['OAuth'],
  summary:
    'Agent access token (client_credentials) or delegation token (RFC 8693 token exchange); client_id = agent id, client_secret = a credential',
  description:
    'Counts one token against the tenant’s daily token limit before issuing; a client_id that is not an active agent’s id in its ' +
    'canonical lower-case spelling is `invalid_client`. The access token is an ES256 JWT ' +
    '(`typ: at+jwt`) with `sub` = agent id, `organization_id`, `scope` (the agent’s capabilities, or the requested subset), `aud`, `jti`.',
  request: {
    body: {
      content: {
        'application/x-www-form-urlencoded': {
          schema: z.object({
            grant_type: z.enum(['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']),
            scope: z.string().optional(),
            subject_token: z.string().optional().openapi({
              description: 'Token exchange: the agent’s own access token, or a delegation token made to it',
            }),
            subject_token_type: z
              .enum(['urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:jwt'])
              .optional(),
            audience: z
              .string()
              .optional()
              .openapi({ description: 'Token exchange: the delegatee agent id (or `actor`)' }),
            actor: z.string().optional(),
            expires_in: z
              .string()
              .optional()
              .openapi({ description: 'Token exchange: lifetime in seconds (default 300, capped)' }),
            resource: z.string().optional(),
            client_id: z.string().optional(),
            client_secret: z.string().optional(),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'Token issued',
      content: {
        'application/json': {
          schema: z.object({
            access_token: z.string(),
            token_type: z.string(),
            expires_in: z.number(),
            scope: z.string().optional(),
          }),
        },
      },
    },
    400: {
      description:
        'invalid_request, invalid_grant, invalid_scope, invalid_target, unsupported_grant_type (token exchange when A2A_ENABLED=false)',
      content: { 'application/json': { schema: OAuthError } },
    },
    401: { description: 'invalid_client', content: { 'application/json': { schema: OAuthError } } },
    429: {
      description: 'rate_limited: the tenant’s daily token limit is reached (Retry-After)',
      content: { 'application/json': { schema: OAuthError } },
    },
    503: { description: 'temporarily_unavailable', content: { 'application/json': { schema: OAuthError } } },
  },
});
