import { startPostgres } from './postgres.ts';
import { startWsProxy } from './ws-proxy.ts';
import { startRedisBridge } from './redis-bridge.ts';
import { migrate } from './migrate.ts';

export interface StackOptions {
  /** A Postgres server; embedded PGlite when absent. */
  databaseUrl?: string;
  /** PGlite data folder; in memory when absent. */
  pgliteDir?: string;
  /** A real Redis (redis://...); caching is off when absent. */
  redisUrl?: string;
  /** Fixed ports (tests choose them before the Worker's bindings are fixed); 0 or absent = any free port. */
  ports?: { pglite?: number; wsProxy?: number; redisBridge?: number };
  redisToken?: string;
  log?: (s: string) => void;
}

export interface Stack {
  /** Worker bindings that point at the running pieces. */
  bindings: Record<string, string>;
  databaseUrl: string;
  postgresKind: 'server' | 'pglite';
  stop(): Promise<void>;
}

/**
 * Starts what the Worker needs besides itself: Postgres (server or PGlite), the WebSocket proxy the Neon
 * driver dials, migrations, and the Upstash REST bridge when Redis is configured. `stop()` undoes it all.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const pgHandle = await startPostgres({ databaseUrl: opts.databaseUrl, dataDir: opts.pgliteDir, port: opts.ports?.pglite });
    stops.push(pgHandle.stop);
    log(`postgres: ${pgHandle.kind}`);
    await migrate(pgHandle.url, log);
    const target = new URL(pgHandle.url);
    const proxy = await startWsProxy([`${target.hostname}:${target.port || 5432}`], opts.ports?.wsProxy);
    stops.push(proxy.stop);
    // A local stack is development (wrangler.toml says production): development-only switches are allowed.
    const bindings: Record<string, string> = { ENVIRONMENT: 'development', DATABASE_URL: pgHandle.url, NEON_WS_PROXY: proxy.neonWsProxy };
    if (opts.redisUrl) {
      const bridge = await startRedisBridge(opts.redisUrl, { port: opts.ports?.redisBridge, token: opts.redisToken });
      stops.push(bridge.stop);
      bindings.UPSTASH_REDIS_REST_URL = bridge.url;
      bindings.UPSTASH_REDIS_REST_TOKEN = bridge.token;
      log('redis: bridged');
    }
    return { bindings, databaseUrl: pgHandle.url, postgresKind: pgHandle.kind, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
