import type { Clock } from '../../platform/clock.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import type { Queryable } from '../../platform/db.ts';
import { canonicalJson } from './canonical-json.ts';
import type { AuditEvent } from './contract.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** What a caller says happened; the chain fields are filled in by `append`. */
export interface AuditEventInput {
  event_type: string;
  /** Who did it: `admin`, `api_key:<key id>`, `stripe`, `system`. */
  actor: string;
  /** What it was done to (an agent id, a credential id, ...). */
  subject?: string | null;
  payload?: Record<string, unknown>;
}

/** An event of the chain as stored and served (the AuditEvent contract). */
export type AuditRow = AuditEvent;

/** The exact bytes hashed for one event: the previous hash, a newline, the canonical event. */
export function auditHashInput(row: Omit<AuditRow, 'hash'>): string {
  const { prev_hash, ...event } = row;
  return `${prev_hash}\n${canonicalJson({ ...event, seq: Number(event.seq) })}`;
}

export const computeAuditHash = (row: Omit<AuditRow, 'hash'>) => sha256Hex(auditHashInput(row));

/**
 * Appends events to an organization's tamper-evident hash chain.
 */
export class AuditService {
  constructor(private readonly clock: Clock) {}

  /**
   * Appends one event inside the caller's transaction. The chain head lives on the organization row;
   * bumping it takes that row's lock, so concurrent appends to one organization serialise and `seq` has
   * no gaps. Must be called inside `Db.tx` so the event commits or rolls back with the change it records.
   */
  async append(q: Queryable, organizationId: string, input: AuditEventInput): Promise<AuditRow> {
    const [head] = await q.query<{ seq: string; prev_hash: string }>(
      `UPDATE organizations SET audit_head_seq = audit_head_seq + 1
       WHERE organization_id = $1 RETURNING audit_head_seq AS seq, audit_head_hash AS prev_hash`,
      [organizationId],
    );
    if (!head) throw new TypeError(`audit append for unknown organization ${organizationId}`);
    const base: Omit<AuditRow, 'hash'> = {
      organization_id: organizationId,
      seq: Number(head.seq),
      event_id: crypto.randomUUID(),
      event_type: input.event_type,
      actor: input.actor,
      subject: input.subject ?? null,
      payload: input.payload ?? {},
      occurred_at: this.clock.now().toISOString(),
      prev_hash: head.prev_hash,
    };
    const hash = await computeAuditHash(base);
    await q.query(
      `INSERT INTO audit_events (organization_id, seq, event_id, event_type, actor, subject, payload, occurred_at, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        base.organization_id,
        base.seq,
        base.event_id,
        base.event_type,
        base.actor,
        base.subject,
        JSON.stringify(base.payload),
        base.occurred_at,
        base.prev_hash,
        hash,
      ],
    );
    await q.query('UPDATE organizations SET audit_head_hash = $2 WHERE organization_id = $1', [organizationId, hash]);
    return { ...base, hash };
  }
}
