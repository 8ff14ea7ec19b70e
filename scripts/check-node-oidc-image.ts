// Checks node-oidc/Dockerfile without a Docker engine: replays its steps (WORKDIR, ENV, COPY from the
// repository root — the build context —, RUN) in a scratch directory with this machine's Node and npm, then
// starts its CMD there against an embedded Postgres and checks that the service answers (discovery, JWKS, a
// token-less internal call refused, the internal health check). FROM, USER and EXPOSE are reported, not
// replayed. Run: `node scripts/check-node-oidc-image.ts` (exit code 0 when the image would start).
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateJwks } from '../node-oidc/src/keys.ts';
import { freePort } from './stack/free-port.ts';
import { startStack } from './stack/index.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const log = (s: string) => console.error(`[check-image] ${s}`);

/** Dockerfile instructions, with `\` continuations joined and comments dropped. */
function instructions(text: string): Array<[string, string]> {
  const joined = text.replace(/\\\n/g, ' ').split('\n');
  return joined
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const i = l.indexOf(' ');
      return [l.slice(0, i).toUpperCase(), l.slice(i + 1).trim()] as [string, string];
    });
}

const scratch = mkdtempSync(join(tmpdir(), 'node-oidc-image-'));
// The Dockerfile's ENV; RUN steps also see this machine's environment (npm's registry, proxy and CA
// settings), with npm's cache in the scratch directory so that `npm cache clean` leaves this machine's alone.
const env: Record<string, string> = {};
const buildEnv = () => ({ ...process.env, ...env, npm_config_cache: join(scratch, '.npm-cache') }) as NodeJS.ProcessEnv;
let workdir = scratch;
let cmd: string[] = [];
let ok = false;
const stack = await startStack({ log: () => undefined });
try {
  for (const [op, arg] of instructions(readFileSync(`${ROOT}node-oidc/Dockerfile`, 'utf8'))) {
    switch (op) {
      case 'FROM':
      case 'USER':
      case 'EXPOSE':
        log(`${op} ${arg} (not replayed)`);
        break;
      case 'WORKDIR':
        workdir = join(scratch, arg);
        mkdirSync(workdir, { recursive: true });
        break;
      case 'ENV':
        for (const m of arg.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
        break;
      case 'COPY': {
        const parts = arg.split(/\s+/);
        const dest = parts.pop()!;
        for (const src of parts) {
          const target =
            dest.endsWith('/') || parts.length > 1 ? join(workdir, dest, src.split('/').pop()!) : join(workdir, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(join(ROOT, src), target, { recursive: true });
        }
        break;
      }
      case 'RUN':
        log(`RUN ${arg}`);
        execSync(arg, { cwd: workdir, env: buildEnv(), stdio: 'inherit', shell: '/bin/sh' });
        break;
      case 'CMD':
        cmd = JSON.parse(arg) as string[];
        break;
      default:
        throw new Error(`unsupported Dockerfile instruction ${op}`);
    }
  }
  if (cmd.length === 0) throw new Error('the Dockerfile has no CMD');

  const port = await freePort();
  const internalToken = randomBytes(24).toString('hex');
  // The container's environment: the Dockerfile's ENV plus what the Worker's container class passes.
  const runEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: stack.databaseUrl,
    OIDC_ISSUER: 'https://idp.example/oidc',
    INTERNAL_TOKEN: internalToken,
    OIDC_JWKS: JSON.stringify(await generateJwks()),
  };
  log(`CMD ${cmd.join(' ')} (NODE_ENV=${runEnv.NODE_ENV ?? ''})`);
  const child: ChildProcess = spawn(cmd[0]!, cmd.slice(1), {
    cwd: workdir,
    env: runEnv as unknown as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    const until = Date.now() + 20_000;
    let discovery: Response | undefined;
    while (!discovery && Date.now() < until) {
      discovery = await fetch(`${base}/oidc/.well-known/openid-configuration`, {
        headers: { 'x-forwarded-host': 'idp.example', 'x-forwarded-proto': 'https' },
      }).catch(() => undefined);
      if (!discovery) await new Promise((r) => setTimeout(r, 200));
    }
    if (discovery?.status !== 200) throw new Error(`discovery answered ${discovery?.status ?? 'nothing'}`);
    const meta = (await discovery.json()) as { issuer: string; token_endpoint: string };
    if (meta.issuer !== 'https://idp.example/oidc' || meta.token_endpoint !== 'https://idp.example/oidc/token') {
      throw new Error(`unexpected discovery document: ${JSON.stringify(meta)}`);
    }
    const jwks = (await (await fetch(`${base}/oidc/jwks`)).json()) as { keys: Array<{ alg: string; d?: string }> };
    if (jwks.keys[0]?.alg !== 'ES256' || jwks.keys.some((k) => k.d))
      throw new Error('JWKS is not the public ES256-first set');
    const denied = await fetch(`${base}/internal/health`);
    if (denied.status !== 401) throw new Error(`internal health without a token answered ${denied.status}`);
    const health = await fetch(`${base}/internal/health`, { headers: { authorization: `Bearer ${internalToken}` } });
    if (health.status !== 200) throw new Error(`internal health answered ${health.status}`);
    ok = true;
    log('the image starts the service: discovery, JWKS and the internal API answer');
  } finally {
    child.kill('SIGTERM');
  }
} finally {
  await stack.stop();
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
