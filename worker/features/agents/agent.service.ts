import { toIsoOrNull } from '../../platform/clock.ts';
import type { Db, Queryable } from '../../platform/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { decodeCursor, encodeCursor } from '../../platform/pagination.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { Agent } from './contract.ts';

export type { Agent } from './contract.ts';

export interface AgentInput {
  email: string;
  owner: string;
  agent_type: string;
  capabilities: string[];
  endpoint?: string | null;
  version?: string | null;
  deployment_env?: string | null;
}

/** Domain event sink (webhooks): records deliveries inside the caller's transaction. */
export interface EventAnnouncer {
  announce(q: Queryable, organizationId: string, type: string, data: Record<string, unknown>): Promise<void>;
}

/** Points where other services join an agent's lifecycle. All run inside the agent's transaction. */
export interface AgentHooks {
  /** Before the insert: quota checks (may lock the organization row and throw). */
  beforeCreate?(q: Queryable, organizationId: string): Promise<void>;
  /** After the insert: identity material (the DID). May update the agent row. */
  afterCreate?(q: Queryable, agent: Agent): Promise<Partial<Agent>>;
  /**
   * Inside the decommission's transaction, with the agent's row locked and before its status changes: ends
   * what speaks for the agent (credentials, delegations). Answers a summary for the audit event's payload.
   */
  onDecommission?(q: Queryable, agent: Agent, actor: string): Promise<Record<string, unknown>>;
  /** After commit of any change: cache invalidation, analytics. */
  afterCommit?(agent: Agent, change: 'created' | 'updated' | 'decommissioned'): Promise<void>;
}

const COLUMNS = `agent_id, organization_id, email, owner, agent_type, capabilities, endpoint, version, deployment_env,
  status, did, did_created_at, created_at, updated_at`;

export function toAgent(row: Record<string, unknown>): Agent {
  return {
    agent_id: row.agent_id as string,
    organization_id: row.organization_id as string,
    email: row.email as string,
    owner: row.owner as string,
    agent_type: row.agent_type as string,
    capabilities: (row.capabilities as string[]) ?? [],
    endpoint: (row.endpoint as string | null) ?? null,
    version: (row.version as string | null) ?? null,
    deployment_env: (row.deployment_env as string | null) ?? null,
    status: row.status as Agent['status'],
    did: (row.did as string | null) ?? null,
    did_created_at: toIsoOrNull(row.did_created_at),
    created_at: toIsoOrNull(row.created_at)!,
    updated_at: toIsoOrNull(row.updated_at)!,
  };
}

