import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Deps } from '../env.ts';
import { loadConfig } from '../platform/config.ts';
import { Db } from '../platform/db.ts';
import { Cache } from '../platform/cache.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { createServices } from '../compose.ts';

export interface DepsOptions {
  /** Replaces the system clock (tests). */
  clock?: Clock;
}

/** Builds the request's dependencies from `c.env` and closes the database pool after the response. */
export function deps({ clock = systemClock }: DepsOptions = {}): MiddlewareHandler<AppEnv> {
  return async function depsMiddleware(c, next) {
    const config = loadConfig(c.env);
    const waitUntil = (p: Promise<unknown>) => {
      try {
        c.executionCtx.waitUntil(p);
      } catch {
        // No execution context (plain app.request in a unit test): let the promise run unattended.
        p.catch(() => undefined);
      }
    };
    const d: Deps = {
      config,
      db: new Db(config.DATABASE_URL, config.NEON_WS_PROXY),
      cache: new Cache(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, config.CACHE_KEY_PREFIX),
      clock,
      env: c.env,
      waitUntil,
    };
    c.set('deps', d);
    c.set('services', createServices(d));
    try {
      await next();
    } finally {
      waitUntil(d.db.close());
    }
  };
}
