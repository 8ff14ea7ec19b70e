import { z } from 'zod';
import { normalizeDidWebDomain } from '../features/did/did-web.ts';

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? def : ['true', '1', 'yes', 'on'].includes(v)));

const int = (def: number, min = 0) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) {
        ctx.addIssue({ code: 'custom', message: `must be an integer ≥ ${min}` });
        return z.NEVER;
      }
      return n;
    });

/** Comma-separated whole seconds (`0,5,300`); the default when unset. */
const secondsList = (def: readonly number[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return [...def];
      const parts = v.split(',').map((p) => p.trim());
      const nums = parts.map(Number);
      if (parts.some((p) => p === '') || nums.some((n) => !Number.isInteger(n) || n < 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be comma-separated whole seconds ≥ 0' });
        return z.NEVER;
      }
      return nums;
    });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/**
 * Every variable and secret the Worker reads, parsed once per env object. README.md documents each one;
 * keep the two in step.
 */
export const configSchema = z.object({
  /**
   * `production` (the default, and what wrangler.toml sets for deployments) or `development` (npm start, the
   * tests, the benchmarks). Development-only switches are refused in production.
   */
  ENVIRONMENT: z.enum(['production', 'development']).default('production'),
  DATABASE_URL: z.string().min(1, 'is required'),
  NEON_WS_PROXY: optionalString,
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  API_KEY_CACHE_SECONDS: int(10, 0),
  /** `host` or `host%3Aport` (`host:port` is accepted and encoded); the did:web domain of every DID here. */
  DID_WEB_DOMAIN: z
    .string()
    .min(1, 'is required')
    .transform((v, ctx) => {
      const domain = normalizeDidWebDomain(v);
      if (domain === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a host name with an optional port: host, host%3A8787 or host:8787',
        });
        return z.NEVER;
      }
      return domain;
    }),
  ENCRYPTION_KEY: z.string().min(1, 'is required'),
  UPSTASH_REDIS_REST_URL: optionalString,
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  CACHE_KEY_PREFIX: z.string().optional().default(''),
  DID_DOCUMENT_CACHE_TTL_SECONDS: int(300, 1),
  /** Lifetime of a DID document in one isolate's memory; 0 turns that layer off. At most 5000 (a stale key is a security bug). */
  DID_MEMORY_CACHE_MS: int(2000, 0).pipe(z.number().max(5000, 'must be at most 5000')),
  /** validUntil − validFrom of agent identity credentials (GET /agents/{id}/credential). */
  AGENT_CREDENTIAL_VALIDITY_SECONDS: int(86_400, 60),
  /** Longest time a status list is served (by us, and by verifiers honouring Cache-Control) after it was built. */
  STATUS_LIST_CACHE_SECONDS: int(60, 1).pipe(z.number().max(3600, 'must be at most 3600')),
  FEDERATION_JWKS_CACHE_TTL_SECONDS: int(3600, 1),
  FEDERATION_CLOCK_SKEW_SECONDS: int(60, 0),
  /** Longest federated token accepted by /v1/federation/verify; longer ones fail with `token_too_large`. */
  FEDERATION_MAX_TOKEN_BYTES: int(16_384, 256),
  /** At most one fetch of a partner's JWKS per issuer per window of this length (unknown kids, rotation). */
  FEDERATION_JWKS_REFETCH_COOLDOWN_SECONDS: int(30, 1),
  /** How long an isolate trusts its copy of a partner row; bounds how late other isolates see a change. 0 = always read. */
  FEDERATION_PARTNER_CACHE_TTL_SECONDS: int(15, 0).pipe(z.number().max(300, 'must be at most 300')),
  OIDC_ORIGIN: optionalString,
  OIDC_ISSUER: optionalString,
  INTERNAL_TOKEN: optionalString,
  /**
   * Where new DID private keys and webhook signing secrets go: `local` (AES-256-GCM in Postgres) or `vault`
   * (HashiCorp Vault through node-oidc). Unset: `vault` when VAULT_ADDR is set, else `local`.
   */
  KEY_CUSTODY: z.enum(['local', 'vault']).optional(),
  /** Vault's address; node-oidc uses it (with VAULT_TOKEN, VAULT_MOUNT), the Worker only reads whether it is set. */
  VAULT_ADDR: optionalString,
  /** Production: how many node-oidc container instances requests are spread over (≤ max_instances in wrangler.toml). */
  OIDC_CONTAINER_INSTANCES: int(2, 1),
  A2A_ENABLED: bool(true),
  /** How long an isolate uses node-oidc's JWKS for /v1/delegations/verify before fetching it again. */
  DELEGATION_JWKS_CACHE_SECONDS: int(300, 1),
  /** An unknown `kid` refetches node-oidc's JWKS at most once per this window. */
  DELEGATION_JWKS_REFETCH_COOLDOWN_SECONDS: int(10, 0),
  ALLOW_PRIVATE_URLS: bool(false),
  /** Delay in seconds before each webhook delivery attempt; after the last one a delivery is dead-lettered. */
  WEBHOOK_RETRY_SCHEDULE: secondsList([0, 5, 300, 1800, 7200, 18000, 36000, 36000]),
  /** Time allowed for a webhook receiver to answer one attempt. */
  WEBHOOK_TIMEOUT_MS: int(15_000, 1),
  STRIPE_SECRET_KEY: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  STRIPE_PRICE_ID: optionalString,
  STRIPE_PRICE_ID_PRO: optionalString,
  STRIPE_PRICE_ID_ENTERPRISE: optionalString,
  STRIPE_SUCCESS_URL: optionalString,
  STRIPE_CANCEL_URL: optionalString,
  /** Development and tests only: an http(s) origin (no path) that replaces Stripe's API, e.g. a local stand-in. */
  STRIPE_API_BASE: optionalString.refine(
    (v) => {
      if (v === undefined) return true;
      try {
        const u = new URL(v);
        return (
          (u.protocol === 'http:' || u.protocol === 'https:') &&
          (u.pathname === '/' || u.pathname === '') &&
          !u.search &&
          !u.hash
        );
      } catch {
        return false;
      }
    },
    { message: 'must be an http(s) origin without a path, e.g. http://127.0.0.1:12111' },
  ),
  APP_BASE_URL: z.string().optional().default('http://localhost:3000'),
  LOG_REQUESTS: bool(true),
  /** Benchmarks only: skips the per-tenant daily call counter (bench/limiter.bench.ts). Refused in production. */
  RATE_LIMIT_BYPASS: bool(false),
  /**
   * Development only (refused in production): delays every call to a TenantLimiter object by this many ms, to
   * show what a far-away object costs (tests, benchmarks).
   */
  LIMITER_SIMULATED_RTT_MS: int(0, 0).pipe(z.number().max(10_000, 'must be at most 10000')),
  /**
   * How long an isolate may keep usage it has counted (unlimited tiers' calls and tokens, token analytics) and
   * an unused quota lease before writing or returning them; also the most a crash can lose. 0 writes and
   * returns everything at the end of each request.
   */
  USAGE_FLUSH_MS: int(2_000, 0).pipe(z.number().max(20_000, 'must be at most 20000')),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

// Config is immutable per env object, so a WeakMap keyed by it is a safe module-level cache.
const parsed = new WeakMap<object, Config>();

/** Switches that exist for tests and benchmarks; a production configuration that sets one is refused. */
const DEVELOPMENT_ONLY = ['LIMITER_SIMULATED_RTT_MS', 'RATE_LIMIT_BYPASS'] as const;

const refusedInProduction = (c: Config): string[] =>
  c.ENVIRONMENT !== 'production'
    ? []
    : DEVELOPMENT_ONLY.filter((name) => (name === 'RATE_LIMIT_BYPASS' ? c.RATE_LIMIT_BYPASS : c[name] > 0)).map(
        (name) => `${name} is development only (ENVIRONMENT is production)`,
      );

/** Parses the Worker's bindings; throws ConfigError naming every missing or invalid variable. */
export function loadConfig(env: object): Config {
  const hit = parsed.get(env);
  if (hit) return hit;
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const names = result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${names.join('; ')}`);
  }
  const refused = refusedInProduction(result.data);
  if (refused.length > 0) throw new ConfigError(`Invalid configuration: ${refused.join('; ')}`);
  parsed.set(env, result.data);
  return result.data;
}
