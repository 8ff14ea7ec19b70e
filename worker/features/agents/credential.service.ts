import { type Clock, toIsoOrNull } from '../../platform/clock.ts';
import { randomToken, sha256Hex } from '../../platform/crypto.ts';
import type { Db, Queryable } from '../../platform/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventAnnouncer } from './agent.service.ts';
import type { Credential, IssuedCredential } from './contract.ts';

export const DEFAULT_CREDENTIAL_DAYS = 90;

/** Client secrets for an agent's client_credentials grant. */
export class CredentialService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly events?: EventAnnouncer,
    private readonly onIssued?: (organizationId: string, agentId: string) => void,
  ) {}

  /**
   * Issues a credential for an active agent. The secret is returned here only; its SHA-256 is stored.
   * Throws `not_found`, or `agent_not_active` (409).
   */
  async create(
    organizationId: string,
    agentId: string,
    expiresInDays: number,
    actor: string,
  ): Promise<IssuedCredential> {
    const secret = `aidp_cs_${randomToken(32)}`;
    const secretHash = await sha256Hex(secret);
    const expiresAt = new Date(this.clock.now().getTime() + expiresInDays * 86_400_000).toISOString();
    const issued = await this.db.tx(async (q) => {
      const [agent] = await q.query<{ status: string }>(
        'SELECT status FROM agents WHERE agent_id = $1 AND organization_id = $2 FOR UPDATE',
        [agentId, organizationId],
      );
      if (!agent) throw notFound('Agent');
      if (agent.status !== 'active') throw new AppError('agent_not_active', `Agent is ${agent.status}`);
      const credentialId = crypto.randomUUID();
      await q.query(
        `INSERT INTO credentials (credential_id, organization_id, agent_id, secret_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [credentialId, organizationId, agentId, secretHash, this.clock.now().toISOString(), expiresAt],
      );
      await this.audit.append(q, organizationId, {
        event_type: 'credential.created',
        actor,
        subject: credentialId,
        payload: { agent_id: agentId, expires_at: expiresAt },
      });
      await this.events?.announce(q, organizationId, 'credential.created', {
        credential_id: credentialId,
        agent_id: agentId,
        expires_at: expiresAt,
      });
      return { credential_id: credentialId, client_id: agentId, client_secret: secret, expires_at: expiresAt };
    });
    this.onIssued?.(organizationId, agentId);
    return issued;
  }

  /** The agent's credentials, newest first, without secrets. */
  async list(organizationId: string, agentId: string): Promise<Credential[]> {
    const [agent] = await this.db.query('SELECT 1 FROM agents WHERE agent_id = $1 AND organization_id = $2', [
      agentId,
      organizationId,
    ]);
    if (!agent) throw notFound('Agent');
    const rows = await this.db.query<{
      credential_id: string;
      created_at: string;
      expires_at: string | null;
      revoked_at: string | null;
    }>(
      `SELECT credential_id, created_at, expires_at, revoked_at FROM credentials
       WHERE agent_id = $1 AND organization_id = $2 ORDER BY created_at DESC, credential_id`,
      [agentId, organizationId],
    );
    const now = this.clock.now().getTime();
    return rows.map((r) => ({
      credential_id: r.credential_id,
      client_id: agentId,
      created_at: toIsoOrNull(r.created_at)!,
      expires_at: toIsoOrNull(r.expires_at),
      revoked_at: toIsoOrNull(r.revoked_at),
      status: r.revoked_at
        ? 'revoked'
        : r.expires_at && Date.parse(toIsoOrNull(r.expires_at)!) <= now
          ? 'expired'
          : 'active',
    }));
  }

  /**
   * Revokes every live credential of the agent inside the caller's transaction (the agent's decommission),
   * each with its `credential.revoked` audit and webhook event (`reason: "agent_decommissioned"`). Answers
   * how many were revoked.
   */
  async revokeAllOf(q: Queryable, organizationId: string, agentId: string, actor: string): Promise<number> {
    const now = this.clock.now().toISOString();
    const rows = await q.query<{ credential_id: string }>(
      `UPDATE credentials SET revoked_at = $3
       WHERE agent_id = $1 AND organization_id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)
       RETURNING credential_id`,
      [agentId, organizationId, now],
    );
    for (const { credential_id } of rows.sort((a, b) => (a.credential_id < b.credential_id ? -1 : 1))) {
      const details = { agent_id: agentId, reason: 'agent_decommissioned' };
      await this.audit.append(q, organizationId, {
        event_type: 'credential.revoked',
        actor,
        subject: credential_id,
        payload: details,
      });
      await this.events?.announce(q, organizationId, 'credential.revoked', { credential_id, ...details });
    }
    return rows.length;
  }

  /** Revokes a credential (idempotent). Throws `not_found` for unknown or foreign ids. */
  async revoke(organizationId: string, agentId: string, credentialId: string, actor: string): Promise<void> {
    await this.db.tx(async (q) => {
      const [row] = await q.query<{ revoked_at: string | null }>(
        `SELECT revoked_at FROM credentials WHERE credential_id = $1 AND agent_id = $2 AND organization_id = $3 FOR UPDATE`,
        [credentialId, agentId, organizationId],
      );
      if (!row) throw notFound('Credential');
      if (row.revoked_at) return;
      await q.query('UPDATE credentials SET revoked_at = $2 WHERE credential_id = $1', [
        credentialId,
        this.clock.now().toISOString(),
      ]);
      await this.audit.append(q, organizationId, {
        event_type: 'credential.revoked',
        actor,
        subject: credentialId,
        payload: { agent_id: agentId },
      });
      await this.events?.announce(q, organizationId, 'credential.revoked', {
        credential_id: credentialId,
        agent_id: agentId,
      });
    });
  }
}
