import { utcDate } from '../../platform/clock.ts';
import type { Queryable } from '../../platform/db.ts';
import { count } from '../../platform/metrics.ts';

interface Cell {
  organizationId: string;
  date: string;
  hour: number;
  agentId: string;
  n: number;
}

/** Rows per INSERT (5 parameters each, far below Postgres' 65,535). */
const ROWS_PER_STATEMENT = 500;
/** A batch that keeps failing is dropped past this many cells rather than growing without bound. */
const MAX_CELLS = 20_000;

/**
 * Issued tokens of this isolate not yet written to `analytics_events`, added up per organization, UTC hour
 * and agent: one write carries many tokens instead of one write per token. Module-level on purpose (isolate
 * state, see TokenBatch); a crash loses what is pending, at most USAGE_FLUSH_MS or one batch of it.
 */
export class TokenBatch {
  #cells = new Map<string, Cell>();
  #pending = 0;
  #firstMs: number | null = null;

  add(organizationId: string, agentId: string, at: Date, n: number): void {
    const date = utcDate(at);
    const hour = at.getUTCHours();
    const key = `${organizationId}|${date}|${hour}|${agentId}`;
    const cell = this.#cells.get(key);
    if (cell) cell.n += n;
    else this.#cells.set(key, { organizationId, date, hour, agentId, n });
    this.#pending += n;
    this.#firstMs ??= at.getTime();
  }

  /** Tokens waiting to be written. */
  get pending(): number {
    return this.#pending;
  }

  /** `batch` tokens are waiting, or the oldest has waited `maxAgeMs`. */
  due(nowMs: number, maxAgeMs: number, batch: number): boolean {
    return this.#pending > 0 && (this.#pending >= batch || nowMs - (this.#firstMs ?? nowMs) >= maxAgeMs);
  }

  /**
   * Starts writing everything pending on `q` and answers the write; call it before the connection is closed.
   * Rows are `token_issued` per organization and hour plus `agent:<id>:token_issued` per agent and hour,
   * added to what is there. A failed write puts its tokens back for the next flush and rejects.
   */
  flush(q: Queryable): Promise<void> {
    const cells = [...this.#cells.values()];
    this.#cells.clear();
    this.#pending = 0;
    this.#firstMs = null;
    if (cells.length === 0) return Promise.resolve();
    const rows = new Map<string, { organizationId: string; date: string; hour: number; metric: string; n: number }>();
    const addRow = (c: Cell, metric: string) => {
      const key = `${c.organizationId}|${c.date}|${c.hour}|${metric}`;
      const row = rows.get(key);
      if (row) row.n += c.n;
      else rows.set(key, { organizationId: c.organizationId, date: c.date, hour: c.hour, metric, n: c.n });
    };
    for (const c of cells) {
      addRow(c, 'token_issued');
      addRow(c, `agent:${c.agentId}:token_issued`);
    }
    const all = [...rows.values()];
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < all.length; i += ROWS_PER_STATEMENT) {
      const params: unknown[] = [];
      const values = all.slice(i, i + ROWS_PER_STATEMENT).map((r) => {
        const at = params.push(r.organizationId, r.date, r.hour, r.metric, r.n);
        return `($${at - 4}, $${at - 3}, $${at - 2}, $${at - 1}, $${at})`;
      });
      // Started now, not later: the statement must be on the connection before the request closes it.
      writes.push(
        q.query(
          `INSERT INTO analytics_events (organization_id, date, hour, metric_type, count) VALUES ${values.join(', ')}
           ON CONFLICT (organization_id, metric_type, date, hour) DO UPDATE SET count = analytics_events.count + excluded.count`,
          params,
        ),
      );
    }
    return Promise.all(writes).then(
      () => {
        count('agentidp_usage_flushes_total', { what: 'token_analytics', outcome: 'ok' });
      },
      (err: unknown) => {
        count('agentidp_usage_flushes_total', { what: 'token_analytics', outcome: 'error' });
        // Statements of one batch may have partly succeeded: put back only when none could have (one statement).
        if (writes.length === 1 && this.#cells.size < MAX_CELLS) {
          for (const c of cells)
            this.add(c.organizationId, c.agentId, new Date(`${c.date}T${String(c.hour).padStart(2, '0')}:00:00Z`), c.n);
        }
        throw err;
      },
    );
  }
}

/** This isolate's batch of issued tokens. */
export const issuedTokens = new TokenBatch();
