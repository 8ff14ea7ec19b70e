import type { MiddlewareHandler } from 'hono';
import type { TenantEnv } from '../../env.ts';
import { problem } from '../../http/errors.ts';
import type { QuotaDecision } from './quota-decision.ts';

/**
 * Counts every tenant-authenticated request as one API call against the tier's daily limit (a lease on the
 * tenant's TenantLimiter Durable Object, spent in this isolate: see UsageLimiterService). Sets
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds to the next UTC midnight) on every
 * counted response of a limited tier; past the limit answers 429 `rate_limited` with `Retry-After`: the
 * seconds to midnight, or, while other isolates still hold unspent quota, to the moment it comes back.
 * Unlimited tiers are counted (for `GET /v1/tier`) but carry no headers.
 *
 * Fails open: when the Durable Object cannot be reached the request proceeds uncounted and an error is
 * logged — a quota is not a security boundary, and an outage of the counter should not become an outage
 * of the API. `RATE_LIMIT_BYPASS=true` skips counting altogether; it exists for the limiter benchmark
 * (bench/limiter.bench.ts) and must never be set in production.
 */
export function rateLimit(): MiddlewareHandler<TenantEnv> {
  return async function rateLimitMiddleware(c, next) {
    const { config, clock } = c.var.deps;
    if (config.RATE_LIMIT_BYPASS) return next();
    const tenant = c.var.tenant;
    let result: QuotaDecision;
    try {
      result = await c.var.services.limiter.countCall(tenant.organizationId, tenant.tier);
    } catch (err) {
      console.error(
        JSON.stringify({
          level: 'error',
          msg: 'rate limiter unavailable; request not counted',
          request_id: c.get('requestId'),
          tenant: tenant.organizationId,
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        }),
      );
      return next();
    }
    const resetSeconds = Math.max(1, Math.ceil((Date.parse(result.reset_at) - clock.now().getTime()) / 1000));
    const headers: Record<string, string> = {};
    if (result.limit !== null) {
      headers['RateLimit-Limit'] = String(result.limit);
      headers['RateLimit-Remaining'] = String(result.remaining);
      headers['RateLimit-Reset'] = String(resetSeconds);
    }
    if (!result.allowed) {
      const nowMs = clock.now().getTime();
      const retryAfter =
        result.retry_at === null ? resetSeconds : Math.max(1, Math.ceil((result.retry_at - nowMs) / 1000));
      const detail =
        result.retry_at === null
          ? `Daily API call limit of ${result.limit} reached; it resets at ${result.reset_at}`
          : `Daily API call limit of ${result.limit} reached for now: the rest is held by other servers and comes back within ${retryAfter} s`;
      return problem(
        'rate_limited',
        detail,
        { limit: result.limit, reset_at: result.reset_at },
        { ...headers, 'Retry-After': String(retryAfter) },
      );
    }
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  };
}
