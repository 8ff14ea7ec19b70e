import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import { AppError } from '../lib/errors.ts';
import { UsageLimiterService } from '../services/usage-limiter.service.ts';

/**
 * Counts every tenant-authenticated request as one API call. Sets `RateLimit-*` headers on every counted
 * response; past the limit answers 429 `rate_limited` with `Retry-After` (seconds to the next UTC midnight).
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const { env, clock } = c.var.deps;
    const tenant = c.var.tenant;
    const limiter = new UsageLimiterService(env.TENANT_LIMITER, clock);
    const result = await limiter.countCall(tenant.organizationId, tenant.tier);
    const resetSeconds = Math.max(1, Math.ceil((Date.parse(result.reset_at) - clock.now().getTime()) / 1000));
    const headers: Record<string, string> = {};
    if (result.limit !== null) {
      headers['RateLimit-Limit'] = String(result.limit);
      headers['RateLimit-Remaining'] = String(result.remaining);
      headers['RateLimit-Reset'] = String(resetSeconds);
    }
    if (!result.allowed) {
      throw new AppError(
        429,
        'rate_limited',
        `Daily API call limit of ${result.limit} reached; it resets at ${result.reset_at}`,
        { reset_at: result.reset_at },
        { ...headers, 'Retry-After': String(resetSeconds) },
      );
    }
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  };
}
