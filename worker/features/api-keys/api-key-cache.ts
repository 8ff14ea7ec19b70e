// Deliberately lossy isolate cache of API-key rows (key id → hash, organization, tier), bounded in size and
// lifetime (API_KEY_CACHE_SECONDS, default 10 s): it spares the tenant gate a Postgres round trip per request.
// The presented key is still hashed and compared in constant time on every request. What can be stale for up
// to the lifetime, in isolates other than the one that made the change: a revocation (the key keeps working
// there until its entry expires) and the organization's tier as seen by the rate limiter. The isolate that
// revokes a key or changes a tier forgets the rows at once (forgetApiKey, forgetOrganizationKeys).

export interface CachedApiKey {
  organization_id: string;
  key_hash: string;
  tier: string;
  /** `organizations.tier_version` read with `tier`. */
  tier_version: number;
  /** Expiry, in the injected clock's milliseconds. */
  until: number;
}

const MAX_ENTRIES = 10_000;
const entries = new Map<string, CachedApiKey>();

/** The entry for `keyId` if it is still fresh at `nowMs`. */
export function cachedApiKey(keyId: string, nowMs: number): CachedApiKey | undefined {
  const hit = entries.get(keyId);
  if (hit && hit.until > nowMs) return hit;
  if (hit) entries.delete(keyId);
  return undefined;
}

/** Remembers `record`; the oldest entry goes when the cache is full. */
export function rememberApiKey(keyId: string, record: CachedApiKey): void {
  entries.delete(keyId);
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.set(keyId, record);
}

/** Drops `keyId` (a revocation in this isolate takes effect on the next request). */
export function forgetApiKey(keyId: string): void {
  entries.delete(keyId);
}

/** Drops the cached rows of these organizations (their tier changed). */
export function forgetOrganizationKeys(organizationIds: readonly string[]): void {
  const gone = new Set(organizationIds);
  for (const [keyId, row] of entries) if (gone.has(row.organization_id)) entries.delete(keyId);
}
