import { DurableObject } from 'cloudflare:workers';
import { nextUtcMidnight, utcDate } from '../worker/platform/clock.ts';
import {
  checkLeaseRequest,
  decideGrant,
  LEASE_GRACE_MS,
  LEASE_TTL_MS,
  type LeaseReply,
  type LeaseReport,
  type LeaseRequest,
} from './lease-policy.ts';

/** What an increment answers. `limit`/`remaining` are null when the tier is unlimited. */
export interface LimitResult {
  allowed: boolean;
  count: number;
  limit: number | null;
  remaining: number | null;
  reset_at: string;
}

export interface UsageResult {
  calls: number;
  tokens: number;
  /** Quota held by isolates' leases: part of it may already be spent and not yet reported. */
  calls_leased: number;
  tokens_leased: number;
  deliveries: number;
  reset_at: string;
}

/** What `take` answers: how many of the wanted units were granted (and counted). */
export interface TakeResult {
  granted: number;
  count: number;
  limit: number | null;
  reset_at: string;
}

/** API calls, issued tokens, webhook delivery attempts (counted by `take`, never leased). */
export type CounterKind = 'calls' | 'tokens' | 'deliveries';

const KINDS: readonly string[] = ['calls', 'tokens', 'deliveries'];
const DAY_MS = 86_400_000;
/** Days kept by the cleanup alarm: the newest day and the one before it (for late readers around midnight). */
export const KEEP_DAYS = 2;
/** The cleanup alarm fires this long after UTC midnight, once the new day has begun everywhere. */
export const ALARM_DELAY_MS = 60_000;

/**
 * One object per organization: its daily counters of API calls, issued tokens and webhook delivery
 * attempts, and the quota leases isolates spend locally (see lease-policy.ts and `lease`).
 *
 * Storage (SQLite): `counters(day TEXT 'YYYY-MM-DD' UTC, kind TEXT 'calls'|'tokens'|'deliveries', count INTEGER,
 * PRIMARY KEY (day, kind))` and `leases(day, kind, holder TEXT, amount INTEGER, expires_at INTEGER ms,
 * PRIMARY KEY (day, kind, holder))`: quota a holder may still spend or has spent without reporting it. The
 * invariant `count + sum(amount) <= limit` is kept by every grant, so the calls admitted in a day (counted
 * ones plus those spent from leases) never exceed the limit. A day's rows are never read after that day, so
 * counters reset at UTC midnight without any write. The alarm (one per object, armed by the first write)
 * deletes every day older than the KEEP_DAYS newest and re-arms for the next midnight while rows remain;
 * it only ever deletes by a cutoff, so running it twice (alarms are at-least-once) changes nothing.
 *
 * The caller passes `nowMs` (its injected clock), which keeps this object free of hidden time. Each method
 * checks and counts synchronously, with no await in between, so N concurrent increments against a limit
 * L admit exactly min(N, L).
 */
