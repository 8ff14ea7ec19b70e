import { DurableObject } from 'cloudflare:workers';
import { nextUtcMidnight, utcDate } from '../worker/platform/clock.ts';
import { dailyLimit, isTierView, type TierView } from '../worker/features/tiers/tiers.ts';

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
const BAD_TIER_VIEW = 'tier must be { tier, version } with a known tier and an integer version ≥ 0';

/**
 * One object per organization: its daily counters of API calls and issued tokens.
 *
 * Storage (SQLite): `counters(day TEXT 'YYYY-MM-DD' UTC, kind TEXT 'calls'|'tokens', count INTEGER,
 * PRIMARY KEY (day, kind))`, and `tier(id 1, name TEXT, version INTEGER)`: the newest tier of the
 * organization this object has been told (see `setTier`). A day's row is never read after that day, so
 * counters reset at UTC midnight without any write. The alarm (one per object, armed by the first count)
 * deletes every day older than the KEEP_DAYS newest and re-arms for the next midnight while rows remain; it
 * only ever deletes by a cutoff, so running it twice (alarms are at-least-once) changes nothing.
 *
 * The caller passes `nowMs` (its injected clock), which keeps this object free of hidden time. Each method
 * checks and counts synchronously, with no await in between, so N concurrent increments against a limit
 * L admit exactly min(N, L).
 */
export class TenantLimiter extends DurableObject {
  /** Whether this instance knows an alarm is armed; saves a getAlarm() per count. Lost on eviction, harmlessly. */
  #alarmArmed = false;
  /** The newest tier known (mirrors the `tier` table); null until a caller or `setTier` names one. */
  #tier: TierView | null = null;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(
        `CREATE TABLE IF NOT EXISTS counters (day TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL,
         PRIMARY KEY (day, kind))`,
      );
      ctx.storage.sql.exec(
        `CREATE TABLE IF NOT EXISTS tier (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL,
         version INTEGER NOT NULL)`,
      );
      const [row] = ctx.storage.sql.exec<{ name: string; version: number }>('SELECT name, version FROM tier').toArray();
      const stored = row ? { tier: row.name, version: row.version } : null;
      this.#tier = isTierView(stored) ? stored : null;
    });
  }

  /**
   * Counts `amount` against the `kind` counter of `nowMs`'s UTC day if that stays within the limit. `limit`
   * is either the limit itself (null: unlimited) or the caller's view of the organization's tier; then the
   * limit is that of the newest tier known — the caller's, or a newer one this object was told — so a tier
   * change applies here at once although callers may read the tier from caches. A refused increment counts
   * nothing. Throws TypeError on a bad kind, limit or amount.
   */
  async increment(kind: CounterKind, limit: number | null | TierView, nowMs: number, amount = 1): Promise<LimitResult> {
    if (!KINDS.includes(kind)) throw new TypeError(`unknown counter kind ${String(kind)}`);
    if (typeof limit === 'object' && limit !== null) {
      if (!isTierView(limit)) throw new TypeError(BAD_TIER_VIEW);
      limit = dailyLimit(this.#adopt(limit).tier, kind);
    }
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

  /**
   * Records the organization's tier as of `view.version` (organizations.tier_version) unless a newer one is
   * already known, and answers the tier now in force. TierService calls it once a tier change has
   * committed. Throws TypeError on a malformed view.
   */
  async setTier(view: TierView): Promise<TierView> {
    if (!isTierView(view)) throw new TypeError(BAD_TIER_VIEW);
    return this.#adopt(view);
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

  /** Keeps the newer of the known tier and `view` (ties keep the known one); answers the one kept. */
  #adopt(view: TierView): TierView {
    if (this.#tier && this.#tier.version >= view.version) return this.#tier;
    this.ctx.storage.sql.exec(
      `INSERT INTO tier (id, name, version) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, version = excluded.version`,
      view.tier,
      view.version,
    );
    this.#tier = { tier: view.tier, version: view.version };
    return this.#tier;
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
