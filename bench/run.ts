// npm run bench: runs every scenario under bench/ (each `*.bench.ts` exporting `run()`), shows progress,
// prints one table of figures and ratios, and writes bench/results/summary.json.
// Load and server share this machine's cores: read ratios measured in the same run, not absolute figures.
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';

const DIR = new URL('./', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.bench.ts') && f !== 'smoke.bench.ts')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const summary: Record<string, unknown> = { at: new Date().toISOString(), scenarios: {} };
const started = Date.now();
for (const [i, file] of files.entries()) {
  const name = file.replace(/\.bench\.ts$/, '');
  process.stderr.write(`[${i + 1}/${files.length}] ${name} … `);
  const t0 = Date.now();
  try {
    const mod = (await import(`${DIR}${file}`)) as { run: () => Promise<Record<string, unknown>[]> };
    const rows = await mod.run();
    (summary.scenarios as Record<string, unknown>)[name] = rows;
    process.stderr.write(`done in ${Math.round((Date.now() - t0) / 1000)} s\n`);
  } catch (err) {
    (summary.scenarios as Record<string, unknown>)[name] = { error: String(err) };
    process.stderr.write(`FAILED: ${(err as Error).message}\n`);
  }
}
mkdirSync(`${DIR}results`, { recursive: true });
writeFileSync(`${DIR}results/summary.json`, JSON.stringify(summary, null, 2));
console.log(`\nAll scenarios done in ${Math.round((Date.now() - started) / 1000)} s; JSON in bench/results/summary.json`);
