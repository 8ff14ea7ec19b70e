import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env.ts';

/**
 * Once the request's work is done (its transactions committed or rolled back), wakes the webhook dispatchers
 * of the subscriptions that got deliveries during the request. Runs after the response via waitUntil.
 */
export function kickWebhooks(): MiddlewareHandler<AppEnv> {
  return async function kickWebhooksMiddleware(c, next) {
    try {
      await next();
    } finally {
      const services = c.get('services');
      if (services) c.var.deps.waitUntil(services.events.kickAnnounced());
    }
  };
}
