import type { Tenant } from '../../env.ts';
import type { Clock } from '../../platform/clock.ts';
import { toIsoOrNull } from '../../platform/clock.ts';
import { sha256Hex, timingSafeEqual } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { isTierName } from '../tiers/tiers.ts';
import { apiKeyId, apiKeyPrefix, newApiKey } from './api-key.ts';
import { type CachedApiKey, cachedApiKey, forgetApiKey, rememberApiKey } from './api-key-cache.ts';

export interface ApiKey {
  id: string;
  prefix: string;
  name: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  status: 'active' | 'revoked';
}

export interface CreatedApiKey {
  id: string;
  prefix: string;
  name: string | null;
  api_key: string;
  created_at: string;
}

/** Active keys one organization may hold: enough to rotate every integration, few enough to audit. */
export const MAX_ACTIVE_API_KEYS = 10;
/** `last_used_at` is written at most this often per key, so authentication stays read-only almost always. */
export const LAST_USED_PRECISION_MS = 60_000;
/** Keys listed at most (active first, then the most recently created revoked ones). */
const LIST_LIMIT = 100;

export interface ApiKeyOptions {
  /** API_KEY_CACHE_SECONDS: how long an isolate reuses a key row (0: never). */
  cacheSeconds: number;
  /** Runs the `last_used_at` write after the response. */
  waitUntil(p: Promise<unknown>): void;
}

interface KeyRow {
  key_id: string;
  name: string | null;
  created_at: string | Date;
  last_used_at: string | Date | null;
  revoked_at: string | Date | null;
}

const toApiKey = (r: KeyRow): ApiKey => ({
  id: r.key_id,
  prefix: apiKeyPrefix(r.key_id),
  name: r.name,
  created_at: toIsoOrNull(r.created_at)!,
  last_used_at: toIsoOrNull(r.last_used_at),
  revoked_at: toIsoOrNull(r.revoked_at),
  status: r.revoked_at ? 'revoked' : 'active',
});

/**
 * Tenant API keys: authentication of a presented key (with the isolate cache), and the keys' lifecycle:
 * list, create (the key is returned once), revoke. Only the SHA-256 of a key is stored. Every change is
 * audited (`api_key.created`, `api_key.revoked`) in the same transaction.
 */
