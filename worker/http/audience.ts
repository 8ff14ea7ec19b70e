import type { MiddlewareHandler } from 'hono';
import type { AppEnv, TenantEnv } from '../env.ts';
import { rateLimit } from '../features/tiers/rate-limit.ts';
import { adminAuth, tenantAuth } from './auth.ts';
import { adminSecurity, tenantSecurity } from './schemas.ts';

const authenticateTenant = tenantAuth();
const countCall = rateLimit();
const authenticateOperator = adminAuth();

/** Tenant routes: the API key names the organization, then the call is counted against its daily limit. */
const tenantGate: MiddlewareHandler<TenantEnv> = async function tenantGate(c, next) {
  let refused: Response | undefined;
  await authenticateTenant(c, async () => {
    const answer = await countCall(c, next);
    if (answer) refused = answer;
  });
  return refused;
};

/** Operator routes: `ADMIN_TOKEN`. Operator calls belong to no tenant and are not counted. */
const operatorGate: MiddlewareHandler<AppEnv> = async function operatorGate(c, next) {
  await authenticateOperator(c, next);
};

/**
 * Who may call a route is part of its contract: spread one of these into `createRoute`. The same object sets
 * the OpenAPI `security` and the middleware that enforces it, so the document and the gate cannot disagree,
 * and handlers of tenant routes see `c.var.tenant` typed as present. Routes without one are public.
 */
export const tenantAudience = { security: tenantSecurity, middleware: tenantGate };
export const operatorAudience = { security: adminSecurity, middleware: operatorGate };
