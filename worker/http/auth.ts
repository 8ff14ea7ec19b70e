import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, TenantEnv } from '../env.ts';
import { unauthorized } from './errors.ts';
import { sha256Hex, timingSafeEqual } from '../platform/crypto.ts';
import { isTierName } from '../features/tiers/tiers.ts';
import { apiKeyId } from '../features/agents/organization.service.ts';

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

interface KeyRecord {
  organization_id: string;
  key_hash: string;
  tier: string;
  tier_version: string | number;
  until: number;
}

// Deliberately lossy isolate cache of API-key rows (key id → hash, organization, tier), bounded in size and
// lifetime (API_KEY_CACHE_SECONDS, default 10 s): it spares the tenant gate a Postgres round trip per request.
// The presented key is still hashed and compared in constant time on every request. The tier kept here may be
// older than a change made in another isolate, for up to the lifetime; the isolate that made the change
// forgets the organization's rows at once (forgetOrganizationKeys).
const KEY_CACHE_MAX = 10_000;
const keyCache = new Map<string, KeyRecord>();

/** Drops the cached API-key rows of these organizations (their tier changed, or a key was revoked). */
export function forgetOrganizationKeys(organizationIds: readonly string[]): void {
  const gone = new Set(organizationIds);
  for (const [keyId, row] of keyCache) if (gone.has(row.organization_id)) keyCache.delete(keyId);
}

async function findKey(c: Context<TenantEnv>, keyId: string): Promise<KeyRecord | undefined> {
  const ttlMs = c.var.deps.config.API_KEY_CACHE_SECONDS * 1000;
  const now = Date.now();
  const hit = ttlMs > 0 ? keyCache.get(keyId) : undefined;
  if (hit && hit.until > now) return hit;
  const [row] = await c.var.deps.db.query<Omit<KeyRecord, 'until'>>(
    `SELECT k.organization_id, k.key_hash, o.tier, o.tier_version FROM api_keys k
     JOIN organizations o USING (organization_id)
     WHERE k.key_id = $1 AND k.revoked_at IS NULL`,
    [keyId],
  );
  if (!row) {
    keyCache.delete(keyId);
    return undefined;
  }
  const record = { ...row, until: now + ttlMs };
  if (ttlMs > 0) {
    keyCache.delete(keyId);
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(keyId, record);
  }
  return record;
}

/**
 * Tenant routes: `Authorization: Bearer <api key>`. The key id selects the row; the SHA-256 of the whole
 * key is compared in constant time.
 */
export function tenantAuth(): MiddlewareHandler<TenantEnv> {
  return async function tenantAuthMiddleware(c, next) {
    const key = bearer(c.req.header('authorization'));
    const keyId = key ? apiKeyId(key) : undefined;
    if (!key || !keyId) throw unauthorized();
    const row = await findKey(c, keyId);
    const presented = await sha256Hex(key);
    // Compare even when no row matched, so a miss costs the same as a wrong key.
    const ok = await timingSafeEqual(presented, row?.key_hash ?? '');
    if (!row || !ok) throw unauthorized();
    c.set('tenant', {
      organizationId: row.organization_id,
      apiKeyId: keyId,
      tier: isTierName(row.tier) ? row.tier : 'free',
      tierVersion: Number(row.tier_version),
    });
    await next();
  };
}
