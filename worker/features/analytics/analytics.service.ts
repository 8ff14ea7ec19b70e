import type { Clock } from '../../platform/clock.ts';
import { utcDate } from '../../platform/clock.ts';
import type { Queryable } from '../../platform/db.ts';
import type { ActivityHeatmap, AgentUsage, TokenTrend } from './contract.ts';
import { issuedTokens } from './token-batch.ts';

/** The token trend covers at most this many days (and at least one). */
export const MAX_TREND_DAYS = 90;
/** The activity heatmap covers this many days, today included. */
export const HEATMAP_DAYS = 30;

/** Agent actions recorded as `agent:<agent_id>:<activity>`. */
export type AgentActivity = 'created' | 'updated' | 'decommissioned' | 'credential_issued' | 'token_issued';

/** Clamps a requested trend length to 1..MAX_TREND_DAYS. */
export const clampTrendDays = (days: number) => Math.min(MAX_TREND_DAYS, Math.max(1, Math.trunc(days)));

const METRIC_MAX = 200;
/** Issued tokens are written once this many are pending (or USAGE_FLUSH_MS has passed). */
export const TOKEN_BATCH = 100;

/**
 * Usage analytics: hourly counters per tenant and metric in `analytics_events`, and the three queries of
 * the analytics routes. Writes are fire-and-forget: `record*` start the upsert at once on the request's
 * Db, hand the promise to `waitUntil` and return; a failure is logged and swallowed, so analytics can
 * neither fail nor slow the request that records it. Issued tokens, the frequent write, are added up in
 * this isolate instead (token-batch.ts) and written in batches by `flushIssuedTokens`. Every query is
 * scoped to one organization and reads through an index (see migrations/0003_analytics.sql).
 */
export class AnalyticsService {
  // Plain fields rather than parameter properties: bench/analytics.bench.ts runs this file in Node, whose
  // type stripping does not support them.
  private readonly db: Queryable;
  private readonly clock: Clock;
  private readonly waitUntil: (p: Promise<unknown>) => void;
  private readonly flushMs: number;

  /** `flushMs`: USAGE_FLUSH_MS, how long issued tokens may wait in this isolate before they are written. */
  constructor(
    db: Queryable,
    clock: Clock,
    waitUntil: (p: Promise<unknown>) => void,
    { flushMs = 0 }: { flushMs?: number } = {},
  ) {
    this.db = db;
    this.clock = clock;
    this.waitUntil = waitUntil;
    this.flushMs = flushMs;
  }

  /**
   * Adds `n` to this hour's counter of `metricType` for the organization. Never throws and never waits:
   * the write runs under `waitUntil`; errors (including a bad metric) are logged and swallowed.
   */
  recordEvent(organizationId: string, metricType: string, n = 1): void {
    this.#record(organizationId, [metricType], n);
  }

  /** Records `agent:<agentId>:<activity>` (heatmap). Same guarantees as `recordEvent`. */
  recordAgentActivity(organizationId: string, agentId: string, activity: AgentActivity): void {
    this.#record(organizationId, [`agent:${agentId}:${activity}`], 1);
  }

  /**
   * For the token issuer: adds `n` tokens to this isolate's batch of `token_issued` (trend) and
   * `agent:<agentId>:token_issued` (heatmap, per-agent usage), written by `flushIssuedTokens` (at once when
   * the batch is full, or USAGE_FLUSH_MS is 0). Never throws and never waits.
   */
  recordTokenIssued(organizationId: string, agentId: string, n = 1): void {
    if (!Number.isSafeInteger(n) || n < 1 || agentId.length === 0 || agentId.length > 100) return;
    issuedTokens.add(organizationId, agentId, this.clock.now(), n);
    if (this.flushMs === 0 || issuedTokens.pending >= TOKEN_BATCH) this.flushIssuedTokens({ force: true });
  }

  /**
   * Writes the isolate's batch of issued tokens on this unit of work's Db when it is due (TOKEN_BATCH tokens,
   * or USAGE_FLUSH_MS since the oldest), or whenever tokens wait with `force`. The write starts before this
   * returns (so it is on the connection before the request closes it) and runs under `waitUntil`; a failure
   * is logged, and the tokens are kept for the next flush.
   */
  flushIssuedTokens({ force = false }: { force?: boolean } = {}): void {
    const due = force
      ? issuedTokens.pending > 0
      : issuedTokens.due(this.clock.now().getTime(), this.flushMs, TOKEN_BATCH);
    if (!due) return;
    this.waitUntil(
      issuedTokens.flush(this.db).catch((err: unknown) => {
        console.error(
          JSON.stringify({
            level: 'error',
            msg: 'token analytics batch not written (kept for the next flush)',
            error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          }),
        );
      }),
    );
  }

  /** Issued tokens of this isolate not yet written. */
  get pendingIssuedTokens(): number {
    return issuedTokens.pending;
  }

