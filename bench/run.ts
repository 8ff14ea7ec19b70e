// npm run bench: runs every scenario under bench/ (each `*.bench.ts` exporting `run()`), shows progress,
// prints each scenario's table and then one combined table of headline figures and ratios (scenario, figure,
// value, ratio, goal; see headlines.ts), and writes bench/results/summary.json. `npm run bench -- did load`
// runs some. Every Worker is the deploy bundle under `workerd serve` (harness.ts), measured next to a trivial
// Worker on the same binary and the seed-style Node baseline. Load and servers share this machine's cores:
// read ratios measured in the same run, not absolute figures. DATABASE_URL (a Postgres server; pgbouncer in
// front when installed) and REDIS_URL are used when set; scenarios that need them say so and skip.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { findPgbouncer } from '../scripts/stack/pgbouncer.ts';
import { HEADLINES, type Headline as HeadlineFigure, NO_BASELINE } from './headlines.ts';

const DIR = new URL('./', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.bench.ts') && f !== 'smoke.bench.ts')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

type Row = Record<string, unknown>;
interface Headline extends HeadlineFigure {
  scenario: string;
}

const summary: {
  at: string;
  env: Record<string, unknown>;
  scenarios: Record<string, unknown>;
  combined: Headline[];
  wall_seconds?: number;
} = {
  at: new Date().toISOString(),
  env: {
    postgres: process.env.DATABASE_URL ? 'server' : 'pglite',
    pooler: process.env.DATABASE_URL && findPgbouncer() ? 'pgbouncer' : 'none',
    redis: Boolean(process.env.REDIS_URL),
    node: process.version,
    cpus: availableParallelism(),
    // The machine's 1-minute load average at the start (and `loadavg_end`): other work skews every figure.
    loadavg_start: Math.round(loadavg()[0]! * 10) / 10,
  },
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
      summary.combined.push({
        scenario: name,
        figure: 'skipped',
        value: '',
        goal: 'see its message above (needs DATABASE_URL?)',
      });
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
summary.env.loadavg_end = Math.round(loadavg()[0]! * 10) / 10;
mkdirSync(`${DIR}results`, { recursive: true });
// A partial run (`npm run bench -- did`) does not overwrite the full run's summary.
const out = only.length === 0 ? 'summary.json' : `summary-${only.join('-')}.json`;
writeFileSync(`${DIR}results/${out}`, JSON.stringify(summary, null, 2));
console.log(
  `\n== all scenarios (postgres: ${summary.env.postgres}, pooler: ${summary.env.pooler}, redis: ${summary.env.redis ? 'yes' : 'no'}, ` +
    `load average ${summary.env.loadavg_start} → ${summary.env.loadavg_end} on ${summary.env.cpus} CPUs) ==`,
);
console.table(
  summary.combined.map((h) => ({
    scenario: h.scenario,
    figure: h.figure,
    value: h.value,
    ratio: h.ratio ?? '',
    goal: h.goal ?? '',
  })),
);
console.log(`All scenarios done in ${summary.wall_seconds} s; JSON in bench/results/${out}`);
console.log(
  "Load generator, workerd, the baseline and the databases share this machine's cores: compare ratios, not rates.",
);
