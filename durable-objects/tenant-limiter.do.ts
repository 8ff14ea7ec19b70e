import { DurableObject } from 'cloudflare:workers';

/** What an increment answers. `limit`/`remaining` are null when the tier is unlimited. */
export interface LimitResult {
  allowed: boolean;
  count: number;
  limit: number | null;
  remaining: number | null;
  reset_at: string;
}

export type CounterKind = 'calls' | 'tokens';

const KEEP_DAYS = 2;
const DAY_MS = 86_400_000;

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const nextMidnight = (ms: number) => new Date(Math.floor(ms / DAY_MS) * DAY_MS + DAY_MS);

/**
 * One object per organization: its daily counters of API calls and issued tokens.
 *
 * Storage (SQLite): `counters(day TEXT 'YYYY-MM-DD' UTC, kind TEXT 'calls'|'tokens', count INTEGER,
 * PRIMARY KEY (day, kind))`. A day's row is simply never read after that day, so counters reset at UTC
 * midnight without any write; an alarm deletes rows older than KEEP_DAYS.
 *
 * The caller passes `nowMs` (its injected clock), which keeps this object free of hidden time.
 * Each method runs its SQL synchronously with no await in between, so check-and-count is atomic.
 */
export class TenantLimiter extends DurableObject {
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
   * Counts `amount` against today's counter of `kind` if that stays within `limit` (null: unlimited).
   * A refused increment counts nothing.
   */
  async increment(kind: CounterKind, limit: number | null, nowMs: number, amount = 1): Promise<LimitResult> {
    const day = utcDay(nowMs);
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
    }
    await this.#ensureCleanupAlarm(nowMs);
    return {
      allowed,
      count,
      limit,
      remaining: limit === null ? null : Math.max(0, limit - count),
      reset_at: nextMidnight(nowMs).toISOString(),
    };
  }

  /** Today's counters without counting anything. */
  async usage(nowMs: number): Promise<{ calls: number; tokens: number; reset_at: string }> {
    const day = utcDay(nowMs);
    return {
      calls: this.#read(day, 'calls'),
      tokens: this.#read(day, 'tokens'),
      reset_at: nextMidnight(nowMs).toISOString(),
    };
  }

  override async alarm(): Promise<void> {
    const cutoff = utcDay(Date.now() - KEEP_DAYS * DAY_MS);
    this.ctx.storage.sql.exec('DELETE FROM counters WHERE day < ?', cutoff);
    const left = this.ctx.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM counters').one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + DAY_MS);
  }

  #read(day: string, kind: CounterKind): number {
    const rows = this.ctx.storage.sql
      .exec<{ count: number }>('SELECT count FROM counters WHERE day = ? AND kind = ?', day, kind)
      .toArray();
    return rows[0]?.count ?? 0;
  }

  async #ensureCleanupAlarm(nowMs: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(nextMidnight(nowMs).getTime() + 60_000);
    }
  }
}
