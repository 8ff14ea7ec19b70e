import type { Services } from './compose.ts';
import type { Cache } from './platform/cache.ts';
import type { Clock } from './platform/clock.ts';
import type { Config } from './platform/config.ts';
import type { Db } from './platform/db.ts';

/**
 * Secrets and optional variables are not in wrangler.toml, so `wrangler types` cannot see them; they are
 * all strings and are validated by `configSchema` (platform/config.ts).
 */
export type Bindings = Env & { [name: string]: unknown };

/** The authenticated tenant of a request. */
export interface Tenant {
  organizationId: string;
  /** Id of the API key that authenticated the request (recorded as the audit actor). */
  apiKeyId: string;
  /** The tier as read with the API key (possibly from the isolate's key cache). */
  tier: 'free' | 'pro' | 'enterprise';
  /** `organizations.tier_version` read with `tier`: lets the rate limiter tell an older view from a newer one. */
  tierVersion: number;
}

/** Per-request dependencies, built by the `deps` middleware from `c.env`. */
export interface Deps {
  config: Config;
  db: Db;
  cache: Cache;
  clock: Clock;
  env: Bindings;
  /** Keeps work alive after the response (analytics, cache fills, webhook kicks). */
  waitUntil(p: Promise<unknown>): void;
}

/** Every request: public, tenant and operator routes alike. */
export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    deps: Deps;
    services: Services;
    /** Set by the tenant gate; typed as present only in `TenantEnv`. */
    tenant?: Tenant;
  };
}

/** Routes behind the tenant gate (`tenantAudience`): the tenant is known. */
export interface TenantEnv {
  Bindings: Bindings;
  Variables: AppEnv['Variables'] & { tenant: Tenant };
}