export class AgentService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly hooks: AgentHooks = {},
    private readonly events?: EventAnnouncer,
  ) {}

  /**
   * Registers an agent: quota check, insert, DID, audit event and `agent.created` in one transaction.
   * Throws `tier_limit_exceeded` (429) from the quota hook.
   */
  async create(organizationId: string, input: AgentInput, actor: string): Promise<Agent> {
    const agent = await this.db.tx(async (q) => {
      await this.hooks.beforeCreate?.(q, organizationId);
      const [row] = await q.query(
        `INSERT INTO agents (agent_id, organization_id, email, owner, agent_type, capabilities, endpoint, version, deployment_env)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
        [
          crypto.randomUUID(),
          organizationId,
          input.email,
          input.owner,
          input.agent_type,
          JSON.stringify(input.capabilities),
          input.endpoint ?? null,
          input.version ?? null,
          input.deployment_env ?? null,
        ],
      );
      let created = toAgent(row!);
      const extra = await this.hooks.afterCreate?.(q, created);
      if (extra) created = { ...created, ...extra };
      await this.audit.append(q, organizationId, {
        event_type: 'agent.created',
        actor,
        subject: created.agent_id,
        payload: { agent_type: created.agent_type, did: created.did },
      });
      await this.events?.announce(q, organizationId, 'agent.created', { agent: created });
      return created;
    });
    await this.hooks.afterCommit?.(agent, 'created');
    return agent;
  }

  /** One agent of this organization; `not_found` for unknown ids and other tenants' agents alike. */
  async get(organizationId: string, agentId: string, q: Queryable = this.db): Promise<Agent> {
    const [row] = await q.query(`SELECT ${COLUMNS} FROM agents WHERE agent_id = $1 AND organization_id = $2`, [
      agentId,
      organizationId,
    ]);
    if (!row) throw notFound('Agent');
    return toAgent(row);
  }

  /** Newest first, keyset-paginated. */
  async list(
    organizationId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ data: Agent[]; next_cursor: string | null }> {
    const after = decodeCursor(cursor);
    const rows = await this.db.query(
      `SELECT ${COLUMNS} FROM agents WHERE organization_id = $1
         AND ($2::timestamptz IS NULL OR (created_at, agent_id) < ($2::timestamptz, $3::uuid))
       ORDER BY created_at DESC, agent_id DESC LIMIT $4`,
      [organizationId, after?.createdAt ?? null, after?.id ?? null, limit + 1],
    );
    const data = rows.slice(0, limit).map(toAgent);
    const last = data[data.length - 1];
    return {
      data,
      next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, id: last.agent_id }) : null,
    };
  }

  /** Partial update. Throws `not_found`, or `agent_not_active` for a decommissioned agent. */
  async update(organizationId: string, agentId: string, patch: Partial<AgentInput>, actor: string): Promise<Agent> {
    const fields = Object.entries(patch).filter(([, v]) => v !== undefined);
    const agent = await this.db.tx(async (q) => {
      const current = await this.#lock(q, organizationId, agentId);
      if (current.status === 'decommissioned') {
        throw new AppError('agent_not_active', 'A decommissioned agent cannot be changed');
      }
      const sets = fields.map(([k], i) => `${k} = $${i + 3}`);
      const values = fields.map(([k, v]) => (k === 'capabilities' ? JSON.stringify(v) : v));
      const [row] = await q.query(
        `UPDATE agents SET ${[...sets, 'updated_at = now()'].join(', ')}
         WHERE agent_id = $1 AND organization_id = $2 RETURNING ${COLUMNS}`,
        [agentId, organizationId, ...values],
      );
      const updated = toAgent(row!);
      await this.audit.append(q, organizationId, {
        event_type: 'agent.updated',
        actor,
        subject: agentId,
        payload: { fields: fields.map(([k]) => k) },
      });
      await this.events?.announce(q, organizationId, 'agent.updated', { agent: updated });
      return updated;
    });
    await this.hooks.afterCommit?.(agent, 'updated');
    return agent;
  }

  /**
   * Marks the agent decommissioned (idempotent), and in the same transaction ends what speaks for it (the
   * onDecommission hook: its credentials and delegation chains). Its DID document becomes deactivated.
   * Access tokens already issued stay valid until they expire. Throws `not_found`.
   */
  async decommission(organizationId: string, agentId: string, actor: string): Promise<Agent> {
    let changed = false;
    const agent = await this.db.tx(async (q) => {
      const current = await this.#lock(q, organizationId, agentId);
      if (current.status === 'decommissioned') return current;
      changed = true;
      const ended = (await this.hooks.onDecommission?.(q, current, actor)) ?? {};
      const [row] = await q.query(
        `UPDATE agents SET status = 'decommissioned', decommissioned_at = now(), updated_at = now()
         WHERE agent_id = $1 AND organization_id = $2 RETURNING ${COLUMNS}`,
        [agentId, organizationId],
      );
      const updated = toAgent(row!);
      await this.audit.append(q, organizationId, {
        event_type: 'agent.decommissioned',
        actor,
        subject: updated.agent_id,
        payload: ended,
      });
      await this.events?.announce(q, organizationId, 'agent.decommissioned', { agent: updated });
      return updated;
    });
    if (changed) await this.hooks.afterCommit?.(agent, 'decommissioned');
    return agent;
  }

  async #lock(q: Queryable, organizationId: string, agentId: string): Promise<Agent> {
    const [row] = await q.query(
      `SELECT ${COLUMNS} FROM agents WHERE agent_id = $1 AND organization_id = $2 FOR UPDATE`,
      [agentId, organizationId],
    );
    if (!row) throw notFound('Agent');
    return toAgent(row);
  }
}
