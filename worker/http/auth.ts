import type { MiddlewareHandler } from 'hono';
import type { AppEnv, TenantEnv } from '../env.ts';
import { timingSafeEqual } from '../platform/crypto.ts';
import { unauthorized } from './errors.ts';

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** Operator routes: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    const token = bearer(c.req.header('authorization'));
    if (!token || !(await timingSafeEqual(token, c.var.deps.config.ADMIN_TOKEN))) throw unauthorized();
    await next();
  };
}

/**
 * Tenant routes: `Authorization: Bearer <api key>`. The key id selects the row; the SHA-256 of the whole
 * key is compared in constant time (features/api-keys/api-key.service.ts).
 */
export function tenantAuth(): MiddlewareHandler<TenantEnv> {
  return async function tenantAuthMiddleware(c, next) {
    const key = bearer(c.req.header('authorization'));
    const tenant = key ? await c.var.services.apiKeys.authenticate(key) : undefined;
    if (!tenant) throw unauthorized();
    c.set('tenant', tenant);
    await next();
  };
}
