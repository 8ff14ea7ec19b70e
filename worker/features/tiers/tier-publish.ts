import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env.ts';
import { forgetOrganizationKeys } from '../../http/auth.ts';

/**
 * Once the request's transactions are over, and before its response goes out, drops this isolate's cached
 * API-key rows of every organization whose tier the request changed: whoever learns that the change is done
 * (Stripe, then the tenant) finds the next request limited by the new tier. Other isolates refresh within
 * API_KEY_CACHE_SECONDS.
 */
export function publishTierChanges(): MiddlewareHandler<AppEnv> {
  return async function publishTierChangesMiddleware(c, next) {
    try {
      await next();
    } finally {
      const changed = c.get('services')?.tier.takeChangedOrganizations() ?? [];
      if (changed.length > 0) forgetOrganizationKeys(changed);
    }
  };
}
