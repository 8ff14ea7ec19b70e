import { DurableObject } from 'cloudflare:workers';
import { nextUtcMidnight, utcDate } from '../worker/platform/clock.ts';

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
  reset_at: string;
}

export type CounterKind = 'calls' | 'tokens';

const KINDS: readonly string[] = ['calls', 'tokens'];
const DAY_MS = 86_400_000;
/** Days kept by the cleanup alarm: the newest day and the one before it (for late readers around midnight). */
export const KEEP_DAYS = 2;
/** The cleanup alarm fires this long after UTC midnight, once the new day has begun everywhere. */
export const ALARM_DELAY_MS = 60_000;

/**
 * One object per organization: its daily counters of API calls and issued tokens.
 *
 * Storage (SQLite): `counters(day TEXT 'YYYY-MM-DD' UTC, kind TEXT 'calls'|'tokens', count INTEGER,
 * PRIMARY KEY (day, kind))`. A day's row is never read after that day, so counters reset at UTC midnight
 * without any write. The alarm (one per object, armed by the first count) deletes every day older than
 * the KEEP_DAYS newest and re-arms for the next midnight while rows remain; it only ever deletes by a
 * cutoff, so running it twice (alarms are at-least-once) changes nothing.
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
    });
  }

  /**
   * Counts `amount` against the `kind` counter of `nowMs`'s UTC day if that stays within `limit` (null:
   * unlimited). A refused increment counts nothing. Throws TypeError on a bad kind, limit or amount.
   */
  async increment(kind: CounterKind, limit: number | null, nowMs: number, amount = 1): Promise<LimitResult> {
    if (!KINDS.includes(kind)) throw new TypeError(`unknown counter kind ${String(kind)}`);
    if (limit !== null && !(Number.isSafeInteger(limit) && limit >= 0)) throw new TypeError('limit must be null or an integer ≥ 0');
    if (!(Number.isSafeInteger(amount) && amount >= 1)) throw new TypeError('amount must be an integer ≥ 1');
    if (!Number.isFinite(nowMs)) throw new TypeError('nowMs must be a finite number');
    const day = utcDate(new Date(nowMs));
    // Check and count with no await in between: nothing else runs in this object meanwhile.
    const current = this.#read(day, kind);
    const allowed = limit === null || current + amount <= limit;
    const count = allowed ? current + amount : current;
    if (allowed) {
      this.ctx.storage.sql.exec(
        `INSERT INTO counters (day, kind, count) VALUES (?, ?, ?)
         ON CONFLICT (day, kind) DO UPDATE SET count = excluded.count`,
        day,
        kind,
        count,
      );
      await this.#armCleanup(nowMs);
    }
    return {
      allowed,
      count,
      limit,
      remaining: limit === null ? null : Math.max(0, limit - count),
      reset_at: nextUtcMidnight(new Date(nowMs)).toISOString(),
    };
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

  /** The counters of `nowMs`'s UTC day, without counting anything. */
  async usage(nowMs: number): Promise<UsageResult> {
    if (!Number.isFinite(nowMs)) throw new TypeError('nowMs must be a finite number');
    const day = utcDate(new Date(nowMs));
    return {
      calls: this.#read(day, 'calls'),
      tokens: this.#read(day, 'tokens'),
      reset_at: nextUtcMidnight(new Date(nowMs)).toISOString(),
    };
  }

  /**
   * Deletes days older than the KEEP_DAYS newest. "Today" is the later of the wall clock and the newest
   * day counted, so counters written under a caller's clock that runs ahead are not deleted early.
   */
  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const newest = sql.exec<{ day: string | null }>('SELECT max(day) AS day FROM counters').one().day;
    const wall = utcDate(new Date());
    const today = newest !== null && newest > wall ? newest : wall;
    const cutoff = utcDate(new Date(Date.parse(`${today}T00:00:00Z`) - (KEEP_DAYS - 1) * DAY_MS));
    sql.exec('DELETE FROM counters WHERE day < ?', cutoff);
    const left = sql.exec<{ n: number }>('SELECT count(*) AS n FROM counters').one().n;
    if (left > 0) {
      await this.ctx.storage.setAlarm(nextUtcMidnight(new Date(Date.parse(`${today}T00:00:00Z`))).getTime() + ALARM_DELAY_MS);
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

  async #armCleanup(nowMs: number): Promise<void> {
    if (this.#alarmArmed) return;
    if ((await this.ctx.storage.getAlarm()) === null) {
      const from = new Date(Math.max(nowMs, Date.now()));
      await this.ctx.storage.setAlarm(nextUtcMidnight(from).getTime() + ALARM_DELAY_MS);
    }
    this.#alarmArmed = true;
  }
}
