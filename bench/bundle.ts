// The deploy bundle (what `wrangler deploy` uploads) and the parts of wrangler.toml a runtime needs to
// serve it: compatibility date and flags, and the Durable Object bindings (containers excluded: node-oidc
// runs as a Node process locally, reached through OIDC_ORIGIN).
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
export const BUNDLE_DIR = `${ROOT}dist/bench`;

const built = new Set<string>();
/**
 * Builds the deploy bundle once per process; returns the path of its one ES module. With `entry` (relative to
 * the repository), the same build of another entry instead of wrangler.toml's `main`: the browser tests'
 * Worker with the suite's clock (test/support/pinned-worker.ts).
 */
export function buildBundle(entry?: string): string {
  const outdir = entry ? `${BUNDLE_DIR}-${basename(entry, '.ts')}` : BUNDLE_DIR;
  if (!built.has(outdir)) {
    // --containers-rollout=none: the node-oidc [[containers]] image is not built (no Docker engine needed).
    // npm scripts put the `node` devDependency (22) first on PATH, which wrangler needs.
    const args = [
      'wrangler',
      'deploy',
      '--dry-run',
      '--outdir',
      outdir,
      '--containers-rollout=none',
      ...(entry ? [entry] : []),
    ];
    execFileSync('npx', args, { cwd: ROOT, stdio: 'ignore' });
    built.add(outdir);
  }
  return `${outdir}/${entry ? basename(entry, '.ts') : 'index'}.js`;
}

export interface WorkerSpec {
  compatibilityDate: string;
  compatibilityFlags: string[];
  durableObjects: Array<{ binding: string; className: string }>;
  /** [vars]: the non-secret defaults, as text bindings. */
  vars: Record<string, string>;
}

type DoBinding = { name: string; class_name: string; script_name?: string };

let spec: WorkerSpec | undefined;
/** What wrangler.toml says about the Worker's runtime (read once per process through wrangler itself). */
export async function workerSpec(): Promise<WorkerSpec> {
  if (!spec) {
    const { unstable_readConfig } = await import('wrangler');
    const config = unstable_readConfig({ config: `${ROOT}wrangler.toml` });
    const containers = new Set((config.containers ?? []).map((c: { class_name: string }) => c.class_name));
    spec = {
      compatibilityDate: config.compatibility_date ?? '2026-10-01',
      compatibilityFlags: config.compatibility_flags ?? [],
      durableObjects: config.durable_objects.bindings
        .filter((b: DoBinding) => !containers.has(b.class_name) && !b.script_name)
        .map((b: DoBinding) => ({ binding: b.name, className: b.class_name })),
      vars: Object.fromEntries(
        Object.entries(config.vars ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
      ),
    };
  }
  return spec;
}

/**
 * Bundles a bench-only Worker (`bench/<name>.worker.ts`) into one ES module as wrangler would (workerd
 * export conditions, Node built-ins left to nodejs_compat); returns its path.
 */
export async function bundleBenchWorker(name: string): Promise<string> {
  const { build } = await import('esbuild');
  const { builtinModules } = await import('node:module');
  const outfile = `${BUNDLE_DIR}/${name}.worker.js`;
  await build({
    entryPoints: [`${ROOT}bench/${name}.worker.ts`],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker'],
    external: ['cloudflare:*', 'node:*', ...builtinModules],
    logLevel: 'silent',
    plugins: [
      {
        // An ES module cannot `require()` an external module; CommonJS dependencies (pg) do, for Node
        // built-ins. Turn each such require into an import of workerd's `node:` module, as wrangler does.
        name: 'require-node-builtins',
        setup(b) {
          const builtins = new Set(builtinModules);
          b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) =>
            args.kind === 'require-call' && builtins.has(args.path.replace(/^node:/, ''))
              ? { path: args.path.replace(/^node:/, ''), namespace: 'node-builtin' }
              : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
            contents: `import m from 'node:${args.path}'; module.exports = m;`,
          }));
        },
      },
    ],
  });
  return outfile;
}