  /**
   * Daily `token_issued` totals for the last `days` UTC days (clamped to 1..90), today included, every day
   * present (zero-filled with generate_series), ascending. Throws nothing of its own.
   */
  async getTokenTrend(organizationId: string, days: number): Promise<TokenTrend> {
    const n = clampTrendDays(days);
    const rows = await this.db.query<{ date: string; count: string }>(
      `WITH days AS (
         SELECT $2::date - i AS day FROM generate_series(0, $3::int - 1) AS i
       ), totals AS (
         SELECT date, sum(count) AS n FROM analytics_events
          WHERE organization_id = $1 AND metric_type = 'token_issued'
            AND date > $2::date - $3::int AND date <= $2::date
          GROUP BY date
       )
       SELECT to_char(days.day, 'YYYY-MM-DD') AS date, COALESCE(totals.n, 0)::bigint AS count
         FROM days LEFT JOIN totals ON totals.date = days.day
        ORDER BY days.day`,
      [organizationId, this.#today(), n],
    );
    return { days: n, series: rows.map((r) => ({ date: r.date, count: Number(r.count) })) };
  }

  /**
   * Agent activity (every `agent:<id>:<metric>` row) over the last 30 UTC days, today included, summed by
   * day of week (0 = Sunday) and UTC hour: all 168 cells, zero-filled, ordered by day then hour.
   */
  async getAgentActivity(organizationId: string): Promise<ActivityHeatmap> {
    const rows = await this.db.query<{ day_of_week: number; hour: number; count: string }>(
      `WITH cells AS (
         SELECT d AS dow, h AS hour FROM generate_series(0, 6) AS d CROSS JOIN generate_series(0, 23) AS h
       ), activity AS (
         SELECT extract(dow FROM date)::int AS dow, hour::int AS hour, sum(count) AS n FROM analytics_events
          WHERE organization_id = $1 AND metric_type LIKE 'agent:%'
            AND date > $2::date - $3::int AND date <= $2::date
          GROUP BY 1, 2
       )
       SELECT cells.dow AS day_of_week, cells.hour, COALESCE(activity.n, 0)::bigint AS count
         FROM cells LEFT JOIN activity ON activity.dow = cells.dow AND activity.hour = cells.hour
        ORDER BY cells.dow, cells.hour`,
      [organizationId, this.#today(), HEATMAP_DAYS],
    );
    return {
      cells: rows.map((r) => ({ day_of_week: Number(r.day_of_week), hour: Number(r.hour), count: Number(r.count) })),
    };
  }

  /**
   * Tokens issued per agent in the current UTC calendar month, for agents that issued any, with the agent's
   * `owner` as `name`; decommissioned agents are left out. Ordered by `token_count` descending, then id.
   */
  async getAgentUsageSummary(organizationId: string): Promise<AgentUsage> {
    const today = this.#today();
    const monthStart = `${today.slice(0, 7)}-01`;
    const rows = await this.db.query<{ agent_id: string; name: string; token_count: string }>(
      `WITH usage AS (
         SELECT split_part(metric_type, ':', 2) AS agent_id, sum(count) AS n FROM analytics_events
          WHERE organization_id = $1 AND metric_type LIKE 'agent:%'
            AND split_part(metric_type, ':', 3) = 'token_issued'
            AND date >= $2::date AND date < ($2::date + interval '1 month')::date
          GROUP BY 1
       )
       SELECT a.agent_id, a.owner AS name, usage.n::bigint AS token_count
         FROM usage JOIN agents a ON a.agent_id::text = usage.agent_id AND a.organization_id = $1
        WHERE a.status <> 'decommissioned'
        ORDER BY usage.n DESC, a.agent_id`,
      [organizationId, monthStart],
    );
    return {
      month: today.slice(0, 7),
      agents: rows.map((r) => ({ agent_id: r.agent_id, name: r.name, token_count: Number(r.token_count) })),
    };
  }

  #today(): string {
    return utcDate(this.clock.now());
  }

  #record(organizationId: string, metrics: string[], n: number): void {
    let write: Promise<unknown>;
    try {
      if (!Number.isSafeInteger(n) || n < 1) throw new TypeError('n must be an integer ≥ 1');
      for (const m of metrics)
        if (m.length === 0 || m.length > METRIC_MAX) throw new TypeError(`bad metric ${m.slice(0, 50)}`);
      const now = this.clock.now();
      const params: unknown[] = [organizationId, utcDate(now), now.getUTCHours(), n];
      const values = metrics.map((m) => `($1, $2, $3, $${params.push(m)}, $4)`);
      // Started now, not later: the query must be on the request's pool before the pool is closed.
      write = this.db.query(
        `INSERT INTO analytics_events (organization_id, date, hour, metric_type, count) VALUES ${values.join(', ')}
         ON CONFLICT (organization_id, metric_type, date, hour) DO UPDATE SET count = analytics_events.count + excluded.count`,
        params,
      );
    } catch (err) {
      write = Promise.reject(err);
    }
    this.waitUntil(
      write.then(
        () => undefined,
        (err: unknown) => {
          console.error(
            JSON.stringify({
              level: 'error',
              msg: 'analytics write failed (dropped)',
              tenant: organizationId,
              metrics: metrics.map((m) => m.replace(/^agent:[^:]*:/, 'agent:*:')),
              error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
            }),
          );
        },
      ),
    );
  }
}
