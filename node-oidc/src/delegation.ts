// Agent-to-agent delegation: delegation tokens signed with the provider's own ES256 key, the
// RFC 8693 token exchange grant at /oidc/token, and the chain rows (migrations/0009_delegations.sql).
//
// A delegation token is a JWT (`typ: JWT`, never `at+jwt`, so it is not mistaken for an access token) with
//   sub = the original subject (the first delegator), act = { sub: delegatee } — nested, RFC 8693 §4.1, when a
//   delegatee delegates further: the outermost `act` is the current actor —, delegation_chain_id, scope,
//   organization_id, client_id (who asked for it), iss, aud (the platform audience), iat, exp, jti.
// A token is valid only while its chain row and every ancestor row are active and unexpired; the Worker's
// /v1/delegations/verify checks that on every call. node-oidc only reads chain rows: the Worker writes each
// one with its audit event and webhook outbox row in one transaction (for an exchange, from the record this
// grant hands it in DELEGATION_RECORD_HEADER), so a token whose row was never written is worth nothing.
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type pg from 'pg';
import { isAgentId } from '../../shared/agent-id.ts';
import { DELEGATION_RECORD_HEADER, type DelegationRecord } from '../../shared/oidc-link.ts';
import type { NodeOidcConfig } from './config.ts';
import type { PrivateJwks } from './keys.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const CHAIN_CLAIM = 'delegation_chain_id';
/** Parameters of the exchange grant (RFC 8693 §2.1, plus `actor` and `expires_in`). */
export const EXCHANGE_PARAMS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'audience',
  'actor',
  'actor_token',
  'actor_token_type',
  'scope',
  'expires_in',
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_TOKEN_CHARS = 8192;

export interface Act {
  sub: string;
  act?: Act;
}

interface ChainRow {
  chain_id: string;
  depth: number;
  status: string;
  expires_at: Date;
  token_jti: string;
}

/** What a delegation token says; the chain row itself is the Worker's to write. */
export interface IssueInput {
  chainId: string;
  /** The delegator's organization (the chain row's tenant). */
  organizationId: string;
  /** The original subject's organization (the token's `organization_id`); defaults to organizationId. */
  subjectOrganizationId?: string;
  subjectId: string;
  delegatorId: string;
  act: Act;
  scope: string;
  ttlSeconds: number;
}

export interface Issued {
  token: string;
  chainId: string;
  jti: string;
  expiresAt: Date;
  expiresIn: number;
}

const oauthError = (error: string, description: string) => new errors.CustomOIDCProviderError(error, description);

/** Signs delegation tokens, verifies the provider's own tokens and reads the chain rows. */
export class DelegationIssuer {
  readonly #pool: pg.Pool;
  readonly #config: NodeOidcConfig;
  readonly #signingKey: CryptoKey;
  readonly #kid: string;
  readonly #verifyKeys: ReturnType<typeof createLocalJWKSet>;

  private constructor(pool: pg.Pool, config: NodeOidcConfig, signingKey: CryptoKey, kid: string, publicKeys: JWK[]) {
    this.#pool = pool;
    this.#config = config;
    this.#signingKey = signingKey;
    this.#kid = kid;
    this.#verifyKeys = createLocalJWKSet({ keys: publicKeys });
  }

