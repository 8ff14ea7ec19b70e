// Node side (vitest.config.ts): bundles quota-isolate.worker.ts and describes the auxiliary Workers that run
// it, each a separate isolate. The first hosts the TenantLimiter namespace; the others bind to its class, so
// all of them share one namespace, as isolates of one Worker do in production.
import { mkdirSync } from 'node:fs';
import { buildSync } from 'esbuild';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const QUOTA_ISOLATES = ['QUOTA_ISOLATE_A', 'QUOTA_ISOLATE_B', 'QUOTA_ISOLATE_C'] as const;

export function quotaIsolateWorkers(compatibilityDate: string) {
  const outdir = `${ROOT}.data/test-isolates`;
  mkdirSync(outdir, { recursive: true });
  const scriptPath = `${outdir}/quota-isolate.js`;
  buildSync({
    entryPoints: [`${ROOT}test/support/isolates/quota-isolate.worker.ts`],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['cloudflare:*'],
    outfile: scriptPath,
    logLevel: 'warning',
  });
  const names = QUOTA_ISOLATES.map((b) => b.toLowerCase().replace(/_/g, '-'));
  const host = names[0]!;
  const workers = names.map((name, i) => ({
    name,
    modules: true,
    scriptPath,
    compatibilityDate,
    durableObjects: {
      TENANT_LIMITER:
        i === 0
          ? { className: 'TenantLimiter', useSQLite: true }
          : { className: 'TenantLimiter', scriptName: host, useSQLite: true },
    },
  }));
  const serviceBindings = Object.fromEntries(QUOTA_ISOLATES.map((binding, i) => [binding, names[i]!]));
  return { workers, serviceBindings };
}
