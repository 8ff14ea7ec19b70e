/**
 * Operator counters of this isolate (GET /v1/admin/metrics). Counters live at module scope on purpose: they
 * describe the isolate, not a request, and losing them when the isolate goes away is acceptable (each
 * answer names its isolate and start time, so a scraper sees a reset as a new series). Nothing here is
 * tenant data: labels are route classes, methods, statuses and counter kinds.
 */

export type Labels = Record<string, string>;

export interface MetricInfo {
  help: string;
  type: 'counter' | 'gauge';
}

/** Every metric this service exposes, with its Prometheus help text. */
export const METRICS = {
  agentidp_requests_total: { help: 'HTTP requests answered, by route class and status', type: 'counter' },
  agentidp_limiter_calls_total: {
    help: 'Calls to TenantLimiter Durable Objects, by method and mode (blocking: a request waited; background: it did not)',
    type: 'counter',
  },
  agentidp_limiter_delayed_calls_total: {
    help: 'Limiter calls delayed by LIMITER_SIMULATED_RTT_MS (development only)',
    type: 'counter',
  },
  agentidp_limiter_call_errors_total: {
    help: 'Limiter calls that failed (the request was served uncounted)',
    type: 'counter',
  },
  agentidp_quota_admissions_total: {
    help: 'Counted calls and tokens admitted, by counter and how (lease: spent locally; direct: counted by the object; local: unlimited tier, batched)',
    type: 'counter',
  },
  agentidp_quota_refusals_total: { help: 'Calls and tokens refused at the daily limit, by counter', type: 'counter' },
  agentidp_leases_granted_total: { help: 'Quota blocks granted to this isolate, by counter', type: 'counter' },
  agentidp_lease_units_granted_total: { help: 'Calls or tokens granted in those blocks', type: 'counter' },
  agentidp_leases_returned_total: {
    help: 'Leases given back by this isolate (idle, expired, day or limit changed)',
    type: 'counter',
  },
  agentidp_lease_units_returned_total: { help: 'Unspent calls or tokens given back', type: 'counter' },
  agentidp_usage_flushes_total: {
    help: 'Batched writes of usage (unlimited counters, token analytics), by what and outcome',
    type: 'counter',
  },
  agentidp_db_connections_opened_total: { help: 'Postgres connections opened by this isolate', type: 'counter' },
  agentidp_webhook_deliveries: {
    help: 'Webhook deliveries in Postgres by status (all isolates, all tenants)',
    type: 'gauge',
  },
  agentidp_isolate_start_time_seconds: {
    help: 'When this isolate counted its first event (Unix seconds)',
    type: 'gauge',
  },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof METRICS;

export interface Sample {
  name: MetricName;
  labels: Labels;
  value: number;
}

const values = new Map<string, Sample>();
let isolateId: string | undefined;
let startedAtMs: number | undefined;

/** This isolate's id and start time; made on first use (random values are not allowed at module load). */
export function isolate(): { id: string; startedAtMs: number } {
  isolateId ??= crypto.randomUUID();
  startedAtMs ??= Date.now();
  return { id: isolateId, startedAtMs };
}

const keyOf = (name: string, labels: Labels) =>
  `${name}|${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',')}`;

/** Adds `n` to a counter. Never throws. */
export function count(name: MetricName, labels: Labels = {}, n = 1): void {
  if (!Number.isFinite(n) || n === 0) return;
  isolate();
  const key = keyOf(name, labels);
  const hit = values.get(key);
  if (hit) hit.value += n;
  else values.set(key, { name, labels: { ...labels }, value: n });
}

/** Every counter of this isolate, sorted by name then labels. */
export function samples(): Sample[] {
  return [...values.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, s]) => ({ ...s, labels: { ...s.labels } }));
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/**
 * The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` once per metric, then one line
 * per sample, each with `extra` labels added (the isolate).
 */
export function toPrometheus(list: Sample[], extra: Labels = {}): string {
  const lines: string[] = [];
  const byName = new Map<MetricName, Sample[]>();
  for (const s of list) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  for (const [name, group] of byName) {
    lines.push(`# HELP ${name} ${METRICS[name].help}`, `# TYPE ${name} ${METRICS[name].type}`);
    for (const s of group) {
      const labels = { ...s.labels, ...extra };
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${name}${text ? `{${text}}` : ''} ${s.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
