// The provider's clients are the agents: client_id = agent id, client secret = any active credential of it.
//
// How secrets are checked, and why this way. oidc-provider authenticates client_secret_basic/_post by
// `Client.find(id)` (which asks the adapter for the client's metadata on every request and caches the built
// Client keyed by a hash of that metadata) followed by `client.compareClientSecret(secret)`, a constant-time
// comparison with the plaintext `client_secret` (lib/shared/client_auth.js, lib/models/client.js). We only
// hold SHA-256 hashes (credentials.secret_hash), and an agent may have several live credentials, so:
//  - `find` (below) reads the agent and the hashes of its live credentials in one query and returns them as
//    custom client metadata (`credential_hashes`, declared in extraClientMetadata). A suspended or
//    decommissioned agent, or one without a live credential, is "not found" → invalid_client. Because the
//    hashes are part of the metadata, revoking or expiring a credential changes the metadata hash, so the
//    provider's client cache can never serve a stale secret set.
//  - `Client.prototype.compareClientSecret` is replaced (installHashedSecretCheck) to hash the presented
//    secret and compare it with every live hash in constant time. This prototype method is the extension
//    point the maintainer points to for hashed secrets (panva/node-oidc-provider#631); the alternatives
//    were a middleware re-implementing client authentication, or decrypting secrets, which we cannot do.
//  - `find` answers only for the agent id the Worker counted for this request (COUNTED_CLIENT_HEADER, read
//    through `countedClient`), in its canonical spelling (shared/agent-id.ts). The Worker reserves one token
//    on the agent's tenant before forwarding; whatever client oidc-provider parses from the request, it
//    cannot authenticate one that was not counted, nor the same agent under another spelling of its id.
//  - The `client_secret` the schema requires for secret-based auth is a random per-process value that is
//    never compared. It would be the HMAC key of HS* algorithms, so those are disabled in configuration.ts
//    (enabledJWA, clientAuthMethods) and clients sign nothing with it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Adapter, AdapterPayload, Provider } from 'oidc-provider';
import type pg from 'pg';
import { isAgentId } from '../../shared/agent-id.ts';

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Never compared (see above); random so that it is not a known value either. */
const UNUSED_CLIENT_SECRET = randomBytes(32).toString('base64url');

/** Custom client metadata (extraClientMetadata.properties). */
export const CLIENT_EXTRA_PROPERTIES = ['organization_id', 'agent_scopes', 'credential_hashes'];

interface AgentRow {
  agent_id: string;
  organization_id: string;
  capabilities: unknown;
  hashes: string[];
}

/** The agent's capabilities that are valid scope tokens: the scopes it may be granted. */
export function allowedScopes(capabilities: unknown): string[] {
  if (!Array.isArray(capabilities)) return [];
  return [...new Set(capabilities.filter((c): c is string => typeof c === 'string' && SCOPE_TOKEN.test(c)))];
}

/** Client adapter over the agents and credentials tables (migrations/0001_init.sql). Read-only. */
export class AgentClients implements Adapter {
  readonly #pool: pg.Pool;
  readonly #grantTypes: string[];
  readonly #countedClient: () => string | undefined;

  /**
   * `grantTypes`: what every agent may use (client_credentials, plus token exchange when A2A is on).
   * `countedClient`: the agent id the Worker counted for the current request, if any.
   */
  constructor(pool: pg.Pool, countedClient: () => string | undefined, grantTypes: string[] = ['client_credentials']) {
    this.#pool = pool;
    this.#countedClient = countedClient;
    this.#grantTypes = grantTypes;
  }

  /**
   * The agent as client metadata, or undefined when it is not the client counted for this request, not in
   * its canonical spelling, unknown, not active, or has no live credential.
   */
  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!isAgentId(id) || id !== this.#countedClient()) return undefined;
    const { rows } = await this.#pool.query<AgentRow>(
      `SELECT a.agent_id, a.organization_id, a.capabilities,
              array_agg(c.secret_hash ORDER BY c.secret_hash) AS hashes
       FROM agents a
       JOIN credentials c ON c.agent_id = a.agent_id
        AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > now())
       WHERE a.agent_id = $1 AND a.status = 'active'
       GROUP BY a.agent_id`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    const scopes = allowedScopes(row.capabilities);
    return {
      client_id: id,
      client_secret: UNUSED_CLIENT_SECRET,
      grant_types: this.#grantTypes,
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      // Not the standard `scope` metadata: that one may only list the provider's static (OIDC) scopes.
      agent_scopes: scopes.join(' '),
      organization_id: row.organization_id,
      credential_hashes: row.hashes.filter((h) => SHA256_HEX.test(h)),
    };
  }

  // Clients are managed through the Worker's agent and credential API, never through the provider.
  async upsert(): Promise<void> {
    throw new Error('clients are read-only');
  }
  async findByUid(): Promise<undefined> {
    return undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async consume(): Promise<void> {
    throw new Error('clients are read-only');
  }
  async destroy(): Promise<void> {
    throw new Error('clients are read-only');
  }
  async revokeByGrantId(): Promise<void> {}
}

/** SHA-256 of the presented secret against each live hash, all compared (no early exit), in constant time. */
export function matchesAnyHash(secret: string, hashes: readonly string[]): boolean {
  const presented = createHash('sha256').update(secret, 'utf8').digest();
  let match = false;
  for (const hex of hashes) {
    const stored = Buffer.from(hex, 'hex');
    if (stored.length === presented.length && timingSafeEqual(stored, presented)) match = true;
  }
  return match;
}

/** Replaces the provider's plaintext secret comparison with the hash check (see the top of this file). */
export function installHashedSecretCheck(provider: Provider): void {
  const proto = provider.Client.prototype as unknown as {
    compareClientSecret(this: { credential_hashes?: unknown }, actual: string): Promise<boolean>;
  };
  proto.compareClientSecret = async function compareHashedClientSecret(actual) {
    const hashes = Array.isArray(this.credential_hashes) ? (this.credential_hashes as string[]) : [];
    return typeof actual === 'string' && matchesAnyHash(actual, hashes);
  };
}
