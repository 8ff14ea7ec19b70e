// npm run build:console: bundles the tenant console (console/src, TypeScript + uPlot) with esbuild into
// console/dist, the Workers static assets directory ([assets] in wrangler.toml):
//   console/dist/console.html           → GET /console (html_handling serves it without the extension)
//   console/dist/console/app.js|app.css|icon.svg
//   console/dist/_headers               → CSP, X-Frame-Options, ... on those responses (not served itself)
// Files are overwritten in place and stale ones removed afterwards: the folder never disappears or empties
// under a running `wrangler dev` or a Miniflare that is reading it.
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { build } from 'esbuild';

const ROOT = new URL('../', import.meta.url).pathname;
const SRC = `${ROOT}console/src`;
const OUT = `${ROOT}console/dist`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(OUT, `${e.parentPath}/${e.name}`));
}

export async function buildConsole(): Promise<string[]> {
  const bundle = await build({
    entryPoints: { app: `${SRC}/main.ts` },
    outdir: `${OUT}/console`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
  });
  const written: string[] = [];
  const put = (rel: string, write: (path: string) => void) => {
    mkdirSync(dirname(`${OUT}/${rel}`), { recursive: true });
    write(`${OUT}/${rel}`);
    written.push(rel);
  };
  for (const f of bundle.outputFiles) put(relative(OUT, f.path), (p) => writeFileSync(p, f.contents));
  put('console.html', (p) => copyFileSync(`${SRC}/console.html`, p));
  put('console/icon.svg', (p) => copyFileSync(`${SRC}/icon.svg`, p));
  put('_headers', (p) => copyFileSync(`${SRC}/_headers`, p));
  for (const rel of filesUnder(OUT)) if (!written.includes(rel)) rmSync(`${OUT}/${rel}`);
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = await buildConsole();
  console.error(`[console] built ${files.length} files into console/dist`);
}
