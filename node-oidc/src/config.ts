// node-oidc's environment, read once at start. A missing or invalid variable stops the process with a
// message naming it (and never its value).
import { fileURLToPath } from 'node:url';

export interface VaultConfig {
  addr: string;
  token: string;
  mount: string;
  namespace?: string;
}

export interface NodeOidcConfig {
  port: number;
  host: string;
  databaseUrl: string;
  databasePoolMax: number;
  /** The public issuer, through the Worker: `https://host/oidc`. */
  issuer: string;
  /** Shared with the Worker; guards /internal/*. */
  internalToken: string;
  /** Audience (`aud`) of agent access tokens: the default resource indicator. */
  audience: string;
  accessTokenTtlSeconds: number;
  jwksJson?: string;
  keysFile: string;
  production: boolean;
  vault?: VaultConfig;
  /** Agent-to-agent delegation (delegation.ts): A2A_ENABLED, DELEGATION_*. */
  delegation: { enabled: boolean; maxDepth: number; defaultTtlSeconds: number; maxTtlSeconds: number };
}

/** `.data/` at the repository root (git-ignored), beside the dev stack's other local state. */
const DEFAULT_KEYS_FILE = fileURLToPath(new URL('../../.data/oidc-keys.json', import.meta.url).href);

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

function str(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = str(env, name);
  if (!v) throw new ConfigError(`${name} is required`);
  return v;
}

/** Parses node-oidc's environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): NodeOidcConfig {
  const issuer = required(env, 'OIDC_ISSUER').replace(/\/+$/, '');
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw new ConfigError('OIDC_ISSUER must be an absolute URL (e.g. https://idp.example.com/oidc)');
  }
  if (issuerUrl.search || issuerUrl.hash) throw new ConfigError('OIDC_ISSUER must not have a query or fragment');
  const internalToken = required(env, 'INTERNAL_TOKEN');
  if (internalToken.length < 16) throw new ConfigError('INTERNAL_TOKEN must be at least 16 characters');

  const vaultAddr = str(env, 'VAULT_ADDR');
  let vault: VaultConfig | undefined;
  if (vaultAddr) {
    if (!/^https?:\/\//.test(vaultAddr)) throw new ConfigError('VAULT_ADDR must be an http(s) URL');
    vault = {
      addr: vaultAddr.replace(/\/+$/, ''),
      token: required(env, 'VAULT_TOKEN'),
      mount: (str(env, 'VAULT_MOUNT') ?? 'secret').replace(/^\/+|\/+$/g, ''),
      namespace: str(env, 'VAULT_NAMESPACE'),
    };
  }

  return {
    port: int(env, 'PORT', 8788, 0, 65535),
    host: str(env, 'HOST') ?? '127.0.0.1',
    databaseUrl: required(env, 'DATABASE_URL'),
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 5, 1, 100),
    issuer,
    internalToken,
    audience: str(env, 'OIDC_AUDIENCE') ?? issuerUrl.origin,
    accessTokenTtlSeconds: int(env, 'OIDC_ACCESS_TOKEN_TTL_SECONDS', 600, 30, 86_400),
    jwksJson: str(env, 'OIDC_JWKS'),
    keysFile: str(env, 'OIDC_KEYS_FILE') ?? DEFAULT_KEYS_FILE,
    production: env.NODE_ENV === 'production',
    vault,
    delegation: {
      enabled: !['false', '0', 'no', 'off'].includes((str(env, 'A2A_ENABLED') ?? 'true').toLowerCase()),
      maxDepth: int(env, 'DELEGATION_MAX_DEPTH', 3, 1, 10),
      defaultTtlSeconds: int(env, 'DELEGATION_DEFAULT_TTL_SECONDS', 300, 1, 86_400),
      maxTtlSeconds: int(env, 'DELEGATION_MAX_TTL_SECONDS', 3600, 1, 86_400),
    },
  };
}
