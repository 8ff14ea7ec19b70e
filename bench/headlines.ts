// The figures of each scenario that go into the combined table of `npm run bench`, with the goals of
// issue 15's acceptance list where one applies. Anything a scenario did not measure is left out.
type Row = Record<string, unknown>;
export interface Headline {
  figure: string;
  value: unknown;
  ratio?: unknown;
  goal?: string;
}
type Maybe = Headline | undefined | false;

const find = (rows: Row[], test: (r: Row) => boolean) => rows.find(test);
const has = (key: string, text: string) => (r: Row) => String(r[key] ?? '').includes(text);
const rps = (r: Row | undefined) => `${r?.rps} req/s`;

export const HEADLINES: Record<string, (rows: Row[]) => Maybe[]> = {
  did: (rows) => {
    const t = find(rows, has('target', 'trivial'));
    const livez = find(rows, (r) => r.target === 'Worker' && r.route === 'GET /livez');
    const did = find(rows, (r) => r.target === 'Worker' && has('route', 'did.json')(r));
    const bDid = find(rows, (r) => r.target === 'Node baseline' && has('route', 'did.json')(r) && r.rps !== undefined);
    const redis = find(rows, has('target', 'DID_MEMORY_CACHE_MS=0'));
    return [
      t && {
        figure: 'trivial Worker (one new Response) on the same workerd',
        value: rps(t),
        ratio: 1,
        goal: 'the floor',
      },
      livez && { figure: 'GET /livez ÷ trivial Worker', value: rps(livez), ratio: livez.vs_trivial, goal: '≥ 0.8' },
      did && { figure: 'did.json (cache hit) ÷ trivial Worker', value: rps(did), ratio: did.vs_trivial, goal: '≥ 0.9' },
      did &&
        bDid && {
          figure: 'did.json (cache hit) ÷ Node baseline did.json (Redis hit)',
          value: `${did.rps} vs ${bDid.rps} req/s`,
          ratio: did.vs_baseline,
          goal: '≥ 1.5',
        },
      redis && {
        figure: 'did.json from Redis only (memory layer off) ÷ trivial Worker',
        value: rps(redis),
        ratio: redis.vs_trivial,
      },
    ];
  },
  agents: (rows) => {
    const worker = find(rows, (r) => has('target', 'Worker (Postgres via')(r));
    const direct = find(rows, has('target', 'Postgres direct'));
    const base = find(rows, (r) => has('target', 'Node baseline')(r) && r.rps !== undefined);
    return [
      worker &&
        base && {
          figure: `GET /v1/agents (enterprise, limiter on) ÷ Node baseline; ${worker.target}`,
          value: `${worker.rps} vs ${base.rps} req/s`,
          ratio: worker.vs_baseline,
          goal: '≥ 0.5',
        },
      worker && {
        figure: 'GET /v1/agents p50 / p99, Worker',
        value: `${worker.p50} / ${worker.p99} ms`,
        goal: 'p99 ≤ 50 ms',
      },
      base && { figure: 'GET /v1/agents p50 / p99, Node baseline', value: `${base.p50} / ${base.p99} ms` },
      direct &&
        worker && {
          figure: 'GET /v1/agents, Worker without pgbouncer ÷ with',
          value: rps(direct),
          ratio: Math.round((Number(direct.rps) / Number(worker.rps)) * 100) / 100,
        },
    ];
  },
  'db-path': (rows) =>
    rows
      .filter((r) => r.route === 'one query per request')
      .map((r) => ({
        figure: `one query per request: ${r.target} (÷ trivial; ÷ direct)`,
        value: `${rps(r)}, p99 ${r.p99} ms`,
        ratio: r.vs_direct ? `${r.vs_trivial}; ${r.vs_direct}` : r.vs_trivial,
      })),
  oidc: (rows) => {
    const token = find(rows, (r) => r.target === 'Worker' && has('route', 'token')(r));
    const direct = find(rows, (r) => has('target', 'node-oidc')(r) && has('route', 'token')(r));
    return [
      token &&
        direct && {
          figure: 'POST /oidc/token through the Worker ÷ node-oidc direct',
          value: `${token.rps} vs ${direct.rps} req/s`,
          ratio: token.vs_direct,
          goal: '≥ 0.7',
        },
    ];
  },
  federation: (rows) =>
    (['ES256', 'RS256'] as const).flatMap((alg): Maybe[] => {
      const w = find(rows, (r) => r.case === `POST /v1/federation/verify ${alg} (warm)`);
      const b = find(rows, (r) => String(r.case).startsWith(`baseline POST /v1/federation/verify ${alg}`));
      return [
        w &&
          b && {
            figure: `POST /v1/federation/verify ${alg} (warm) ÷ Node baseline verify`,
            value: `${w.rps} vs ${b.rps} req/s`,
            ratio: b.worker_vs_baseline_rps,
            goal: alg === 'ES256' ? '≥ 2' : '',
          },
        w && {
          figure: `${alg} in workerd: verification service ÷ bare crypto.subtle.verify`,
          value: `${w.service_verify_ms} ms`,
          ratio: w.isolate_ratio,
          goal: '≤ 1.5',
        },
      ];
    }),
  load: (rows) =>
    rows
      .filter((r) => r.s500 !== undefined)
      .map((r) => ({
        figure: `${r.target}: ${r.burst} → 2xx / 500 / 503 (Retry-After) / 429 / timeouts+refused`,
        value: `${r.ok_2xx} / ${r.s500} / ${r.s503} (${r.with_retry_after}) / ${r.s429} / ${Number(r.timeouts) + Number(r.conn_errors)}`,
        ...(r.target === 'Worker' ? { goal: 'no 500; every non-2xx 503 with Retry-After or 429' } : {}),
      }))
      .concat(
        rows
          .filter((r) => r.deliveries_recorded !== undefined)
          .map((r) => ({
            figure: '100 simultaneous agent creations → agents / webhook deliveries recorded / delivered',
            value: `${r.agents_created} / ${r.deliveries_recorded} / ${r.delivered}`,
            goal: 'deliveries = agents created',
          })),
      ),
  'lease-rtt': (rows) => {
    const gap = find(rows, (r) => String(r.config).startsWith('p50'));
    const ratioKey = Object.keys(rows[0] ?? {}).find((k) => /^limiter calls/.test(k)) ?? '';
    return [
      gap && {
        figure: 'GET /v1/agents p50, limiter 100 ms away − 0 ms away (ms)',
        value: gap.p50,
        ratio: gap.rps,
        goal: '≤ 10 ms',
      },
      ...rows
        .filter((r) => r.route === 'GET /v1/agents' && r[ratioKey] !== undefined)
        .map((r) => ({ figure: `limiter calls ÷ tenant requests, ${r.config}`, value: r[ratioKey], goal: '≤ 0.05' })),
    ];
  },
  limiter: (rows) => {
    const ratioKey = Object.keys(rows[0] ?? {}).find((k) => /^ratio/.test(k)) ?? '';
    return rows
      .filter((r) => r.route === 'GET /v1/agents' || r.route === 'baseline')
      .map((r) =>
        r.route === 'baseline'
          ? { figure: 'baseline', value: 'none', goal: String(r.config) }
          : String(r.config).includes('÷')
            ? { figure: `GET /v1/agents rps, ${r.config}`, value: '', ratio: r.rps }
            : {
                figure: `GET /v1/agents rps, ${r.config}`,
                value: r.rps,
                ratio: r[ratioKey],
                goal:
                  r[ratioKey] === 1
                    ? 'reference'
                    : String(r.config).startsWith('baseline')
                      ? "the spec's cost, for comparison"
                      : '≥ 0.8',
              },
      );
  },
  analytics: (rows) =>
    rows.map((r) => {
      const sizes = Object.keys(r).filter((k) => /^\d+ rows median ms$/.test(k));
      const large = sizes.pop();
      return {
        figure: `${r.query}: median ms at ${large?.split(' ')[0]} rows ÷ 10k rows`,
        value: large ? r[large] : '',
        ratio: r[Object.keys(r).find((k) => /^ratio/.test(k)) ?? ''],
        goal: '≤ 2',
      };
    }),
  audit: (rows) =>
    rows.map((r) => ({
      figure: `audit verify, ${r.runtime}, ${r.events} events: events/s (RSS growth ${r.rss_growth_mb ?? r.peak_heap_mb} MB)`,
      value: r.events_per_s,
      ratio: r.throughput_vs_10k,
      goal: r.throughput_vs_10k === 1 ? 'reference' : '≥ 0.8, flat memory',
    })),
  webhooks: (rows) => {
    const r = find(rows, (x) => String(x.route).startsWith('ratio'));
    const backlog = find(rows, (x) => String(x.route).startsWith('backlog'));
    return [
      r && { figure: 'POST /v1/agents rps, 1 subscription ÷ none', value: '', ratio: r.rps_ratio, goal: '≥ 0.8' },
      backlog && { figure: 'one dispatcher drain rate (deliveries/s)', value: backlog.deliveries_per_s },
    ];
  },
};

/** Scenarios without a baseline server of their own, and why (shown in the combined table). */
export const NO_BASELINE: Record<string, string> = {
  analytics: 'no baseline: the same SQL runs on the same Postgres either way; the figure is table-size scaling',
  audit: 'no baseline: the spec verifies the chain with the same SQL walk; AUDIT_BENCH_NODE=1 adds a Node run',
  webhooks: 'no baseline: the spec has no webhooks; compared with/without a subscription',
  'db-path': 'no baseline: a bare Worker, one query per request, per driver and path',
};
