// node-oidc: oidc-provider at /oidc (agent access tokens, discovery, JWKS) and the internal endpoints the
// Worker uses for Vault (/internal/*). Run by Node 22 directly: `node node-oidc/src/server.ts`.
// The Worker is its only client: locally through OIDC_ORIGIN, in production through a Container binding.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Provider from 'oidc-provider';
import pg from 'pg';
import { COUNTED_CLIENT_HEADER } from '../../shared/oidc-link.ts';
import { adapterFactory, sweepExpired } from './adapter.ts';
import { AgentClients, installHashedSecretCheck } from './agent-clients.ts';
import { ConfigError, loadConfig } from './config.ts';
import { providerConfiguration } from './configuration.ts';
import { DelegationIssuer, EXCHANGE_PARAMS, TOKEN_EXCHANGE, tokenExchangeGrant } from './delegation.ts';
import { handleInternal } from './internal-routes.ts';
import { loadSigningKeys } from './keys.ts';
import { VaultClient } from './vault.ts';

const SWEEP_INTERVAL_MS = 10 * 60_000;

/** One JSON line per event; callers never pass secrets, bodies or tokens. */
function log(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ service: 'node-oidc', time: new Date().toISOString(), ...entry })}\n`);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: 'not_found', error_description: 'no such endpoint' }));
}

async function main(): Promise<void> {
  const config = loadConfig();

  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.databasePoolMax,
    idleTimeoutMillis: 30_000,
  });
  // An idle client's error (the server restarted, the network blinked) must not kill the process.
  pool.on('error', (err) => log({ level: 'warn', msg: 'postgres idle client error', error: err.message }));

  const jwks = await loadSigningKeys({
    jwksJson: config.jwksJson,
    keysFile: config.keysFile,
    requireConfigured: config.production,
    log: (msg) => log({ level: 'info', msg }),
  });

  const a2a = config.delegation.enabled;
  // The agent id the Worker counted for the request being served (agent-clients.ts), per request.
  const counted = new AsyncLocalStorage<string | undefined>();
  const clients = new AgentClients(
    pool,
    () => counted.getStore(),
    a2a ? ['client_credentials', TOKEN_EXCHANGE] : ['client_credentials'],
  );
  const provider = new Provider(
    config.issuer,
    providerConfiguration({ config, jwks, adapter: adapterFactory(pool, clients) }),
  );
  // Behind the Worker: protocol and host come from X-Forwarded-Proto/-Host, which the Worker sets.
  provider.proxy = true;
  installHashedSecretCheck(provider);
  const delegations = a2a ? await DelegationIssuer.create(pool, config, jwks) : undefined;
  if (delegations) provider.registerGrantType(TOKEN_EXCHANGE, tokenExchangeGrant(delegations), EXCHANGE_PARAMS);
  provider.on('server_error', (_ctx, err) => log({ level: 'error', msg: 'provider error', error: err.message }));

  const vault = config.vault ? new VaultClient(config.vault) : undefined;
  const oidc = provider.callback();
  const mountPath = new URL(config.issuer).pathname.replace(/\/+$/, '');

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const raw = req.url ?? '/';
    const path = raw.split('?')[0]!;
    res.on('finish', () => {
      log({
        level: 'info',
        method: req.method,
        path,
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      });
    });
    // Routed on the raw, undecoded path: /oidc/* and /internal/* never overlap, whatever the encoding.
    if (mountPath && (path === mountPath || path.startsWith(`${mountPath}/`))) {
      // oidc-provider builds its URLs from originalUrl: keep the full path there, strip the mount for routing.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = raw;
      req.url = raw.slice(mountPath.length) || '/';
      if (req.url.startsWith('?')) req.url = `/${req.url}`;
      const header = req.headers[COUNTED_CLIENT_HEADER];
      counted.run(typeof header === 'string' ? header : undefined, () => oidc(req, res));
      return;
    }
    if (path.startsWith('/internal/')) {
      void handleInternal(req, res, { internalToken: config.internalToken, pool, vault, delegations, log });
      return;
    }
    notFound(res);
  });

  const sweep = setInterval(() => {
    sweepExpired(pool).catch((err: Error) => log({ level: 'warn', msg: 'sweep failed', error: err.message }));
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ level: 'info', msg: `stopping (${signal})` });
    clearInterval(sweep);
    server.close(() => {
      void pool.end().finally(() => process.exit(0));
    });
    server.closeAllConnections();
    // Never hang on a stuck connection or pool.
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (process.env.EXIT_WITH_STDIN === '1') {
    // Started by the dev stack or the tests (scripts/stack/node-oidc.ts): stdin closes when the parent dies.
    process.stdin.on('end', () => stop('parent exited'));
    process.stdin.on('error', () => stop('parent exited'));
    process.stdin.resume();
  }

  server.listen(config.port, config.host, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    log({
      level: 'info',
      msg: `listening http://${config.host}:${port}`,
      port,
      issuer: config.issuer,
      vault: vault ? 'configured' : 'disabled',
      keys: jwks.keys.map((k) => `${k.alg}:${k.kid}`),
    });
  });
}

try {
  await main();
} catch (err) {
  // Configuration and key problems end the process with one line naming the problem, never a value.
  log({ level: 'fatal', msg: err instanceof ConfigError ? err.message : `startup failed: ${(err as Error).message}` });
  process.exit(1);
}
