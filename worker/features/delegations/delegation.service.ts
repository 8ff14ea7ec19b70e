import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Db, Queryable } from '../../platform/db.ts';
import { type Clock, toIso } from '../../platform/clock.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { NodeOidc } from '../oidc/node-oidc.ts';
import { nodeOidcKeys, type NodeOidcJwksOptions } from '../oidc/node-oidc-jwks.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventAnnouncer } from '../agents/agent.service.ts';

/** The claim that carries the chain id (node-oidc/src/delegation.ts). */
export const CHAIN_CLAIM = 'delegation_chain_id';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface CreateDelegationInput {
  delegator_id: string;
  delegatee_id: string;
  scope: string;
  expires_in?: number;
}

export interface VerifiedDelegation {
  valid: true;
  chain_id: string;
  delegator_id: string;
  delegatee_id: string;
  subject_id: string;
  scope: string;
  depth: number;
  expires_at: string;
}

interface ChainRow {
  chain_id: string;
  organization_id: string;
  parent_chain_id: string | null;
  depth: number;
  delegator_id: string;
  delegatee_id: string;
  scope: string;
  status: string;
  expires_at: string;
  revoked_at: string | null;
  token_jti: string;
}

export interface DelegationSettings {
  /** OIDC_ISSUER: checked as `iss` when set. */
  issuer?: string;
  jwks: NodeOidcJwksOptions;
}

/** 401 `delegation_invalid` with a machine-readable `reason`. */
const invalid = (reason: string, detail: string) => new AppError('delegation_invalid', detail, { reason });

/**
 * Delegation chains (migrations/0009_delegations.sql): tokens are signed by node-oidc (its
 * /internal/delegations/sign or the token exchange grant), verified here against node-oidc's JWKS, and
 * checked against the chain rows — read from Postgres on every verification, so a revocation is never cached.
 */