  /** Signs with the first ES256 key of the provider's JWKS (the one that signs access tokens). */
  static async create(pool: pg.Pool, config: NodeOidcConfig, jwks: PrivateJwks): Promise<DelegationIssuer> {
    const es = jwks.keys.find((k) => k.alg === 'ES256')!;
    const key = (await importJWK(es, 'ES256')) as CryptoKey;
    const publicKeys = jwks.keys.map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub }) => pub);
    return new DelegationIssuer(pool, config, key, es.kid!, publicKeys);
  }

  get settings(): NodeOidcConfig['delegation'] {
    return this.#config.delegation;
  }

  /** The lifetime granted: the request (or the default) capped by the maximum. Throws invalid_request. */
  ttl(requested: unknown): number {
    const { defaultTtlSeconds, maxTtlSeconds } = this.#config.delegation;
    if (requested === undefined || requested === null || requested === '') return defaultTtlSeconds;
    const n = Number(requested);
    if (!Number.isInteger(n) || n < 1)
      throw oauthError('invalid_request', 'expires_in must be a whole number of seconds ≥ 1');
    return Math.min(n, maxTtlSeconds);
  }

  /** Verifies a token signed by this provider (ES256, this issuer). Throws on any failure. */
  async verifyOwn(token: string): Promise<{ payload: JWTPayload; typ: string | undefined }> {
    if (token.length > MAX_TOKEN_CHARS) throw new Error('token too large');
    const { payload, protectedHeader } = await jwtVerify(token, this.#verifyKeys, {
      issuer: this.#config.issuer,
      algorithms: ['ES256'],
    });
    return { payload, typ: protectedHeader.typ };
  }

  /** The chain row and its ancestors (self first), or undefined when any is missing, revoked or expired. */
  async activeChain(chainId: string): Promise<ChainRow[] | undefined> {
    if (!UUID.test(chainId)) return undefined;
    const { rows } = await this.#pool.query<ChainRow>(
      `WITH RECURSIVE up AS (
         SELECT chain_id, parent_chain_id, depth, status, expires_at, token_jti FROM delegation_chains WHERE chain_id = $1
         UNION ALL
         SELECT d.chain_id, d.parent_chain_id, d.depth, d.status, d.expires_at, d.token_jti
         FROM delegation_chains d JOIN up ON d.chain_id = up.parent_chain_id
       )
       SELECT chain_id, depth, status, expires_at, token_jti FROM up ORDER BY depth DESC`,
      [chainId],
    );
    const now = Date.now();
    if (rows.length === 0 || rows[0]!.chain_id !== chainId) return undefined;
    return rows.every((r) => r.status === 'active' && r.expires_at.getTime() > now) ? rows : undefined;
  }

  /** The organization of an active agent, or undefined (also for an id not in its canonical spelling). */
  async activeAgentOrg(agentId: string): Promise<string | undefined> {
    if (!isAgentId(agentId)) return undefined;
    const { rows } = await this.#pool.query<{ organization_id: string }>(
      `SELECT organization_id FROM agents WHERE agent_id = $1 AND status = 'active'`,
      [agentId],
    );
    return rows[0]?.organization_id;
  }

  /** Signs a delegation token. Records nothing: the Worker writes the chain row. */
  async issue(input: IssueInput): Promise<Issued> {
    const { chainId } = input;
    const jti = randomUUID();
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + input.ttlSeconds;
    const token = await new SignJWT({
      act: input.act,
      [CHAIN_CLAIM]: chainId,
      scope: input.scope,
      organization_id: input.subjectOrganizationId ?? input.organizationId,
      client_id: input.delegatorId,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.#kid })
      .setIssuer(this.#config.issuer)
      .setSubject(input.subjectId)
      .setAudience(this.#config.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(this.#signingKey);
    const expiresAt = new Date(exp * 1000);
    return { token, chainId, jti, expiresAt, expiresIn: input.ttlSeconds };
  }
}

interface ExchangeClient {
  clientId: string;
  organization_id?: string;
}

const scopesOf = (v: unknown): string[] => (typeof v === 'string' ? v.split(' ').filter(Boolean) : []);

/**
 * The token exchange grant (RFC 8693). The authenticated client (an agent) presents its own access token,
 * or a delegation token whose current actor it is, as `subject_token`; names the delegatee with `audience`
 * or `actor` (an active agent's id); may narrow `scope` and ask for a lifetime (`expires_in`, capped).
 * Errors: invalid_request (missing/unsupported parameters), invalid_grant (subject token invalid, not this
 * client's, revoked or expired chain, depth limit), invalid_scope (widening), invalid_target (delegatee).
 */
export function tokenExchangeGrant(issuer: DelegationIssuer) {
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    const client = ctx.oidc.client as unknown as ExchangeClient;
    if (!params.subject_token) throw oauthError('invalid_request', 'subject_token is required');
    if (params.subject_token_type !== TOKEN_TYPE_ACCESS && params.subject_token_type !== TOKEN_TYPE_JWT) {
      throw oauthError('invalid_request', `subject_token_type must be ${TOKEN_TYPE_ACCESS} or ${TOKEN_TYPE_JWT}`);
    }
    if (
      params.requested_token_type &&
      params.requested_token_type !== TOKEN_TYPE_JWT &&
      params.requested_token_type !== TOKEN_TYPE_ACCESS
    ) {
      throw oauthError('invalid_request', 'requested_token_type is not supported');
    }
    if (params.actor_token)
      throw oauthError('invalid_request', 'actor_token is not supported: name the delegatee with audience or actor');
    if (params.audience && params.actor && params.audience !== params.actor) {
      throw oauthError('invalid_request', 'audience and actor name different delegatees');
    }
    const delegateeId = (params.actor ?? params.audience)?.toLowerCase();
    if (!delegateeId) throw oauthError('invalid_request', 'audience (or actor): the delegatee agent id is required');
    const ttlRequested = issuer.ttl(params.expires_in);

    let payload: JWTPayload;
    try {
      ({ payload } = await issuer.verifyOwn(params.subject_token));
    } catch {
      throw oauthError('invalid_grant', 'subject_token is invalid or expired');
    }

    const chainId = payload[CHAIN_CLAIM];
    let parent: { chainId: string; depth: number; expiresAt: Date } | undefined;
    let priorAct: Act | undefined;
    if (chainId === undefined) {
      // An access token: it must be the authenticated client's own.
      if (payload.sub !== client.clientId || payload.client_id !== client.clientId || payload.act !== undefined) {
        throw oauthError('invalid_grant', 'subject_token was not issued to this client');
      }
    } else {
      const act = payload.act as Act | undefined;
      if (typeof chainId !== 'string' || act?.sub !== client.clientId) {
        throw oauthError('invalid_grant', 'subject_token was not delegated to this client');
      }
      const chain = await issuer.activeChain(chainId);
      if (!chain || chain[0]!.token_jti !== payload.jti)
        throw oauthError('invalid_grant', 'the subject delegation is revoked or expired');
      if (chain[0]!.depth + 1 > issuer.settings.maxDepth) {
        throw oauthError('invalid_grant', `delegation chains are limited to ${issuer.settings.maxDepth} hops`);
      }
      parent = { chainId, depth: chain[0]!.depth, expiresAt: chain[0]!.expires_at };
      priorAct = act;
    }

    const available = scopesOf(payload.scope);
    const requested = params.scope === undefined ? available : scopesOf(params.scope);
    const wider = requested.filter((s) => !available.includes(s));
    if (wider.length > 0) throw oauthError('invalid_scope', `scope may only narrow; not held: ${wider.join(' ')}`);
    if (requested.length === 0) throw oauthError('invalid_scope', 'the delegation needs at least one scope');

    if (delegateeId === client.clientId) throw oauthError('invalid_target', 'an agent cannot delegate to itself');
    if (!(await issuer.activeAgentOrg(delegateeId)))
      throw oauthError('invalid_target', 'the delegatee is not an active agent');

    // A nested delegation never outlives the one it derives from.
    const parentLeft = parent ? Math.floor((parent.expiresAt.getTime() - Date.now()) / 1000) : Infinity;
    const ttlSeconds = Math.max(1, Math.min(ttlRequested, parentLeft));
    const scope = [...new Set(requested)].join(' ');
    const issued = await issuer.issue({
      chainId: randomUUID(),
      organizationId: client.organization_id!,
      subjectOrganizationId: typeof payload.organization_id === 'string' ? payload.organization_id : undefined,
      subjectId: String(payload.sub),
      delegatorId: client.clientId,
      act: priorAct ? { sub: delegateeId, act: priorAct } : { sub: delegateeId },
      scope,
      ttlSeconds,
    });
    const record: DelegationRecord = {
      chain_id: issued.chainId,
      organization_id: client.organization_id!,
      parent_chain_id: parent?.chainId ?? null,
      depth: (parent?.depth ?? 0) + 1,
      subject_id: String(payload.sub),
      delegator_id: client.clientId,
      delegatee_id: delegateeId,
      scope,
      expires_at: issued.expiresAt.toISOString(),
      token_jti: issued.jti,
    };
    ctx.set(DELEGATION_RECORD_HEADER, JSON.stringify(record));
    ctx.body = {
      access_token: issued.token,
      issued_token_type: TOKEN_TYPE_JWT,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      scope,
      [CHAIN_CLAIM]: issued.chainId,
    };
  };
}
