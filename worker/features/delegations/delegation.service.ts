import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { isAgentId } from '../../../shared/agent-id.ts';
import type { DelegationRecord } from '../../../shared/oidc-link.ts';
import { type Clock, toIso } from '../../platform/clock.ts';
import type { Db, Queryable } from '../../platform/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { EventAnnouncer } from '../agents/agent.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { NodeOidc } from '../oidc/node-oidc.ts';
import { type NodeOidcJwksOptions, nodeOidcKeys } from '../oidc/node-oidc-jwks.ts';
import type { TokenReservation } from '../oidc/oidc-token.service.ts';
import type { VerifiedDelegation } from './contract.ts';
import { chainWithAncestors, revokeWithDescendants, shareLockChains } from './delegation-chains.ts';
import type { ExchangeRefusal } from './exchange-record.ts';

/** The claim that carries the chain id (node-oidc/src/delegation.ts). */
export const CHAIN_CLAIM = 'delegation_chain_id';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** Chain ids are UUIDs in the same canonical spelling as agent ids. */
const isChainId = isAgentId;

export interface CreateDelegationInput {
  delegator_id: string;
  delegatee_id: string;
  scope: string;
  expires_in?: number;
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
    if (!delegatee || (delegatee.organization_id !== organizationId && delegatee.status !== 'active'))
      throw notFound('Delegatee agent');
    if (delegatee.status !== 'active') throw new AppError('agent_not_active', `Delegatee agent is ${delegatee.status}`);

    const held = Array.isArray(delegator.capabilities)
      ? delegator.capabilities.filter((c) => typeof c === 'string')
      : [];
    const scopes = [...new Set(input.scope.split(' ').filter(Boolean))];
    const notHeld = scopes.filter((s) => !SCOPE_TOKEN.test(s) || !held.includes(s));
    if (scopes.length === 0 || notHeld.length > 0) {
      throw new AppError(
        'invalid_scope',
        `scope must be a non-empty subset of the delegator's capabilities${notHeld.length ? `; not held: ${notHeld.join(' ')}` : ''}`,
      );
    }
    const scope = scopes.join(' ');

