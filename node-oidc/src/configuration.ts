// oidc-provider's configuration: a machine-to-machine issuer. Agents use client_credentials and receive
// ES256 JWT access tokens (at+jwt) with sub = agent id, organization_id, scope, aud, jti and a short
// lifetime. Browser flows are not offered through the Worker (it forwards only discovery, JWKS and token).
import { createHmac } from 'node:crypto';
import { type Configuration, errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { CLIENT_EXTRA_PROPERTIES } from './agent-clients.ts';
import type { NodeOidcConfig } from './config.ts';
import type { PrivateJwks } from './keys.ts';

const ASYMMETRIC_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;

interface AgentClient {
  clientId: string;
  agent_scopes?: string;
  organization_id?: string;
}

export interface ConfigurationDeps {
  config: NodeOidcConfig;
  jwks: PrivateJwks;
  adapter: Configuration['adapter'];
}

/**
 * Scopes: an agent's capabilities (those that are valid scope tokens) are the scopes it may be granted.
 * A request asks for a subset (`scope=a b`); capabilities it does not hold are left out of the token
 * (RFC 6749 §3.3 allows a narrower grant). A request without `scope` gets all of them: the pre-defined
 * default RFC 6749 §3.3 asks for. oidc-provider has no default-scope hook for client_credentials, so the
 * default is filled in by `defaultResource`, which runs (once) before the grant reads the scope parameter.
 */
function defaultScopeFor(ctx: KoaContextWithOIDC, client: AgentClient | undefined): void {
  const params = ctx.oidc.params as Record<string, unknown> | undefined;
  if (params && params.grant_type === 'client_credentials' && params.scope === undefined && client?.agent_scopes) {
    params.scope = client.agent_scopes;
  }
}

/** Builds the provider configuration from node-oidc's config, its keys and the adapter factory. */
export function providerConfiguration({ config, jwks, adapter }: ConfigurationDeps): Configuration {
  const audience = config.audience;
  return {
    adapter,
    jwks: jwks as Configuration['jwks'],
    // Cookies are not used by any flow offered here; the keys are derived so that every instance agrees.
    cookies: { keys: [createHmac('sha256', config.internalToken).update('oidc-cookie-keys').digest('base64url')] },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    extraClientMetadata: { properties: CLIENT_EXTRA_PROPERTIES },
    // No HS* anywhere: a client's `client_secret` is a placeholder (agent-clients.ts), never an HMAC key.
    enabledJWA: {
      clientAuthSigningAlgValues: [...ASYMMETRIC_ALGS],
      requestObjectSigningAlgValues: [...ASYMMETRIC_ALGS],
      idTokenSigningAlgValues: ['ES256', 'RS256'],
    },
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    scopes: [],
    responseTypes: ['none'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      userinfo: { enabled: false },
      introspection: { enabled: false },
      revocation: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource(ctx, client) {
          defaultScopeFor(ctx, client as unknown as AgentClient);
          return audience;
        },
        // One resource server: the platform audience. Its scopes are the requesting agent's capabilities.
        getResourceServerInfo(_ctx, resourceIndicator, client): ResourceServer {
          if (resourceIndicator !== audience) throw new errors.InvalidTarget();
          const scope = (client as unknown as AgentClient).agent_scopes ?? '';
          return {
            scope,
            audience,
            accessTokenTTL: config.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
        useGrantedResource: () => true,
      },
    },
    ttl: {
      ClientCredentials: config.accessTokenTtlSeconds,
    },
    async extraTokenClaims(ctx, token) {
      if (token.kind !== 'ClientCredentials') return undefined;
      const client = ctx.oidc.client as unknown as AgentClient | undefined;
      return client?.organization_id ? { organization_id: client.organization_id } : undefined;
    },
    async findAccount() {
      return undefined;
    },
    // Error bodies stay the OAuth JSON ones; this page only answers browser requests nobody should make.
    async renderError(ctx, out) {
      ctx.type = 'application/json';
      ctx.body = out;
    },
  };
}
