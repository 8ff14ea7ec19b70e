import type { MiddlewareHandler } from 'hono';
import { createDeps, createServices } from '../compose.ts';
import type { AppEnv } from '../env.ts';
import type { Clock } from '../platform/clock.ts';
import { settleAfterRequest } from '../settle.ts';

export interface DepsOptions {
  /** Replaces the system clock (tests). */
  clock?: Clock;
  /** Settle held usage on a timer when the isolate goes quiet (default on; tests drive settling themselves). */
  idleTimer?: boolean;
}

/**
 * Builds the request's dependencies from `c.env`; after the response settles usage this isolate holds
 * (settle.ts) and closes the database pool.
 */
export function deps({ clock, idleTimer = true }: DepsOptions = {}): MiddlewareHandler<AppEnv> {
  return async function depsMiddleware(c, next) {
    const waitUntil = (p: Promise<unknown>) => {
      try {
        c.executionCtx.waitUntil(p);
      } catch {
        // No execution context (plain app.request in a unit test): let the promise run unattended.
        p.catch(() => undefined);
      }
    };
    const d = createDeps(c.env, { clock, waitUntil });
    const services = createServices(d);
    c.set('deps', d);
    c.set('services', services);
    try {
      await next();
    } finally {
      settleAfterRequest(d, services, { idleTimer });
      waitUntil(d.db.close());
    }
  };
}
