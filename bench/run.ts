// npm run bench: runs every scenario under bench/ (each `*.bench.ts` exporting `run()`), shows progress,
// prints each scenario's table and then one combined table of headline figures and ratios (scenario, figure,
// value, ratio, goal), and writes bench/results/summary.json. `npm run bench -- did federation` runs some.
// Load and server share this machine's cores: read ratios measured in the same run, not absolute figures.
// DATABASE_URL (a Postgres server) and REDIS_URL are used when set; scenarios that need them say so and skip.
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';

const DIR = new URL('./', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.bench.ts') && f !== 'smoke.bench.ts')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

type Row = Record<string, unknown>;
interface Headline {
  scenario: string;
  figure: string;
  value: unknown;
  ratio?: unknown;
  goal?: string;
}

const find = (rows: Row[], key: string, test: (v: string) => boolean) => rows.find((r) => typeof r[key] === 'string' && test(r[key] as string));
const keyLike = (row: Row | undefined, re: RegExp) => (row ? Object.keys(row).find((k) => re.test(k)) : undefined);

/** The figures of each scenario that go in the combined table; anything missing is left out. */
const HEADLINES: Record<string, (rows: Row[]) => Array<Omit<Headline, 'scenario'> | undefined>> = {
  did: (rows) => {
    const worker = find(rows, 'worker', (w) => w === 'default');
    const did = rows.find((r) => r.worker === 'default' && String(r.route).includes('did.json'));
    const redis = rows.find((r) => r.worker === 'DID_MEMORY_CACHE_MS=0' && String(r.route).includes('did.json'));
    const base = rows.find((r) => String(r.worker).startsWith('baseline (') && String(r.route).includes('did.json'));
    const vs = find(rows, 'worker', (w) => w === 'Worker ÷ baseline');
    const none = rows.find((r) => r.worker === 'baseline' && r.note);
    return [
      worker && did && { figure: 'Worker did.json rps (cache hit) ÷ Worker /livez', value: did.rps, ratio: did.ratio_rps, goal: '≥ 0.8' },
      redis && { figure: 'Worker did.json rps (Redis hit, memory layer off) ÷ /livez', value: redis.rps, ratio: redis.ratio_rps },
      base && { figure: 'baseline did.json rps (Redis hit) ÷ baseline /livez', value: base.rps, ratio: base.ratio_rps },
      vs && { figure: 'Worker ÷ baseline did.json rps', value: `${did?.rps} vs ${base?.rps}`, ratio: vs.rps },
      none && { figure: 'baseline', value: 'none', ratio: '', goal: String(none.note) },
    ];
  },
  federation: (rows) =>
    (['ES256', 'RS256'] as const).flatMap((alg): Array<Omit<Headline, 'scenario'> | undefined> => {
      const w = rows.find((r) => r.case === `POST /v1/federation/verify ${alg} (warm)`);
      const b = rows.find((r) => String(r.case).startsWith(`baseline POST /v1/federation/verify ${alg}`));
      return [
        w && { figure: `${alg} verify in workerd: service ms ÷ bare crypto.subtle.verify ms`, value: w.service_verify_ms, ratio: w.isolate_ratio, goal: '≤ 1.5' },
        w && { figure: `${alg} POST /v1/federation/verify ms/req (serial), Worker`, value: w.ms_per_req },
        b && { figure: `${alg} same, baseline (pg + node-redis + jsonwebtoken); Worker ÷ baseline ms`, value: b.ms_per_req, ratio: b.worker_vs_baseline_ms },
      ];
    }).concat(rows.filter((r) => r.case === 'baseline' && r.note).map((r) => ({ figure: 'baseline', value: 'none', goal: String(r.note) }))),
  limiter: (rows) => {
    const ratioKey = keyLike(rows[0], /^ratio/) ?? '';
    return rows
      .filter((r) => r.route === 'GET /v1/agents' || r.route === 'baseline')
      .map((r) =>
        r.route === 'baseline'
          ? { figure: 'baseline', value: 'none', goal: String(r.config) }
          : String(r.config).includes('÷')
            ? { figure: `GET /v1/agents rps, ${r.config}`, value: '', ratio: r.rps }
            : { figure: `GET /v1/agents rps, ${r.config}`, value: r.rps, ratio: r[ratioKey], goal: r[ratioKey] === 1 ? 'reference' : String(r.config).startsWith('baseline') ? 'the spec\'s cost, for comparison' : '≥ 0.8' },
      );
  },
  analytics: (rows) =>
    rows.map((r) => {
      const large = keyLike(r, /^\d+ rows median ms$/) && Object.keys(r).filter((k) => /^\d+ rows median ms$/.test(k)).pop();
      return { figure: `${r.query}: median ms at ${large?.split(' ')[0]} rows ÷ 10k rows`, value: large ? r[large] : '', ratio: r[keyLike(r, /^ratio/) ?? ''], goal: '≤ 2' };
    }),
  audit: (rows) =>
    rows.map((r) => ({
      figure: `audit verify, ${r.runtime}, ${r.events} events: events/s (RSS growth ${r.rss_growth_mb ?? r.peak_heap_mb} MB)`,
      value: r.events_per_s,
      ratio: r.throughput_vs_10k,
      goal: r.throughput_vs_10k === 1 ? 'reference' : '≥ 0.8, flat memory',
    })),
  webhooks: (rows) => {
    const r = rows.find((x) => String(x.route).startsWith('ratio'));
    const backlog = rows.find((x) => String(x.route).startsWith('backlog'));
    return [
      r && { figure: 'POST /v1/agents rps, 1 subscription ÷ none', value: '', ratio: r.rps_ratio, goal: '≥ 0.8' },
      backlog && { figure: 'one dispatcher drain rate (deliveries/s)', value: backlog.deliveries_per_s },
    ];
  },
  'lease-rtt': (rows) => {
    const ratioKey = keyLike(rows.find((r) => r.route === 'all measured tenant requests'), /^limiter calls/) ?? '';
    return [
      ...rows
        .filter((r) => String(r.config).startsWith('p50'))
        .map((r) => ({ figure: `${r.route}: p50 with the limiter 100 ms away − 0 ms away (ms)`, value: r.p50, ratio: r.rps, goal: '≤ 10 ms' })),
      ...rows
        .filter((r) => r.route === 'all measured tenant requests')
        .map((r) => ({ figure: `limiter calls ÷ tenant requests, ${r.config}`, value: r[ratioKey], goal: '≤ 0.05' })),
    ];
  },
  oidc: (rows) =>
    rows.filter((r) => r.rps_vs_direct !== undefined).map((r) => ({ figure: `${r.route} rps ÷ node-oidc direct`, value: r.rps, ratio: r.rps_vs_direct })),
};

/** Scenarios without a baseline server of their own, and why (shown in the combined table). */
const NO_BASELINE: Record<string, string> = {
  analytics: 'no baseline: the same SQL runs on the same Postgres either way; the figure is table-size scaling',
  audit: 'no baseline: the spec verifies the chain with the same SQL walk; AUDIT_BENCH_NODE=1 adds a Node run',
  webhooks: 'no baseline: the spec has no webhooks; compared with/without a subscription',
  oidc: 'baseline is node-oidc itself, served directly (rps_vs_direct)',
};

const summary: { at: string; env: Record<string, unknown>; scenarios: Record<string, unknown>; combined: Headline[]; wall_seconds?: number } = {
  at: new Date().toISOString(),
  env: { postgres: process.env.DATABASE_URL ? 'server' : 'pglite', redis: Boolean(process.env.REDIS_URL), node: process.version },
  scenarios: {},
  combined: [],
};
const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
for (const [i, file] of files.entries()) {
  const name = file.replace(/\.bench\.ts$/, '');
  process.stderr.write(`\n[${i + 1}/${files.length}] ${name} (started at ${elapsed()}) … `);
  const t0 = Date.now();
  try {
    const mod = (await import(`${DIR}${file}`)) as { run: () => Promise<Row[]> };
    const rows = await mod.run();
    summary.scenarios[name] = rows;
    if (rows.length === 0) {
      summary.combined.push({ scenario: name, figure: 'skipped', value: '', goal: 'see its message above (needs DATABASE_URL?)' });
    } else {
      for (const h of HEADLINES[name]?.(rows) ?? []) if (h) summary.combined.push({ scenario: name, ...h });
      if (NO_BASELINE[name]) summary.combined.push({ scenario: name, figure: NO_BASELINE[name] as string, value: '' });
    }
    process.stderr.write(`[${name}] done in ${Math.round((Date.now() - t0) / 1000)} s\n`);
  } catch (err) {
    summary.scenarios[name] = { error: String(err) };
    summary.combined.push({ scenario: name, figure: 'FAILED', value: (err as Error).message });
    process.stderr.write(`[${name}] FAILED: ${(err as Error).message}\n`);
  }
}
summary.wall_seconds = Math.round((Date.now() - started) / 1000);
mkdirSync(`${DIR}results`, { recursive: true });
// A partial run (`npm run bench -- did`) does not overwrite the full run's summary.
const out = only.length === 0 ? 'summary.json' : `summary-${only.join('-')}.json`;
writeFileSync(`${DIR}results/${out}`, JSON.stringify(summary, null, 2));
console.log(`\n== all scenarios (postgres: ${summary.env.postgres}, redis: ${summary.env.redis ? 'yes' : 'no'}) ==`);
console.table(summary.combined.map((h) => ({ scenario: h.scenario, figure: h.figure, value: h.value, ratio: h.ratio ?? '', goal: h.goal ?? '' })));
console.log(`All scenarios done in ${summary.wall_seconds} s; JSON in bench/results/${out}`);
console.log("Load generator, workerd, the baseline and the databases share this machine's cores: compare ratios, not rates.");
