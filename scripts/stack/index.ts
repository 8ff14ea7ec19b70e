import { freePort } from './free-port.ts';
import { migrate } from './migrate.ts';
import { findPgbouncer, startPgbouncer } from './pgbouncer.ts';
import { startPostgres } from './postgres.ts';
import { startRedisBridge } from './redis-bridge.ts';
import { startWsProxy } from './ws-proxy.ts';

export interface StackOptions {
  /** A Postgres server; embedded PGlite when absent. */
  databaseUrl?: string;
  /** PGlite data folder; in memory when absent. */
  pgliteDir?: string;
  /** A real Redis (redis://...); caching is off when absent. */
  redisUrl?: string;
  /**
   * With a Postgres server: put pgbouncer (transaction pooling) between the Worker and it. `auto` (the
   * default) uses it when installed, `required` fails without it, `off` connects the Worker directly.
   * PGlite is never pooled.
   */
  pooler?: 'auto' | 'required' | 'off';
  /** Server connections pgbouncer keeps per database (default 20). */
  poolSize?: number;
  /** Fixed ports (tests choose them before the Worker's bindings are fixed); 0 or absent = any free port. */
  ports?: { pglite?: number; wsProxy?: number; redisBridge?: number; pgbouncer?: number };
  redisToken?: string;
  log?: (s: string) => void;
}

export interface Stack {
  /** Worker bindings that point at the running pieces. */
  bindings: Record<string, string>;
  /** Postgres itself: for migrations, node-oidc (its own pool) and seeding from Node. */
  databaseUrl: string;
  postgresKind: 'server' | 'pglite';
  /** What the Worker's DATABASE_URL points at. */
  pooler: 'pgbouncer' | 'none';
  stop(): Promise<void>;
}

/**
 * Starts what the Worker needs besides itself: Postgres (server or PGlite), migrations, pgbouncer in front
 * of a server (see `pooler`), the WebSocket proxy the Neon driver dials, and the Upstash REST bridge when
 * Redis is configured. `stop()` undoes it all.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const pgHandle = await startPostgres({
      databaseUrl: opts.databaseUrl,
      dataDir: opts.pgliteDir,
      port: opts.ports?.pglite,
    });
    stops.push(pgHandle.stop);
    log(`postgres: ${pgHandle.kind}`);
    await migrate(pgHandle.url, log);
    let workerUrl = pgHandle.url;
    let pooler: Stack['pooler'] = 'none';
    const wantPooler = pgHandle.kind === 'server' ? (opts.pooler ?? 'auto') : 'off';
    if (wantPooler === 'required' || (wantPooler === 'auto' && findPgbouncer())) {
      const bouncer = await startPgbouncer({
        serverUrl: pgHandle.url,
        port: opts.ports?.pgbouncer || (await freePort()),
        poolSize: opts.poolSize,
      });
      stops.push(bouncer.stop);
      workerUrl = bouncer.url;
      pooler = 'pgbouncer';
      log(`pgbouncer: 127.0.0.1:${bouncer.port} (transaction pooling) in front of Postgres`);
    } else if (wantPooler === 'auto') {
      log('pgbouncer: not installed (apt-get install pgbouncer); the Worker opens its own Postgres connections');
    }
    const target = new URL(workerUrl);
    const proxy = await startWsProxy([`${target.hostname}:${target.port || 5432}`], opts.ports?.wsProxy);
    stops.push(proxy.stop);
    // A local stack is development (wrangler.toml says production): development-only switches are allowed.
    const bindings: Record<string, string> = {
      ENVIRONMENT: 'development',
      DATABASE_URL: workerUrl,
      NEON_WS_PROXY: proxy.neonWsProxy,
    };
    if (opts.redisUrl) {
      const bridge = await startRedisBridge(opts.redisUrl, { port: opts.ports?.redisBridge, token: opts.redisToken });
      stops.push(bridge.stop);
      bindings.UPSTASH_REDIS_REST_URL = bridge.url;
      bindings.UPSTASH_REDIS_REST_TOKEN = bridge.token;
      log('redis: bridged');
    }
    return { bindings, databaseUrl: pgHandle.url, postgresKind: pgHandle.kind, pooler, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