    if (!this.link)
      throw new AppError(
        'oidc_unavailable',
        'The token service is not configured (OIDC_ORIGIN or the NODE_OIDC container)',
      );
    const chainId = crypto.randomUUID();
    const signed = await this.link.internal<{ token: string; jti: string; expires_at: string }>(
      'POST',
      '/internal/delegations/sign',
      {
        chain_id: chainId,
        organization_id: organizationId,
        delegator_id: delegatorId,
        delegatee_id: delegateeId,
        scope,
        expires_in: input.expires_in,
      },
    );
    if (signed.status !== 200 || !signed.body?.token) {
      throw new AppError('oidc_unavailable', `The token service refused to sign the delegation (${signed.status})`);
    }
    const expiresAt = toIso(signed.body.expires_at);
    await this.db.tx(async (q) => {
      // Checked again under lock: a decommission that committed since the check above ends this delegation too.
      if (!(await this.#lockActiveAgents(q, [delegatorId, delegateeId]))) {
        throw new AppError('agent_not_active', 'The delegator or the delegatee is no longer active');
      }
      await q.query(
        `INSERT INTO delegation_chains (chain_id, organization_id, parent_chain_id, depth, subject_id, delegator_id,
           delegatee_id, scope, status, created_at, expires_at, token_jti)
         VALUES ($1, $2, NULL, 1, $3, $3, $4, $5, 'active', $6, $7, $8)`,
        [
          chainId,
          organizationId,
          delegatorId,
          delegateeId,
          scope,
          this.clock.now().toISOString(),
          expiresAt,
          signed.body!.jti,
        ],
      );
      await this.#announceCreated(q, organizationId, actor, {
        chain_id: chainId,
        parent_chain_id: null,
        delegator_id: delegatorId,
        delegatee_id: delegateeId,
        scope,
        expires_at: expiresAt,
      });
    });
    return { chain_id: chainId, token: signed.body.token, expires_at: expiresAt };
  }

  /**
   * Records the chain a token exchange made (node-oidc signed the token and sends `record`; it writes no
   * row): the chain row, its `delegation.created` audit event and webhook outbox row, in one transaction,
   * before the token is handed out. What node-oidc checked and may have changed since is checked again under
   * lock: both agents active, the parent chain and its ancestors active and unexpired. Answers a refusal
   * (then no token may be handed out) or undefined once recorded. Throws TypeError when the record does not
   * match the reservation, and rejects when the database fails.
   */
  async recordExchange(record: DelegationRecord, reservation: TokenReservation): Promise<ExchangeRefusal | undefined> {
    if (record.delegator_id !== reservation.agentId || record.organization_id !== reservation.organizationId) {
      throw new TypeError('node-oidc recorded a delegation for another client than the one counted');
    }
    return this.db.tx(async (q) => {
      if (!(await this.#lockActiveAgents(q, [record.delegator_id, record.delegatee_id]))) {
        return { error: 'invalid_target', description: 'the delegator or the delegatee is no longer active' };
      }
      if (record.parent_chain_id) {
        const ancestors = (await chainWithAncestors(q, record.parent_chain_id)).map((r) => r.chain_id);
        const locked = ancestors.length ? await shareLockChains(q, ancestors) : [];
        const now = this.clock.now().getTime();
        if (
          locked.length === 0 ||
          locked.some((r) => r.status !== 'active' || Date.parse(toIso(r.expires_at)) <= now)
        ) {
          return { error: 'invalid_grant', description: 'the subject delegation is revoked or expired' };
        }
      }
      await q.query(
        `INSERT INTO delegation_chains (chain_id, organization_id, parent_chain_id, depth, subject_id, delegator_id,
           delegatee_id, scope, status, created_at, expires_at, token_jti)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11)`,
        [
          record.chain_id,
          record.organization_id,
          record.parent_chain_id,
          record.depth,
          record.subject_id,
          record.delegator_id,
          record.delegatee_id,
          record.scope,
          this.clock.now().toISOString(),
          record.expires_at,
          record.token_jti,
        ],
      );
      await this.#announceCreated(q, record.organization_id, `agent:${record.delegator_id}`, {
        chain_id: record.chain_id,
        parent_chain_id: record.parent_chain_id,
        delegator_id: record.delegator_id,
        delegatee_id: record.delegatee_id,
        scope: record.scope,
        expires_at: toIso(record.expires_at),
      });
      return undefined;
    });
  }

  /**
   * Verifies a delegation token for `delegateeId` on behalf of `organizationId`: node-oidc's signature
   * (ES256, JWKS cached in the isolate, refetched on an unknown kid), not expired, the chain on record and
   * the calling tenant party to it, the current actor (`act.sub`) is the delegatee, and the chain row and
   * all its ancestors are active and unexpired. A tenant is party to a chain when one of its agents is on
   * it: the subject, a delegator or the delegatee. Anyone else gets exactly the answer a token that is not
   * on record gets, so the answer tells them nothing about the chain. Throws 401 `delegation_invalid` with
   * `reason` (`malformed`, `signature`, `expired`, `unknown_chain`, `delegatee_mismatch`, `revoked`), or 503
   * `oidc_unavailable`.
   */
  async verify(organizationId: string, token: string, delegateeId: string): Promise<VerifiedDelegation> {
    const now = this.clock.now();
    const payload = await this.#verifySignature(token, now);
    const chainId = payload[CHAIN_CLAIM];
    const act = payload.act as { sub?: unknown } | undefined;
    if (!isChainId(chainId) || typeof act?.sub !== 'string' || typeof payload.jti !== 'string') {
      throw invalid('malformed', 'The token is not a delegation token');
    }
    const rows = await chainWithAncestors(this.db, chainId);
    const self = rows[0];
    const party = rows.some(
      (r) => r.organization_id === organizationId || r.delegatee_organization_id === organizationId,
    );
    if (
      !self ||
      self.chain_id !== chainId ||
      self.token_jti !== payload.jti ||
      self.delegatee_id !== act.sub ||
      !party
    ) {
      throw invalid('unknown_chain', 'The delegation is not on record');
    }
    if (act.sub !== delegateeId.toLowerCase())
      throw invalid('delegatee_mismatch', 'The delegation was not made to this agent');
    if (rows.some((r) => r.status !== 'active'))
      throw invalid('revoked', 'The delegation or one it derives from is revoked');
    if (rows.some((r) => Date.parse(toIso(r.expires_at)) <= now.getTime()))
      throw invalid('expired', 'The delegation or one it derives from has expired');
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
      if (row.status === 'revoked')
        return { chain_id: chainId, status: 'revoked' as const, revoked_at: toIso(row.revoked_at!) };
      const revokedAt = this.clock.now().toISOString();
      const descendants = (await revokeWithDescendants(q, chainId, revokedAt)).filter((id) => id !== chainId);
      await this.audit.append(q, organizationId, {
        event_type: 'delegation.revoked',
        actor,
        subject: chainId,
        payload: { descendants_revoked: descendants },
      });
      await this.events.announce(q, organizationId, 'delegation.revoked', {
        chain_id: chainId,
        revoked_at: revokedAt,
        descendants_revoked: descendants,
      });
      return { chain_id: chainId, status: 'revoked' as const, revoked_at: revokedAt };
    });
  }

  /** Locks the agents' rows FOR SHARE; true when every one of them exists and is active. */
  async #lockActiveAgents(q: Queryable, agentIds: string[]): Promise<boolean> {
    const ids = [...new Set(agentIds)];
    const rows = await q.query<{ status: string }>(
      'SELECT status FROM agents WHERE agent_id = ANY($1::uuid[]) ORDER BY agent_id FOR SHARE',
      [ids],
    );
    return rows.length === ids.length && rows.every((r) => r.status === 'active');
  }

  async #announceCreated(q: Queryable, organizationId: string, actor: string, data: Record<string, unknown>) {
    await this.audit.append(q, organizationId, {
      event_type: 'delegation.created',
      actor,
      subject: String(data.chain_id),
      payload: data,
    });
    await this.events.announce(q, organizationId, 'delegation.created', data);
  }

  async #verifySignature(token: string, now: Date): Promise<JWTPayload> {
    const options = {
      algorithms: ['ES256'],
      typ: 'JWT',
      currentDate: now,
      ...(this.settings.issuer ? { issuer: this.settings.issuer } : {}),
    };
    const attempt = async (refresh: boolean) =>
      (await jwtVerify(token, await nodeOidcKeys(this.link, this.settings.jwks, now.getTime(), refresh), options))
        .payload;
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