export class TenantLimiter extends DurableObject {
  /** Whether this instance knows an alarm is armed; saves a getAlarm() per count. Lost on eviction, harmlessly. */
  #alarmArmed = false;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(
        `CREATE TABLE IF NOT EXISTS counters (day TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL,
         PRIMARY KEY (day, kind))`,
      );
      ctx.storage.sql.exec(
        `CREATE TABLE IF NOT EXISTS leases (day TEXT NOT NULL, kind TEXT NOT NULL, holder TEXT NOT NULL,
         amount INTEGER NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (day, kind, holder))`,
      );
    });
  }

  /**
   * Counts `amount` against the `kind` counter of `nowMs`'s UTC day if that stays within `limit` (null:
   * unlimited). A refused increment counts nothing. Throws TypeError on a bad kind, limit or amount.
   */
  async increment(kind: CounterKind, limit: number | null, nowMs: number, amount = 1): Promise<LimitResult> {
    if (!KINDS.includes(kind)) throw new TypeError(`unknown counter kind ${String(kind)}`);
    if (limit !== null && !(Number.isSafeInteger(limit) && limit >= 0))
      throw new TypeError('limit must be null or an integer ≥ 0');
    if (!(Number.isSafeInteger(amount) && amount >= 1)) throw new TypeError('amount must be an integer ≥ 1');
    if (!Number.isFinite(nowMs)) throw new TypeError('nowMs must be a finite number');
    const day = utcDate(new Date(nowMs));
    // Check and count with no await in between: nothing else runs in this object meanwhile.
    this.#reclaimExpired(day, kind, nowMs);
    const current = this.#read(day, kind);
    const leased = this.#leases(day, kind).reduce((sum, l) => sum + l.amount, 0);
    const allowed = limit === null || current + leased + amount <= limit;
    const count = allowed ? current + amount : current;
    if (allowed) {
      this.#write(day, kind, count);
      await this.#armCleanup(nowMs);
    }
    return {
      allowed,
      count,
      limit,
      remaining: limit === null ? null : Math.max(0, limit - count - leased),
      reset_at: nextUtcMidnight(new Date(nowMs)).toISOString(),
    };
  }

  /**
   * Counts as many of `wanted` units as fit under `limit` (null: all of them) on `nowMs`'s UTC day and
   * answers how many that was: the webhook dispatcher sends that many deliveries and postpones the rest.
   * Throws TypeError on a bad kind, limit or amount.
   */
  async take(kind: CounterKind, limit: number | null, nowMs: number, wanted: number): Promise<TakeResult> {
    if (!KINDS.includes(kind)) throw new TypeError(`unknown counter kind ${String(kind)}`);
    if (limit !== null && !(Number.isSafeInteger(limit) && limit >= 0))
      throw new TypeError('limit must be null or an integer ≥ 0');
    if (!(Number.isSafeInteger(wanted) && wanted >= 1)) throw new TypeError('wanted must be an integer ≥ 1');
    if (!Number.isFinite(nowMs)) throw new TypeError('nowMs must be a finite number');
    const day = utcDate(new Date(nowMs));
    this.#reclaimExpired(day, kind, nowMs);
    const current = this.#read(day, kind);
    const leased = this.#leases(day, kind).reduce((sum, l) => sum + l.amount, 0);
    const granted = limit === null ? wanted : Math.max(0, Math.min(wanted, limit - current - leased));
    if (granted > 0) {
      this.#write(day, kind, current + granted);
      await this.#armCleanup(nowMs);
    }
    return { granted, count: current + granted, limit, reset_at: nextUtcMidnight(new Date(nowMs)).toISOString() };
  }

  /**
   * Gives back `amount` previously counted on the `kind` counter of `nowMs`'s UTC day (a reservation whose
   * work failed: a token that was not issued). Never goes below zero; a day already past is left alone by
   * the caller passing the reservation's own `nowMs`. Answers the count after. Throws TypeError on a bad
   * kind or amount.
   */
  async release(kind: CounterKind, nowMs: number, amount = 1): Promise<number> {
    if (!KINDS.includes(kind)) throw new TypeError(`unknown counter kind ${String(kind)}`);
    if (!(Number.isSafeInteger(amount) && amount >= 1)) throw new TypeError('amount must be an integer ≥ 1');
    if (!Number.isFinite(nowMs)) throw new TypeError('nowMs must be a finite number');
    const day = utcDate(new Date(nowMs));
    const count = Math.max(0, this.#read(day, kind) - amount);
    this.ctx.storage.sql.exec('UPDATE counters SET count = ? WHERE day = ? AND kind = ?', count, day, kind);
    return count;
  }

  /**
   * One round trip of an isolate's lease on the `kind` counter of `nowMs`'s UTC day: applies the holder's
   * report on its previous lease (spent calls are counted; with `release` the rest comes back), takes back
   * leases that expired unreturned (counted as spent in full: their holder may have spent them), counts up
   * to `need` waiting calls, and grants a block of up to `want` (see `decideGrant`). Never lets counted plus
   * leased quota exceed `limit`. Throws TypeError on a malformed request.
   */
  async lease(req: LeaseRequest): Promise<LeaseReply> {
    checkLeaseRequest(req);
    const { holder, kind, limit, nowMs, need, want } = req;
    const day = utcDate(new Date(nowMs));
    const known = req.report ? this.#applyReport(holder, kind, req.report) : true;
    this.#reclaimExpired(day, kind, nowMs);
    const rows = this.#leases(day, kind);
    const own = rows.find((l) => l.holder === holder);
    const others = rows.filter((l) => l.holder !== holder);
    const mine = own?.amount ?? 0;
    const leasedElsewhere = others.reduce((sum, l) => sum + l.amount, 0);
    let count = this.#read(day, kind);
    const grant = decideGrant({ limit, count, mine, others: leasedElsewhere, holders: others.length, need, want });
    count += grant.admitted;
    if (grant.admitted > 0) this.#write(day, kind, count);
    const held = mine + grant.granted;
    let expiresAt = own?.expires_at ?? 0;
    if (grant.granted > 0) expiresAt = nowMs + LEASE_TTL_MS;
    if (held > 0 && (grant.granted > 0 || !own)) {
      this.ctx.storage.sql.exec(
        `INSERT INTO leases (day, kind, holder, amount, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (day, kind, holder) DO UPDATE SET amount = excluded.amount, expires_at = excluded.expires_at`,
        day,
        kind,
        holder,
        held,
        expiresAt,
      );
    }
    if (grant.admitted > 0 || grant.granted > 0) await this.#armCleanup(nowMs);
    const refusedWhileLeased = grant.admitted < need && others.length > 0;
    return {
      day,
      limit,
      admitted: grant.admitted,
      granted: grant.granted,
      held,
      expiresAt: own || grant.granted > 0 ? expiresAt : 0,
      count,
      unleased: grant.unleased,
      leasedElsewhere,
      retryAt: refusedWhileLeased ? Math.min(...others.map((l) => l.expires_at)) + LEASE_GRACE_MS : null,
      resetAt: nextUtcMidnight(new Date(nowMs)).toISOString(),
      known,
    };
  }

  /** The counters of `nowMs`'s UTC day, without counting anything. */
  async usage(nowMs: number): Promise<UsageResult> {
    if (!Number.isFinite(nowMs)) throw new TypeError('nowMs must be a finite number');
    const day = utcDate(new Date(nowMs));
    const leased = (kind: CounterKind) => this.#leases(day, kind).reduce((sum, l) => sum + l.amount, 0);
    return {
      calls: this.#read(day, 'calls'),
      tokens: this.#read(day, 'tokens'),
      calls_leased: leased('calls'),
      tokens_leased: leased('tokens'),
      deliveries: this.#read(day, 'deliveries'),
      reset_at: nextUtcMidnight(new Date(nowMs)).toISOString(),
    };
  }

  /**
   * Deletes days older than the KEEP_DAYS newest. "Today" is the later of the wall clock and the newest
   * day counted, so counters written under a caller's clock that runs ahead are not deleted early.
   */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const newest = sql
      .exec<{ day: string | null }>(
        'SELECT max(day) AS day FROM (SELECT day FROM counters UNION ALL SELECT day FROM leases)',
      )
      .one().day;
    const wall = utcDate(new Date());
    const today = newest !== null && newest > wall ? newest : wall;
    const cutoff = utcDate(new Date(Date.parse(`${today}T00:00:00Z`) - (KEEP_DAYS - 1) * DAY_MS));
    sql.exec('DELETE FROM counters WHERE day < ?', cutoff);
    sql.exec('DELETE FROM leases WHERE day < ?', cutoff);
    const left = sql
      .exec<{ n: number }>('SELECT (SELECT count(*) FROM counters) + (SELECT count(*) FROM leases) AS n')
      .one().n;
    if (left > 0) {
      await this.ctx.storage.setAlarm(
        nextUtcMidnight(new Date(Date.parse(`${today}T00:00:00Z`))).getTime() + ALARM_DELAY_MS,
      );
      this.#alarmArmed = true;
    } else {
      this.#alarmArmed = false;
    }
  }

  #read(day: string, kind: CounterKind): number {
    const rows = this.ctx.storage.sql
      .exec<{ count: number }>('SELECT count FROM counters WHERE day = ? AND kind = ?', day, kind)
      .toArray();
    return rows[0]?.count ?? 0;
  }

  #write(day: string, kind: CounterKind, count: number): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO counters (day, kind, count) VALUES (?, ?, ?)
       ON CONFLICT (day, kind) DO UPDATE SET count = excluded.count`,
      day,
      kind,
      count,
    );
  }

  #leases(day: string, kind: CounterKind): Array<{ holder: string; amount: number; expires_at: number }> {
    return this.ctx.storage.sql
      .exec<{ holder: string; amount: number; expires_at: number }>(
        'SELECT holder, amount, expires_at FROM leases WHERE day = ? AND kind = ?',
        day,
        kind,
      )
      .toArray();
  }

  /** Counts leases that expired unreturned (plus the grace) as spent in full: never over the limit. */
  #reclaimExpired(day: string, kind: CounterKind, nowMs: number): void {
    const expired = this.ctx.storage.sql
      .exec<{ amount: number }>(
        'DELETE FROM leases WHERE day = ? AND kind = ? AND expires_at + ? <= ? RETURNING amount',
        day,
        kind,
        LEASE_GRACE_MS,
        nowMs,
      )
      .toArray();
    const amount = expired.reduce((sum, l) => sum + l.amount, 0);
    if (amount > 0) this.#write(day, kind, this.#read(day, kind) + amount);
  }

  /** Applies a holder's report; false when its lease is unknown (already reclaimed and counted in full). */
  #applyReport(holder: string, kind: CounterKind, report: LeaseReport): boolean {
    const [row] = this.ctx.storage.sql
      .exec<{ amount: number }>(
        'SELECT amount FROM leases WHERE day = ? AND kind = ? AND holder = ?',
        report.day,
        kind,
        holder,
      )
      .toArray();
    if (!row) return false;
    if (report.spent !== 0) this.#write(report.day, kind, Math.max(0, this.#read(report.day, kind) + report.spent));
    const left = Math.max(0, row.amount - report.spent);
    if (report.release || left === 0) {
      this.ctx.storage.sql.exec(
        'DELETE FROM leases WHERE day = ? AND kind = ? AND holder = ?',
        report.day,
        kind,
        holder,
      );
    } else {
      this.ctx.storage.sql.exec(
        'UPDATE leases SET amount = ? WHERE day = ? AND kind = ? AND holder = ?',
        left,
        report.day,
        kind,
        holder,
      );
    }
    return true;
  }

  async #armCleanup(nowMs: number): Promise<void> {
    if (this.#alarmArmed) return;
    if ((await this.ctx.storage.getAlarm()) === null) {
      const from = new Date(Math.max(nowMs, Date.now()));
      await this.ctx.storage.setAlarm(nextUtcMidnight(from).getTime() + ALARM_DELAY_MS);
    }
    this.#alarmArmed = true;
  }
}
