import { type Clock, toIso } from '../../platform/clock.ts';
import type { Queryable } from '../../platform/db.ts';
import type { AuditVerificationService } from './audit-verification.service.ts';
import type { ChainBreakReason } from './contract.ts';

/** One walk of a whole chain (every event re-hashed from seq 1) and what it found. */
export interface FullWalk {
  /** When the walk started. */
  walked_at: string;
  /** The chain head it walked to. */
  head_seq: number;
  /** Events re-hashed: all of them when intact, up to the first break otherwise. */
  checked: number;
  verified: boolean;
  first_broken_seq: number | null;
  reason: ChainBreakReason | null;
}

interface StoredWalk {
  walked_at: string | Date;
  head_seq: string;
  checked: string;
  broken_seq: string | null;
  broken_reason: string | null;
  break_recorded_at: string | Date | null;
}

/**
 * Full walks of an organization's audit chain for the compliance report (table `audit_full_walks`). Unlike
 * a routine verification, which starts at the last checkpoint and so cannot see a change below it, a full
 * walk re-hashes every event — in pages, so memory stays flat however long the chain — and compares the
 * last one with the organization's head. A walk is kept and reused for `maxAgeSeconds` (the report's cache
 * lifetime), so a report costs one walk per 5 minutes at most, with or without Redis.
 */
export class AuditFullWalks {
  constructor(
    private readonly q: Queryable,
    private readonly clock: Clock,
    private readonly verifier: Pick<AuditVerificationService, 'verifyChain'>,
  ) {}

  /**
   * The organization's last full walk when it started less than `maxAgeSeconds` ago and no verification
   * has found a break since; otherwise a new full walk, stored, started at `now`. Throws `not_found` (404)
   * for an unknown organization; database errors propagate.
   */
  async latest(organizationId: string, maxAgeSeconds: number, now = this.clock.now()): Promise<FullWalk> {
    const [stored] = await this.q.query<StoredWalk>(
      `SELECT w.walked_at, w.head_seq, w.checked, w.broken_seq, w.broken_reason, c.broken_at AS break_recorded_at
         FROM audit_full_walks w LEFT JOIN audit_checkpoints c ON c.organization_id = w.organization_id
        WHERE w.organization_id = $1`,
      [organizationId],
    );
    if (stored && this.#reusable(stored, now, maxAgeSeconds)) {
      return {
        walked_at: toIso(stored.walked_at),
        head_seq: Number(stored.head_seq),
        checked: Number(stored.checked),
        verified: stored.broken_seq === null,
        first_broken_seq: stored.broken_seq === null ? null : Number(stored.broken_seq),
        reason: stored.broken_reason as ChainBreakReason | null,
      };
    }
    return this.walk(organizationId, now);
  }

  /** Walks the whole chain, starting at `now`, and stores the outcome. Throws as `latest`. */
  async walk(organizationId: string, now = this.clock.now()): Promise<FullWalk> {
    const walkedAt = now.toISOString();
    const v = await this.verifier.verifyChain(organizationId, { full: true });
    const walk: FullWalk = {
      walked_at: walkedAt,
      head_seq: v.head_seq,
      checked: v.checked,
      verified: v.verified,
      first_broken_seq: v.first_broken_seq,
      reason: v.reason,
    };
    // A slower walk that started earlier never replaces a later one.
    await this.q.query(
      `INSERT INTO audit_full_walks (organization_id, walked_at, head_seq, checked, broken_seq, broken_reason)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (organization_id) DO UPDATE SET
         walked_at = EXCLUDED.walked_at, head_seq = EXCLUDED.head_seq, checked = EXCLUDED.checked,
         broken_seq = EXCLUDED.broken_seq, broken_reason = EXCLUDED.broken_reason
       WHERE audit_full_walks.walked_at <= EXCLUDED.walked_at`,
      [organizationId, walkedAt, walk.head_seq, walk.checked, walk.first_broken_seq, walk.reason],
    );
    return walk;
  }

  #reusable(stored: StoredWalk, now: Date, maxAgeSeconds: number): boolean {
    const walkedAt = new Date(stored.walked_at).getTime();
    const age = now.getTime() - walkedAt;
    if (!(age >= 0 && age < maxAgeSeconds * 1000)) return false;
    // A break found by any verification after an intact walk: walk again rather than report it intact.
    const breakAt = stored.break_recorded_at == null ? undefined : new Date(stored.break_recorded_at).getTime();
    return !(stored.broken_seq === null && breakAt !== undefined && breakAt >= walkedAt);
  }
}
