// Harness smoke check: the trivial route under load. `node bench/smoke.bench.ts`
import { measure, report, startBenchWorker } from './harness.ts';

export async function run(): Promise<Record<string, unknown>[]> {
  const w = await startBenchWorker();
  try {
    const live = await measure(`${w.url}/livez`, { durationSec: 5 });
    const rows = [{ route: 'GET /livez', ...live }];
    report('smoke', rows);
    return rows;
  } finally {
    await w.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
