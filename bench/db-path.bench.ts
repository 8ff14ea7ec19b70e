// Which database path a Worker should take, by measurement: a bare Worker (bench/db-path.worker.ts) doing
// one query per request over a connection opened for that request — the Neon driver over the WebSocket
// proxy, and node-postgres over a TCP socket from workerd — each straight to Postgres and through pgbouncer
// (transaction pooling), next to the trivial Worker. `node bench/db-path.bench.ts`; needs DATABASE_URL (a
// Postgres server: PGlite runs one query at a time and says nothing about connection costs).

import { startStackProcess } from '../scripts/stack/child.ts';
import type { Stack } from '../scripts/stack/index.ts';
import { bundleBenchWorker, workerSpec } from './bundle.ts';
import { compare, ratio, report, startTrivialWorker, type Target } from './harness.ts';
import { startWorkerd, type WorkerdHandle } from './workerd/serve.ts';

export async function run(): Promise<Record<string, unknown>[]> {
  if (!process.env.DATABASE_URL) {
    console.warn('db-path: needs DATABASE_URL (a Postgres server); skipped');
    return [];
  }
  const script = await bundleBenchWorker('db-path');
  const spec = await workerSpec();
  const stacks: Stack[] = [];
  const servers: Array<{ stop(): Promise<void> }> = [];
  try {
    const trivial = await startTrivialWorker();
    servers.push(trivial);
    const targets: Target[] = [{ name: 'trivial', url: trivial.url }];
    const labels: Record<string, string> = {};
    for (const pooler of ['off', 'auto'] as const) {
      const stack = await startStackProcess({ databaseUrl: process.env.DATABASE_URL, pooler, poolSize: 10 });
      stacks.push(stack);
      const w: WorkerdHandle = await startWorkerd({
        modules: [{ name: 'db-path.worker.js', path: script }],
        compatibilityDate: spec.compatibilityDate,
        compatibilityFlags: spec.compatibilityFlags,
        bindings: stack.bindings,
      });
      servers.push(w);
      const via = stack.pooler === 'pgbouncer' ? 'pgbouncer' : 'direct';
      if (pooler === 'auto' && via === 'direct') break; // pgbouncer not installed: nothing more to compare
      for (const driver of ['neon', 'pg'] as const) {
        const name = `${driver}-${via}`;
        const res = await fetch(`${w.url}/${driver}`);
        if (res.status !== 200) throw new Error(`${name}: ${res.status} ${await res.text()}`);
        targets.push({ name, url: `${w.url}/${driver}` });
        labels[name] =
          `${driver === 'neon' ? 'Neon Pool over the WebSocket proxy' : 'pg over a TCP socket'}, ${via === 'pgbouncer' ? 'through pgbouncer' : 'straight to Postgres'}`;
      }
    }
    const m = await compare(targets);
    const t = m.get('trivial')!;
    const rows: Record<string, unknown>[] = [{ target: 'trivial Worker', route: 'GET /', ...t, vs_trivial: 1 }];
    for (const [name, label] of Object.entries(labels)) {
      const x = m.get(name)!;
      const direct = m.get(name.replace('pgbouncer', 'direct'));
      rows.push({
        target: label,
        route: 'one query per request',
        ...x,
        vs_trivial: ratio(x.rps, t.rps),
        ...(name.endsWith('pgbouncer') && direct ? { vs_direct: ratio(x.rps, direct.rps) } : {}),
      });
    }
    report('db-path', rows);
    return rows;
  } finally {
    for (const s of servers.reverse()) await s.stop().catch(() => undefined);
    for (const s of stacks) await s.stop().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
