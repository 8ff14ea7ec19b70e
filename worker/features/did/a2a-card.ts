import canonicalize from 'canonicalize';
import { utf8 } from '../../platform/encoding.ts';
import { type DidSigner, signDetached } from './did-signer.ts';

/** Shapes of the A2A (Agent2Agent protocol 0.3) agent card, and pure builders for it. */

export const A2A_PROTOCOL_VERSION = '0.3.0';
/** The name of the card's one security scheme: this instance's OpenID Connect issuer. */
export const SECURITY_SCHEME = 'agentidp';

export interface A2aSkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
}

export interface A2aCard {
  protocolVersion: string;
  name: string;
  description: string;
  url: string;
  version: string;
  provider: { organization: string; url: string };
  capabilities: Record<string, never>;
  securitySchemes: Record<string, { type: 'openIdConnect'; openIdConnectUrl: string; description: string }>;
  security: Array<Record<string, string[]>>;
  defaultInputModes: string[];
  defaultOutputModes: string[];
  skills: A2aSkill[];
}

/** One entry of the card's `signatures` (A2A AgentCardSignature): a JWS with a detached payload. */
export interface A2aCardSignature {
  protected: string;
  signature: string;
}

export interface CardSource {
  agentId: string;
  email: string;
  owner: string;
  agentType: string;
  capabilities: string[];
  endpoint: string | null;
  version: string | null;
  organizationName: string;
}

export interface CardContext {
  /** `https://<host>` of DID_WEB_DOMAIN: where this instance serves its documents. */
  origin: string;
  /** The OIDC issuer agents get tokens from (OIDC_ISSUER, else `<origin>/oidc`). */
  oidcIssuer: string;
}

export const cardUrl = (origin: string, agentId: string) => `${origin}/agents/${agentId}/.well-known/agent-card.json`;

/**
 * The card of an agent, without signatures. A2A requires `url` and `version`: an agent registered without
 * an `endpoint` gets its card's own URL, and without a `version` the string `unspecified`. `provider` is the
 * agent's organization, at the endpoint's origin (this instance's origin without an endpoint).
 */
export function buildA2aCard(src: CardSource, ctx: CardContext): A2aCard {
  const issuer = ctx.oidcIssuer.replace(/\/$/, '');
  return {
    protocolVersion: A2A_PROTOCOL_VERSION,
    name: src.email,
    description: `${src.agentType} agent of ${src.organizationName}, owned by ${src.owner}`,
    url: src.endpoint ?? cardUrl(ctx.origin, src.agentId),
    version: src.version ?? 'unspecified',
    provider: { organization: src.organizationName, url: originOf(src.endpoint) ?? ctx.origin },
    capabilities: {},
    securitySchemes: {
      [SECURITY_SCHEME]: {
        type: 'openIdConnect',
        openIdConnectUrl: `${issuer}/.well-known/openid-configuration`,
        description: 'OAuth 2.0 client credentials of the agent at this identity provider',
      },
    },
    security: [{ [SECURITY_SCHEME]: [] }],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: src.capabilities.map((cap) => ({
      id: cap,
      name: cap,
      description: `Capability "${cap}" registered for this agent`,
      tags: [cap],
    })),
  };
}

function originOf(url: string | null): string | undefined {
  return url && URL.canParse(url) ? new URL(url).origin : undefined;
}

/** The RFC 8785 (JCS) canonical form of a card, the payload its signatures cover. */
export function canonicalCard(card: A2aCard): Uint8Array<ArrayBuffer> {
  const text = canonicalize(card);
  if (text === undefined) throw new TypeError('the card cannot be canonicalized');
  return utf8(text);
}

/**
 * Signs the card as A2A says: a JWS over its JCS form, payload detached, protected header
 * `{ alg: "ES256", kid: "<agent DID>#<key id>", typ: "JOSE" }`. Throws the custody's errors.
 */
export function signA2aCard(card: A2aCard, signer: DidSigner): Promise<A2aCardSignature> {
  return signDetached(signer, { typ: 'JOSE' }, canonicalCard(card));
}
