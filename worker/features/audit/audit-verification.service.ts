import type { Clock } from '../../platform/clock.ts';
import type { Queryable } from '../../platform/db.ts';
import { fromBase64Url, toBase64Url, utf8 } from '../../platform/encoding.ts';
import { notFound, validationFailed } from '../../platform/errors.ts';
import { type AuditRow, computeAuditHash, GENESIS_HASH } from './audit.service.ts';
import type { AuditEventPage, ChainBreakReason, ChainVerification } from './contract.ts';

interface HeadRow {
  audit_head_seq: string;
  audit_head_hash: string;
  max_seq: string | null;
  verified_seq: string | null;
  verified_hash: string | null;
  broken_seq: string | null;
}

interface Break {
  seq: number;
  reason: ChainBreakReason;
}

// occurred_at is formatted by Postgres exactly as the writer's `toISOString()` (UTC, milliseconds): parsing a
// Date per row would cost more than the hash. The writer never stores sub-millisecond times.
const EVENT_COLUMNS = `seq, event_id, event_type, actor, subject, payload,
  to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, prev_hash, hash`;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MIN_BIGINT = '-9223372036854775808';
export const DEFAULT_VERIFY_PAGE_SIZE = 2000;

/** A stored audit row in the exact shape the writer hashed (bigint, timestamptz and jsonb normalised). */
export function toAuditRow(organizationId: string, r: Record<string, unknown>): AuditRow {
  return {
    organization_id: organizationId,
    seq: Number(r.seq),
    event_id: String(r.event_id),
    event_type: String(r.event_type),
    actor: String(r.actor),
    subject: (r.subject as string | null) ?? null,
    payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
    occurred_at:
      typeof r.occurred_at === 'string' && ISO_MS.test(r.occurred_at)
        ? r.occurred_at
        : new Date(r.occurred_at as string | Date).toISOString(),
    prev_hash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

const encodeSeqCursor = (seq: number) => toBase64Url(utf8(`seq:${seq}`));

function decodeSeqCursor(cursor: string | undefined): number | undefined {
  if (!cursor) return undefined;
  let text = '';
  try {
    text = new TextDecoder().decode(fromBase64Url(cursor));
  } catch {
    // not base64url: rejected below
  }
  const m = /^seq:(\d{1,15})$/.exec(text);
  if (!m) throw validationFailed('cursor is not valid', [{ path: 'cursor', message: 'invalid cursor' }]);
  return Number(m[1]);
}

/**
 * Reads and verifies an organization's audit hash chain (written by AuditService).
 *
 * A verification walks the chain in seq order, a page at a time (memory stays bounded by the page size, whatever
 * the chain's length), recomputes every hash with the writer's own `computeAuditHash`, checks each `prev_hash`
 * link and that seqs run 1, 2, 3... without a gap, and finally compares the last event with the organization's
 * head (`audit_head_seq`/`audit_head_hash`) so that a deleted or rewritten tail is caught too.
 *
 * Checkpoints (`audit_checkpoints`): after an intact walk the head becomes the checkpoint, and a routine
 * verification re-checks the checkpointed event and walks only the events after it. What a checkpoint hides:
 * a change to an event *below* the checkpoint is found only by `{ full: true }`. Once any walk finds the chain
 * broken that finding is kept (`broken_seq`) and every later routine verification walks the whole chain again
 * until a full walk finds it intact, so a checkpoint never turns a known break back into `verified: true`.
 *
 * Limits: the chain proves the history was not changed *relative to its head*. Someone with write access to
 * the database who rewrites every event after a change, the head and the checkpoint leaves a valid chain; only
 * a copy of the head kept outside the database (exported reports, a signed anchor) detects that.
 */
export class AuditVerificationService {
  readonly #q: Queryable;
  readonly #clock: Clock;
  readonly #pageSize: number;

  constructor(q: Queryable, clock: Clock, options: { pageSize?: number } = {}) {
    this.#q = q;
    this.#clock = clock;
    this.#pageSize = options.pageSize ?? DEFAULT_VERIFY_PAGE_SIZE;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1)
      throw new TypeError('pageSize must be a positive integer');
  }

  /**
   * Verifies the organization's chain: from its checkpoint (routine) or from seq 1 (`full`, or when there is
   * no usable checkpoint), and records the outcome as the new checkpoint or as a sticky break. Throws
   * `not_found` (404) for an unknown organization.
   */
  async verifyChain(organizationId: string, options: { full?: boolean } = {}): Promise<ChainVerification> {
    // One statement, one snapshot: the head and the highest stored seq agree with each other even while
    // events are being appended. Events up to that head are committed and immutable, so the walk below can
    // take as many statements as it needs.
    const [head] = await this.#q.query<HeadRow>(
      `SELECT o.audit_head_seq, o.audit_head_hash,
              (SELECT max(seq) FROM audit_events e WHERE e.organization_id = o.organization_id) AS max_seq,
              c.verified_seq, c.verified_hash, c.broken_seq
         FROM organizations o LEFT JOIN audit_checkpoints c ON c.organization_id = o.organization_id
        WHERE o.organization_id = $1`,
      [organizationId],
    );
    if (!head) throw notFound('Organization');
    const headSeq = Number(head.audit_head_seq);
    const headHash = head.audit_head_hash;
    const maxSeq = head.max_seq == null ? null : Number(head.max_seq);
    const checkpoint =
      head.verified_seq != null && Number(head.verified_seq) > 0
        ? { seq: Number(head.verified_seq), hash: head.verified_hash! }
        : undefined;
    const full = options.full === true || !checkpoint || head.broken_seq != null;

    // The head below an already verified event: the tail was cut off (and the head rewound to hide it).
    const truncated =
      checkpoint && headSeq < checkpoint.seq ? { seq: headSeq + 1, reason: 'missing_event' as const } : undefined;
    let result: { brk?: Break; checked: number; from: number };
    if (!full && truncated) {
      result = { brk: truncated, checked: 0, from: checkpoint!.seq };
    } else {
      result = await this.#walk(organizationId, {
        from: full ? undefined : checkpoint!.seq,
        headSeq,
        headHash,
        maxSeq,
        checkpoint,
      });
      result.brk ??= truncated;
    }

    const checkpointSeq = await this.#record(organizationId, full, result.brk, headSeq, headHash, checkpoint?.seq ?? 0);
    return {
      verified: !result.brk,
      checked: result.checked,
      first_broken_seq: result.brk?.seq ?? null,
      reason: result.brk?.reason ?? null,
      full,
      from_seq: result.from,
      head_seq: headSeq,
      checkpoint_seq: checkpointSeq,
    };
  }

  /**
   * Walks events `[from, headSeq]` (from the lowest stored seq when `from` is undefined). Stops at the first
   * break. In a routine walk the first event is the checkpointed one: its link to the event before it is not
   * checked (that is below the checkpoint), its own hash and its match with the checkpoint are.
   */
  async #walk(
    organizationId: string,
    w: {
      from?: number;
      headSeq: number;
      headHash: string;
      maxSeq: number | null;
      checkpoint?: { seq: number; hash: string };
    },
  ): Promise<{ brk?: Break; checked: number; from: number }> {
    let expected = w.from ?? 1;
    let prevHash: string | undefined = w.from === undefined ? GENESIS_HASH : undefined;
    let checked = 0;
    const fetchPage = (fromSeq: string) =>
      this.#q.query(
        // sub_ms: a time the writer cannot have written (it stores milliseconds); neither JS Date nor the
        // formatting above would see such an edit, so it is flagged here.
        `SELECT ${EVENT_COLUMNS}, occurred_at <> date_trunc('milliseconds', occurred_at) AS sub_ms FROM audit_events
          WHERE organization_id = $1 AND seq >= $2::bigint AND seq <= $3::bigint
          ORDER BY seq LIMIT $4`,
        [organizationId, fromSeq, String(w.headSeq), this.#pageSize],
      );

    let next: Promise<Record<string, unknown>[]> | undefined =
      w.headSeq >= expected || w.from === undefined
        ? fetchPage(w.from === undefined ? MIN_BIGINT : String(w.from))
        : undefined;
    while (next) {
      const page = await next;
      const last = page[page.length - 1];
      // Prefetch the next page while this one is hashed; at most two pages are held at once.
      next = page.length === this.#pageSize && last ? fetchPage(String(Number(last.seq) + 1)) : undefined;
      const rows = page.map((r) => toAuditRow(organizationId, r));
      const hashes = await Promise.all(rows.map(({ hash: _stored, ...event }) => computeAuditHash(event)));
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        let brk: Break | undefined;
        if (row.seq !== expected) {
          brk =
            row.seq > expected
              ? { seq: expected, reason: 'missing_event' }
              : { seq: row.seq, reason: 'unexpected_event' };
        } else if (prevHash !== undefined && row.prev_hash !== prevHash) {
          brk = { seq: row.seq, reason: 'prev_hash_mismatch' };
        } else if (hashes[i] !== row.hash || page[i]!.sub_ms === true) {
          brk = { seq: row.seq, reason: 'hash_mismatch' };
        } else if (w.checkpoint && row.seq === w.checkpoint.seq && row.hash !== w.checkpoint.hash) {
          brk = { seq: row.seq, reason: 'checkpoint_mismatch' };
        }
        checked++;
        if (brk) {
          next?.catch(() => undefined);
          return { brk, checked, from: w.from ?? 1 };
        }
        prevHash = row.hash;
        expected++;
      }
    }

    const from = w.from ?? 1;
    if (expected <= w.headSeq) return { brk: { seq: expected, reason: 'missing_event' }, checked, from };
    // Every event up to the head was walked, so prevHash is the last event's hash (GENESIS for an empty chain).
    if (prevHash !== w.headHash) {
      return { brk: { seq: w.headSeq, reason: 'head_mismatch' }, checked, from };
    }
    if (w.maxSeq != null && w.maxSeq > w.headSeq) {
      return { brk: { seq: w.headSeq + 1, reason: 'unexpected_event' }, checked, from };
    }
    return { checked, from };
  }

  /** Stores the outcome; returns the checkpoint seq now in force. */
  async #record(
    organizationId: string,
    full: boolean,
    brk: Break | undefined,
    headSeq: number,
    headHash: string,
    previous: number,
  ): Promise<number> {
    const now = this.#clock.now().toISOString();
    if (brk) {
      // A full walk knows the first break exactly; a routine walk only knows the first one at or above the
      // checkpoint, so it keeps a lower one already on record.
      await this.#q.query(
        `INSERT INTO audit_checkpoints (organization_id, broken_seq, broken_reason, broken_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (organization_id) DO UPDATE SET
           broken_seq = CASE WHEN $5::boolean THEN EXCLUDED.broken_seq
                             ELSE LEAST(audit_checkpoints.broken_seq, EXCLUDED.broken_seq) END,
           broken_reason = CASE WHEN $5::boolean OR audit_checkpoints.broken_seq IS NULL
                                  OR EXCLUDED.broken_seq < audit_checkpoints.broken_seq
                                THEN EXCLUDED.broken_reason ELSE audit_checkpoints.broken_reason END,
           broken_at = EXCLUDED.broken_at`,
        [organizationId, brk.seq, brk.reason, now, full],
      );
      return previous;
    }
    if (headSeq === 0) return previous;
    // Never move a checkpoint backwards (a slower concurrent verification may finish last). Only a full walk
    // clears a recorded break.
    await this.#q.query(
      `INSERT INTO audit_checkpoints (organization_id, verified_seq, verified_hash, verified_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (organization_id) DO UPDATE SET
         verified_seq = GREATEST(audit_checkpoints.verified_seq, EXCLUDED.verified_seq),
         verified_hash = CASE WHEN EXCLUDED.verified_seq >= audit_checkpoints.verified_seq
                              THEN EXCLUDED.verified_hash ELSE audit_checkpoints.verified_hash END,
         verified_at = EXCLUDED.verified_at,
         broken_seq = CASE WHEN $5::boolean THEN NULL ELSE audit_checkpoints.broken_seq END,
         broken_reason = CASE WHEN $5::boolean THEN NULL ELSE audit_checkpoints.broken_reason END,
         broken_at = CASE WHEN $5::boolean THEN NULL ELSE audit_checkpoints.broken_at END`,
      [organizationId, headSeq, headHash, now, full],
    );
    return Math.max(previous, headSeq);
  }

  /**
   * The organization's events, oldest first, keyset-paginated by seq. Throws `validation_failed` (400) for a
   * malformed cursor.
   */
  async listEvents(organizationId: string, limit: number, cursor?: string): Promise<AuditEventPage> {
    const after = decodeSeqCursor(cursor);
    const rows = await this.#q.query(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE organization_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3`,
      [organizationId, after === undefined ? MIN_BIGINT : String(after), limit + 1],
    );
    const data = rows.slice(0, limit).map((r) => toAuditRow(organizationId, r));
    const last = data[data.length - 1];
    return { data, next_cursor: rows.length > limit && last ? encodeSeqCursor(last.seq) : null };
  }
}
