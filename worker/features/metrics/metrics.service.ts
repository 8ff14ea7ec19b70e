import type { Queryable } from '../../platform/db.ts';
import { isolate, METRICS, type Sample, samples, toPrometheus } from '../../platform/metrics.ts';

export interface MetricsReport {
  scope: 'isolate';
  isolate: { id: string; started_at: string };
  samples: Array<Sample & { type: 'counter' | 'gauge'; help: string }>;
}

/**
 * The operator metrics: this isolate's counters (platform/metrics.ts) plus webhook deliveries by status read
 * from Postgres (the deliveries are made by Durable Objects in other isolates, so only the table sees them
 * all). When Postgres does not answer, the deliveries are left out and the error logged: metrics still answer.
 */
export class MetricsService {
  constructor(private readonly db: Queryable) {}

  async report(): Promise<MetricsReport> {
    const list: Sample[] = samples();
    try {
      const rows = await this.db.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status ORDER BY status',
      );
      for (const r of rows)
        list.push({ name: 'agentidp_webhook_deliveries', labels: { status: r.status }, value: Number(r.n) });
    } catch (err) {
      console.error(
        JSON.stringify({ level: 'error', msg: 'metrics: webhook deliveries unavailable', error: String(err) }),
      );
    }
    const { id, startedAtMs } = isolate();
    list.push({ name: 'agentidp_isolate_start_time_seconds', labels: {}, value: Math.floor(startedAtMs / 1000) });
    return {
      scope: 'isolate',
      isolate: { id, started_at: new Date(startedAtMs).toISOString() },
      samples: list.map((s) => ({ ...s, type: METRICS[s.name].type, help: METRICS[s.name].help })),
    };
  }

  /** The report in the Prometheus text format, every sample labelled with the isolate. */
  static prometheus(report: MetricsReport): string {
    return toPrometheus(report.samples, { isolate: report.isolate.id });
  }
}
