import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env.ts';

/**
 * Once the request's transactions are over, and before its response goes out, tells the rate limiter of
 * every tier change the request made (TierService.publishTierChanges): whoever learns that the change is
 * done — Stripe, then the tenant — finds the next request limited by the new tier.
 */
export function publishTierChanges(): MiddlewareHandler<AppEnv> {
  return async function publishTierChangesMiddleware(c, next) {
    try {
      await next();
    } finally {
      await c.get('services')?.tier.publishTierChanges();
    }
  };
}
