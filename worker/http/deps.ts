import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import type { Clock } from '../platform/clock.ts';
import { createDeps, createServices } from '../compose.ts';

export interface DepsOptions {
  /** Replaces the system clock (tests). */
  clock?: Clock;
}

/** Builds the request's dependencies from `c.env` and closes the database pool after the response. */
export function deps({ clock }: DepsOptions = {}): MiddlewareHandler<AppEnv> {
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
    c.set('deps', d);
    c.set('services', createServices(d));
    try {
      await next();
    } finally {
      waitUntil(d.db.close());
    }
  };
}
