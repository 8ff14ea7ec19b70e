// npm start: the whole stack on one machine with no accounts — Postgres (DATABASE_URL or embedded PGlite),
// migrations, the Neon WebSocket proxy, the Upstash REST bridge (REDIS_URL), node-oidc, and the Worker under
// `wrangler dev`. Prints `ready http://localhost:<PORT>` once it serves; Ctrl-C stops everything.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { configSchema } from '../worker/platform/config.ts';
import { buildConsole } from './build-console.ts';
import { freePort } from './stack/free-port.ts';
import { startStack } from './stack/index.ts';
import { type NodeOidcHandle, startNodeOidc } from './stack/node-oidc.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const DATA = `${ROOT}.data`;
const SECRETS_FILE = `${DATA}/local-secrets.json`;

const log = (s: string) => console.error(`[agentidp] ${s}`);

/** Local-only secrets, generated once and kept in the git-ignored data folder. */
function localSecrets(): {
  ADMIN_TOKEN: string;
  ENCRYPTION_KEY: string;
  INTERNAL_TOKEN: string;
  generatedAdmin: boolean;
} {
  mkdirSync(DATA, { recursive: true });
  const saved = existsSync(SECRETS_FILE) ? JSON.parse(readFileSync(SECRETS_FILE, 'utf8')) : {};
  let generatedAdmin = false;
  if (!saved.ADMIN_TOKEN) {
    saved.ADMIN_TOKEN = randomBytes(24).toString('hex');
    generatedAdmin = true;
  }
  saved.ENCRYPTION_KEY ??= randomBytes(32).toString('base64');
  saved.INTERNAL_TOKEN ??= randomBytes(24).toString('hex');
  writeFileSync(SECRETS_FILE, JSON.stringify(saved, null, 2));
  chmodSync(SECRETS_FILE, 0o600);
  return { ...saved, generatedAdmin };
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
}

const port = Number(process.env.PORT || 8787);
const secrets = localSecrets();
const adminToken = process.env.ADMIN_TOKEN || secrets.ADMIN_TOKEN;
const children: ChildProcess[] = [];
let stopping = false;

const stack = await startStack({
  databaseUrl: process.env.DATABASE_URL || undefined,
  pgliteDir: `${DATA}/pglite`,
  redisUrl: process.env.REDIS_URL || undefined,
  log,
});

// node-oidc (token issuer, Vault client) as a Node process; the Worker reaches it at OIDC_ORIGIN. Its log
// lines go to .data/node-oidc.log. Vault is used when VAULT_ADDR (and VAULT_TOKEN) are set here.
const internalToken = process.env.INTERNAL_TOKEN || secrets.INTERNAL_TOKEN;
const oidcIssuer = process.env.OIDC_ISSUER || `http://localhost:${port}/oidc`;
let nodeOidc: NodeOidcHandle | undefined;
try {
  nodeOidc = await startNodeOidc({
    port: Number(process.env.OIDC_PORT) || (await freePort()),
    output: `${DATA}/node-oidc.log`,
    env: {
      DATABASE_URL: stack.databaseUrl,
      OIDC_ISSUER: oidcIssuer,
      INTERNAL_TOKEN: internalToken,
      OIDC_KEYS_FILE: process.env.OIDC_KEYS_FILE || `${DATA}/oidc-keys.json`,
      ...Object.fromEntries(
        [
          'OIDC_JWKS',
          'OIDC_AUDIENCE',
          'OIDC_ACCESS_TOKEN_TTL_SECONDS',
          'VAULT_ADDR',
          'VAULT_TOKEN',
          'VAULT_MOUNT',
          'VAULT_NAMESPACE',
          'A2A_ENABLED',
          'DELEGATION_MAX_DEPTH',
          'DELEGATION_DEFAULT_TTL_SECONDS',
          'DELEGATION_MAX_TTL_SECONDS',
        ]
          .filter((k) => process.env[k])
          .map((k) => [k, process.env[k]!]),
      ),
    },
  });
} catch (err) {
  log(`node-oidc: ${(err as Error).message}`);
  await stack.stop();
  process.exit(1);
}
log(`node-oidc: ${nodeOidc.url} (issuer ${oidcIssuer}; log in .data/node-oidc.log)`);
void nodeOidc.exited.then((code) => {
  if (!stopping) {
    log(`node-oidc exited (${code}); see .data/node-oidc.log`);
    void shutdown(1);
  }
});

// Every variable the Worker reads, taken from this environment when set, then the stack's and local defaults.
const vars: Record<string, string> = {};
for (const name of Object.keys(configSchema.shape)) {
  const v = process.env[name];
  if (v !== undefined && v !== '') vars[name] = v;
}
Object.assign(vars, stack.bindings, {
  ADMIN_TOKEN: adminToken,
  ENCRYPTION_KEY: process.env.ENCRYPTION_KEY || secrets.ENCRYPTION_KEY,
  INTERNAL_TOKEN: internalToken,
  OIDC_ORIGIN: nodeOidc.url,
  OIDC_ISSUER: oidcIssuer,
  DID_WEB_DOMAIN: process.env.DID_WEB_DOMAIN || `localhost%3A${port}`,
  // A local stack talks to local webhook receivers and IdPs (npm run demo): private URLs are allowed unless
  // ALLOW_PRIVATE_URLS=false is set. Production leaves it off.
  ALLOW_PRIVATE_URLS: process.env.ALLOW_PRIVATE_URLS || 'true',
});
if (process.env.DATABASE_URL) vars.DATABASE_URL = stack.bindings.DATABASE_URL!;

// Secrets go to wrangler through an env file in the data folder (mode 0600), never on a command line.
const envFile = `${DATA}/worker.env`;
writeFileSync(
  envFile,
  `${Object.entries(vars)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n')}\n`,
  { mode: 0o600 },
);

async function shutdown(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('stopping');
  for (const child of children) {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    }
  }
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  await nodeOidc?.stop();
  await stack.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

// The console's static assets (console/dist, [assets] in wrangler.toml) must exist before wrangler starts;
// wrangler dev then rebuilds them when console/src changes ([build] in wrangler.toml).
await buildConsole();
log(`console: http://localhost:${port}/console`);

const wrangler = spawn(
  `${ROOT}node_modules/.bin/wrangler`,
  [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--env-file',
    envFile,
    '--persist-to',
    `${DATA}/wrangler`,
    '--show-interactive-dev-session=false',
    // node-oidc runs as a Node process here (OIDC_ORIGIN); the [[containers]] entry needs no Docker engine.
    '--enable-containers=false',
    '--log-level',
    'warn',
  ],
  {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  },
);
children.push(wrangler);
wrangler.on('exit', (code) => {
  if (!stopping) {
    log(`wrangler dev exited (${code})`);
    void shutdown(1);
  }
});

try {
  await waitFor(`http://127.0.0.1:${port}/livez`, 90_000);
} catch (err) {
  log((err as Error).message);
  await shutdown(1);
}
if (secrets.generatedAdmin && !process.env.ADMIN_TOKEN) {
  log(`generated ADMIN_TOKEN (saved in .data/local-secrets.json): ${adminToken}`);
} else if (!process.env.ADMIN_TOKEN) {
  log('ADMIN_TOKEN is in .data/local-secrets.json');
}
// What `npm run demo` needs to find this stack (it seeds a few days of analytics history directly).
writeFileSync(
  `${DATA}/stack.json`,
  JSON.stringify({ url: `http://localhost:${port}`, databaseUrl: stack.databaseUrl }, null, 2),
  { mode: 0o600 },
);
console.log(`ready http://localhost:${port}`);
