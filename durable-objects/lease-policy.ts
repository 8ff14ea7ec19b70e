/**
 * Quota leases: how the TenantLimiter hands out a tenant's daily quota in blocks that isolates spend locally.
 * Pure functions and constants only, so the rules can be read (and tested) apart from storage.
 */

/** How long an isolate may spend a lease after its last grant; it must stop at `expiresAt`. */
export const LEASE_TTL_MS = 10_000;
/**
 * The object counts an unreturned lease as spent this long after it expired: room for the holder's return to
 * arrive and for clock skew between isolates, so a holder never spends quota the object has taken back.
 */
export const LEASE_GRACE_MS = 2_000;

/** A holder's account of its lease on `day`. */
export interface LeaseReport {
  day: string;
  /** Calls spent from the lease since the last report; negative when more was refunded than spent. */
  spent: number;
  /** Give the rest of the lease back (idle, expired, limit or day changed). */
  release: boolean;
}

export interface LeaseRequest {
  /** Random id of one isolate's lease on one counter. */
  holder: string;
  kind: 'calls' | 'tokens';
  /** The daily limit in force for the caller. */
  limit: number;
  /** The caller's clock (ms). */
  nowMs: number;
  report?: LeaseReport;
  /** Calls waiting now: counted at once, as many as remain. */
  need: number;
  /** Block to hold for later calls (0: none, e.g. a plain report). */
  want: number;
}

export interface LeaseReply {
  day: string;
  limit: number;
  /** Of `need`, how many were counted now. */
  admitted: number;
  /** Added to the holder's lease by this call. */
  granted: number;
  /** The holder's lease after this call (0: it holds none). */
  held: number;
  /** When the holder must stop spending the lease (ms, caller's clock); 0 when it has no lease row. */
  expiresAt: number;
  /** Counted today: reported spends, direct admissions and leases reclaimed as spent. */
  count: number;
  /** Quota nobody holds after this call. */
  unleased: number;
  /** Quota other holders hold. */
  leasedElsewhere: number;
  /** When part of `need` was refused while others held leases: the latest moment their quota comes back. */
  retryAt: number | null;
  resetAt: string;
  /** False when the report named a lease the object no longer knew (it had expired and was counted in full). */
  known: boolean;
}

export interface GrantInput {
  limit: number;
  count: number;
  /** The caller's own lease after its report. */
  mine: number;
  /** Sum of the other holders' leases, and how many they are. */
  others: number;
  holders: number;
  need: number;
  want: number;
}

export interface Grant {
  admitted: number;
  granted: number;
  unleased: number;
}

/**
 * Counts the waiting calls first (all of them while quota remains, so nothing is refused while quota is
 * un-leased), then grants a block of at most an equal share of half of what is left among the live holders:
 * blocks shrink geometrically as the quota runs out, so little sits unused in other isolates near the limit,
 * and the last calls of the day are counted one by one, exactly.
 */
export function decideGrant(i: GrantInput): Grant {
  let unleased = Math.max(0, i.limit - i.count - i.mine - i.others);
  const admitted = Math.min(Math.max(0, i.need), unleased);
  unleased -= admitted;
  const cap = Math.floor(unleased / (2 * (i.holders + 1)));
  const granted = Math.max(0, Math.min(i.want, cap));
  return { admitted, granted, unleased: unleased - granted };
}

/** Throws TypeError unless `r` is a well-formed lease request. */
export function checkLeaseRequest(r: LeaseRequest): void {
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (typeof r !== 'object' || r === null) throw new TypeError('lease request must be an object');
  if (typeof r.holder !== 'string' || r.holder.length === 0 || r.holder.length > 64)
    throw new TypeError('holder must be a short string');
  if (r.kind !== 'calls' && r.kind !== 'tokens') throw new TypeError(`unknown counter kind ${String(r.kind)}`);
  if (!count(r.limit)) throw new TypeError('limit must be an integer ≥ 0');
  if (!Number.isFinite(r.nowMs)) throw new TypeError('nowMs must be a finite number');
  if (!count(r.need) || !count(r.want)) throw new TypeError('need and want must be integers ≥ 0');
  if (r.report !== undefined) {
    const { day, spent, release } = r.report;
    if (typeof day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(day))
      throw new TypeError('report.day must be YYYY-MM-DD');
    if (!Number.isSafeInteger(spent)) throw new TypeError('report.spent must be an integer');
    if (typeof release !== 'boolean') throw new TypeError('report.release must be a boolean');
  }
}
