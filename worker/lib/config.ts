import { z } from 'zod';

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

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/**
 * Every variable and secret the Worker reads, parsed once per env object. README.md documents each one;
 * keep the two in step.
 */
export const configSchema = z.object({
  DATABASE_URL: z.string().min(1, 'is required'),
  NEON_WS_PROXY: optionalString,
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  DID_WEB_DOMAIN: z.string().min(1, 'is required'),
  ENCRYPTION_KEY: z.string().min(1, 'is required'),
  UPSTASH_REDIS_REST_URL: optionalString,
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  DID_DOCUMENT_CACHE_TTL_SECONDS: int(300, 1),
  FEDERATION_JWKS_CACHE_TTL_SECONDS: int(3600, 1),
  FEDERATION_CLOCK_SKEW_SECONDS: int(60, 0),
  OIDC_ORIGIN: optionalString,
  OIDC_ISSUER: optionalString,
  INTERNAL_TOKEN: optionalString,
  A2A_ENABLED: bool(true),
  ALLOW_PRIVATE_URLS: bool(false),
  WEBHOOK_RETRY_SCHEDULE: optionalString,
  STRIPE_SECRET_KEY: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  STRIPE_PRICE_ID: optionalString,
  STRIPE_PRICE_ID_PRO: optionalString,
  STRIPE_PRICE_ID_ENTERPRISE: optionalString,
  STRIPE_SUCCESS_URL: optionalString,
  STRIPE_CANCEL_URL: optionalString,
  STRIPE_API_BASE: optionalString,
  APP_BASE_URL: z.string().optional().default('http://localhost:3000'),
  LOG_REQUESTS: bool(true),
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

/** Parses the Worker's bindings; throws ConfigError naming every missing or invalid variable. */
export function loadConfig(env: object): Config {
  const hit = parsed.get(env);
  if (hit) return hit;
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const names = result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${names.join('; ')}`);
  }
  parsed.set(env, result.data);
  return result.data;
}