export class ApiKeyService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly options: ApiKeyOptions,
  ) {}

  /**
   * The tenant a presented key authenticates, or undefined (unknown, revoked, malformed or wrong key). The
   * hash is compared in constant time even when no row matched. A revoked key may keep working for up to
   * API_KEY_CACHE_SECONDS in isolates that cached it before the revocation. Throws nothing of its own.
   */
  async authenticate(key: string): Promise<Tenant | undefined> {
    const keyId = apiKeyId(key);
    if (!keyId) return undefined;
    const now = this.clock.now().getTime();
    const ttlMs = this.options.cacheSeconds * 1000;
    let record = ttlMs > 0 ? cachedApiKey(keyId, now) : undefined;
    let lastUsed: number | null | undefined;
    if (!record) {
      const [row] = await this.db.query<
        Omit<CachedApiKey, 'until' | 'tier_version'> & {
          tier_version: string | number;
          last_used_at: string | Date | null;
        }
      >(
        `SELECT k.organization_id, k.key_hash, o.tier, o.tier_version, k.last_used_at FROM api_keys k
         JOIN organizations o USING (organization_id)
         WHERE k.key_id = $1 AND k.revoked_at IS NULL`,
        [keyId],
      );
      if (row) {
        record = {
          organization_id: row.organization_id,
          key_hash: row.key_hash,
          tier: row.tier,
          tier_version: Number(row.tier_version),
          until: now + ttlMs,
        };
        if (ttlMs > 0) rememberApiKey(keyId, record);
        lastUsed = row.last_used_at == null ? null : new Date(row.last_used_at).getTime();
      } else {
        forgetApiKey(keyId);
      }
    }
    const ok = await timingSafeEqual(await sha256Hex(key), record?.key_hash ?? '');
    if (!record || !ok) return undefined;
    if (lastUsed !== undefined && (lastUsed === null || now - lastUsed >= LAST_USED_PRECISION_MS))
      this.#touch(keyId, now);
    return {
      organizationId: record.organization_id,
      apiKeyId: keyId,
      tier: isTierName(record.tier) ? record.tier : 'free',
      tierVersion: record.tier_version,
    };
  }

  /** The organization's keys, active first, newest first; never a secret. Throws nothing of its own. */
  async list(organizationId: string): Promise<ApiKey[]> {
    const rows = await this.db.query<KeyRow>(
      `SELECT key_id, name, created_at, last_used_at, revoked_at FROM api_keys WHERE organization_id = $1
       ORDER BY (revoked_at IS NULL) DESC, created_at DESC, key_id DESC LIMIT $2`,
      [organizationId, LIST_LIMIT],
    );
    return rows.map(toApiKey);
  }

  /**
   * Creates a key and returns it (shown this once). Throws `api_key_limit_reached` (409) when the
   * organization already holds MAX_ACTIVE_API_KEYS active keys.
   */
  async create(organizationId: string, name: string | null, actor: string): Promise<CreatedApiKey> {
    const { keyId, key, hash } = await newApiKey();
    const now = this.clock.now().toISOString();
    await this.db.tx(async (q) => {
      await this.#lockOrganization(q, organizationId);
      const active = await this.#activeCount(q, organizationId);
      if (active >= MAX_ACTIVE_API_KEYS) {
        throw new AppError(
          'api_key_limit_reached',
          `An organization may hold ${MAX_ACTIVE_API_KEYS} active API keys; revoke one first`,
          {
            limit: MAX_ACTIVE_API_KEYS,
          },
        );
      }
      await q.query(
        'INSERT INTO api_keys (key_id, organization_id, key_hash, name, created_at) VALUES ($1, $2, $3, $4, $5)',
        [keyId, organizationId, hash, name, now],
      );
      await this.audit.append(q, organizationId, {
        event_type: 'api_key.created',
        actor,
        subject: keyId,
        payload: { name },
      });
    });
    return { id: keyId, prefix: apiKeyPrefix(keyId), name, api_key: key, created_at: now };
  }

  /**
   * Revokes a key (idempotent: an already revoked key changes nothing). It stops authenticating at once in
   * this isolate and within API_KEY_CACHE_SECONDS everywhere. Throws `not_found` (404) for an unknown or
   * another organization's key, `last_active_key` (409) when no active key would remain.
   */
  async revoke(organizationId: string, keyId: string, actor: string): Promise<void> {
    await this.db.tx(async (q) => {
      // Serialises revocations of one organization, so two concurrent ones cannot both pass the count.
      await this.#lockOrganization(q, organizationId);
      const [row] = await q.query<{ revoked_at: string | null }>(
        'SELECT revoked_at FROM api_keys WHERE key_id = $1 AND organization_id = $2',
        [keyId, organizationId],
      );
      if (!row) throw notFound('API key');
      if (row.revoked_at) return;
      if ((await this.#activeCount(q, organizationId)) <= 1) {
        throw new AppError(
          'last_active_key',
          'This is the organization\u2019s last active API key; create another one before revoking it',
        );
      }
      await q.query('UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1', [keyId, this.clock.now().toISOString()]);
      await this.audit.append(q, organizationId, { event_type: 'api_key.revoked', actor, subject: keyId });
    });
    forgetApiKey(keyId);
  }

  async #lockOrganization(q: Pick<Db, 'query'>, organizationId: string): Promise<void> {
    const [org] = await q.query('SELECT 1 FROM organizations WHERE organization_id = $1 FOR UPDATE', [organizationId]);
    if (!org) throw notFound('Organization');
  }

  async #activeCount(q: Pick<Db, 'query'>, organizationId: string): Promise<number> {
    const [row] = await q.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM api_keys WHERE organization_id = $1 AND revoked_at IS NULL',
      [organizationId],
    );
    return Number(row?.n ?? 0);
  }

  /** Records a use, at most once per LAST_USED_PRECISION_MS per key (the condition holds across isolates). */
  #touch(keyId: string, nowMs: number): void {
    const write = this.db
      .query(
        'UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1 AND (last_used_at IS NULL OR last_used_at < $3)',
        [keyId, new Date(nowMs).toISOString(), new Date(nowMs - LAST_USED_PRECISION_MS).toISOString()],
      )
      .catch((err: unknown) =>
        console.error(JSON.stringify({ level: 'warn', msg: 'api key last_used_at not written', error: String(err) })),
      );
    this.options.waitUntil(write);
  }
}