export class DelegationService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly events: EventAnnouncer,
    private readonly clock: Clock,
    private readonly link: NodeOidc | undefined,
    private readonly settings: DelegationSettings,
  ) {}

  /**
   * Creates a first-hop delegation from the tenant's active agent `delegator_id` to the active agent
   * `delegatee_id` for `scope` (a subset of the delegator's capabilities). Throws `not_found` (delegator not
   * this tenant's, delegatee unknown), `agent_not_active` (409), `self_delegation` (400), `invalid_scope`
   * (400), `oidc_unavailable` / `key_custody_unavailable` (503).
   */
  async create(organizationId: string, input: CreateDelegationInput, actor: string) {
    const delegatorId = input.delegator_id.toLowerCase();
    const delegateeId = input.delegatee_id.toLowerCase();
    if (delegatorId === delegateeId) throw new AppError('self_delegation', 'An agent cannot delegate to itself');
    const [delegator] = await this.db.query<{ status: string; capabilities: unknown }>(
      'SELECT status, capabilities FROM agents WHERE agent_id = $1 AND organization_id = $2',
      [delegatorId, organizationId],
    );
    if (!delegator) throw notFound('Delegator agent');
    if (delegator.status !== 'active') throw new AppError('agent_not_active', `Delegator agent is ${delegator.status}`);
    const [delegatee] = await this.db.query<{ status: string; organization_id: string }>(
      'SELECT status, organization_id FROM agents WHERE agent_id = $1',
      [delegateeId],
    );
    // Another tenant's agent that is not active is indistinguishable from an unknown one.
    if (!delegatee || (delegatee.organization_id !== organizationId && delegatee.status !== 'active')) throw notFound('Delegatee agent');
    if (delegatee.status !== 'active') throw new AppError('agent_not_active', `Delegatee agent is ${delegatee.status}`);

    const held = Array.isArray(delegator.capabilities) ? delegator.capabilities.filter((c) => typeof c === 'string') : [];
    const scopes = [...new Set(input.scope.split(' ').filter(Boolean))];
    const notHeld = scopes.filter((s) => !SCOPE_TOKEN.test(s) || !held.includes(s));
    if (scopes.length === 0 || notHeld.length > 0) {
      throw new AppError('invalid_scope', `scope must be a non-empty subset of the delegator's capabilities${notHeld.length ? `; not held: ${notHeld.join(' ')}` : ''}`);
    }
    const scope = scopes.join(' ');

    if (!this.link) throw new AppError('oidc_unavailable', 'The token service is not configured (OIDC_ORIGIN or the NODE_OIDC container)');
    const chainId = crypto.randomUUID();
    const signed = await this.link.internal<{ token: string; jti: string; expires_at: string }>('POST', '/internal/delegations/sign', {
      chain_id: chainId,
      organization_id: organizationId,
      delegator_id: delegatorId,
      delegatee_id: delegateeId,
      scope,
      expires_in: input.expires_in,
    });
    if (signed.status !== 200 || !signed.body?.token) {
      throw new AppError('oidc_unavailable', `The token service refused to sign the delegation (${signed.status})`);
    }
    const expiresAt = toIso(signed.body.expires_at);
    await this.db.tx(async (q) => {
      await q.query(
        `INSERT INTO delegation_chains (chain_id, organization_id, parent_chain_id, depth, subject_id, delegator_id,
           delegatee_id, scope, status, created_at, expires_at, token_jti)
         VALUES ($1, $2, NULL, 1, $3, $3, $4, $5, 'active', $6, $7, $8)`,
        [chainId, organizationId, delegatorId, delegateeId, scope, this.clock.now().toISOString(), expiresAt, signed.body!.jti],
      );
      await this.#announceCreated(q, organizationId, actor, { chain_id: chainId, parent_chain_id: null, delegator_id: delegatorId, delegatee_id: delegateeId, scope, expires_at: expiresAt });
    });
    return { chain_id: chainId, token: signed.body.token, expires_at: expiresAt };
  }

  /**
   * Audit entry and `delegation.created` event for a chain the token exchange grant recorded (node-oidc
   * wrote the row). Does nothing for an unknown chain id.
   */
  async recordExchange(chainId: string): Promise<void> {
    if (!UUID.test(chainId)) return;
    await this.db.tx(async (q) => {
      const [row] = await q.query<ChainRow>('SELECT * FROM delegation_chains WHERE chain_id = $1', [chainId]);
      if (!row) return;
      await this.#announceCreated(q, row.organization_id, `agent:${row.delegator_id}`, {
        chain_id: row.chain_id,
        parent_chain_id: row.parent_chain_id,
        delegator_id: row.delegator_id,
        delegatee_id: row.delegatee_id,
        scope: row.scope,
        expires_at: toIso(row.expires_at),
      });
    });
  }

  /**
   * Verifies a delegation token for `delegateeId`: node-oidc's signature (ES256, JWKS cached in the isolate,
   * refetched on an unknown kid), not expired, the current actor (`act.sub`) is the delegatee, and the chain
   * row and all its ancestors are active and unexpired. Throws 401 `delegation_invalid` with `reason`
   * (`malformed`, `signature`, `expired`, `delegatee_mismatch`, `revoked`, `unknown_chain`), or 503 `oidc_unavailable`.
   */
  async verify(token: string, delegateeId: string): Promise<VerifiedDelegation> {
    const now = this.clock.now();
    const payload = await this.#verifySignature(token, now);
    const chainId = payload[CHAIN_CLAIM];
    const act = payload.act as { sub?: unknown } | undefined;
    if (typeof chainId !== 'string' || !UUID.test(chainId) || typeof act?.sub !== 'string' || typeof payload.jti !== 'string') {
      throw invalid('malformed', 'The token is not a delegation token');
    }
    if (act.sub.toLowerCase() !== delegateeId.toLowerCase()) throw invalid('delegatee_mismatch', 'The delegation was not made to this agent');

    const rows = await this.db.query<ChainRow>(
      `WITH RECURSIVE up AS (
         SELECT * FROM delegation_chains WHERE chain_id = $1
         UNION ALL
         SELECT d.* FROM delegation_chains d JOIN up ON d.chain_id = up.parent_chain_id
       )
       SELECT * FROM up ORDER BY depth DESC`,
      [chainId],
    );
    const self = rows[0];
    if (!self || self.chain_id !== chainId || self.token_jti !== payload.jti || self.delegatee_id !== act.sub.toLowerCase()) {
      throw invalid('unknown_chain', 'The delegation is not on record');
    }
    if (rows.some((r) => r.status !== 'active')) throw invalid('revoked', 'The delegation or one it derives from is revoked');
    if (rows.some((r) => Date.parse(toIso(r.expires_at)) <= now.getTime())) throw invalid('expired', 'The delegation or one it derives from has expired');
    return {
      valid: true,
      chain_id: chainId,
      delegator_id: self.delegator_id,
      delegatee_id: self.delegatee_id,
      subject_id: String(payload.sub),
      scope: self.scope,
      depth: self.depth,
      expires_at: toIso(self.expires_at),
    };
  }

  /**
   * Revokes the chain (which the tenant's agent delegated) and every chain derived from it, in one
   * transaction. Idempotent: an already revoked chain answers its revocation. Throws `not_found` for an
   * unknown chain or another tenant's.
   */
  async revoke(organizationId: string, chainId: string, actor: string) {
    return this.db.tx(async (q) => {
      const [row] = await q.query<{ status: string; revoked_at: string | null }>(
        'SELECT status, revoked_at FROM delegation_chains WHERE chain_id = $1 AND organization_id = $2 FOR UPDATE',
        [chainId, organizationId],
      );
      if (!row) throw notFound('Delegation');
      if (row.status === 'revoked') return { chain_id: chainId, status: 'revoked' as const, revoked_at: toIso(row.revoked_at!) };
      const revokedAt = this.clock.now().toISOString();
      const revoked = await q.query<{ chain_id: string }>(
        `WITH RECURSIVE down AS (
           SELECT chain_id FROM delegation_chains WHERE chain_id = $1
           UNION
           SELECT d.chain_id FROM delegation_chains d JOIN down ON d.parent_chain_id = down.chain_id
         )
         UPDATE delegation_chains SET status = 'revoked', revoked_at = $2
         WHERE chain_id IN (SELECT chain_id FROM down) AND status = 'active'
         RETURNING chain_id`,
        [chainId, revokedAt],
      );
      const descendants = revoked.map((r) => r.chain_id).filter((id) => id !== chainId);
      await this.audit.append(q, organizationId, {
        event_type: 'delegation.revoked',
        actor,
        subject: chainId,
        payload: { descendants_revoked: descendants },
      });
      await this.events.announce(q, organizationId, 'delegation.revoked', { chain_id: chainId, revoked_at: revokedAt, descendants_revoked: descendants });
      return { chain_id: chainId, status: 'revoked' as const, revoked_at: revokedAt };
    });
  }

  async #announceCreated(q: Queryable, organizationId: string, actor: string, data: Record<string, unknown>) {
    await this.audit.append(q, organizationId, { event_type: 'delegation.created', actor, subject: String(data.chain_id), payload: data });
    await this.events.announce(q, organizationId, 'delegation.created', data);
  }

  async #verifySignature(token: string, now: Date): Promise<JWTPayload> {
    const options = { algorithms: ['ES256'], typ: 'JWT', currentDate: now, ...(this.settings.issuer ? { issuer: this.settings.issuer } : {}) };
    const attempt = async (refresh: boolean) =>
      (await jwtVerify(token, await nodeOidcKeys(this.link, this.settings.jwks, now.getTime(), refresh), options)).payload;
    try {
      try {
        return await attempt(false);
      } catch (err) {
        // A key node-oidc added since the JWKS was cached (rotation): refetch once, within the cooldown.
        if (err instanceof joseErrors.JWKSNoMatchingKey) return await attempt(true);
        throw err;
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw invalid('expired', 'The delegation token has expired');
      if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) {
        throw invalid('signature', 'The delegation token signature is not valid');
      }
      throw invalid('malformed', 'The delegation token is malformed or not acceptable');
    }
  }
}
