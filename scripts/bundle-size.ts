// Builds the deploy bundle exactly as `wrangler deploy` would (dry run) and reports its size; fails when the
// gzipped Worker script exceeds the budget (1 MiB). `npm run deploy:check`.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const ROOT = new URL('../', import.meta.url).pathname;
const OUT = `${ROOT}dist/deploy-check`;
const BUDGET = 1024 * 1024;

rmSync(OUT, { recursive: true, force: true });
execFileSync(
  `${ROOT}node_modules/.bin/wrangler`,
  ['deploy', '--dry-run', '--outdir', OUT, '--containers-rollout=none'],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
);
const script = readFileSync(`${OUT}/index.js`);
const gz = gzipSync(script, { level: 9 }).length;
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`worker bundle: ${kib(script.length)} raw, ${kib(gz)} gzipped (budget ${kib(BUDGET)} gzipped)`);
if (gz > BUDGET) {
  console.error('bundle over budget');
  process.exit(1);
}
