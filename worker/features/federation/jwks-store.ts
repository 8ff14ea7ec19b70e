import type { Cache } from '../../platform/cache.ts';
import type { CachedPartner, IssuerMemory } from './issuer-memory.ts';
import { loadRemoteJwks } from './jwks-fetch.ts';
import { importJwks, type KeySet, type PublicJwk } from './key-policy.ts';

export interface JwksStoreOptions {
  /** FEDERATION_JWKS_CACHE_TTL_SECONDS: lifetime of a fetched key set, in Redis and in memory. */
  ttlSeconds: number;
  /** FEDERATION_JWKS_REFETCH_COOLDOWN_SECONDS: at most one fetch per issuer per window of this length. */
  cooldownSeconds: number;
  allowPrivateUrls: boolean;
  fetchTimeoutMs?: number;
}

/** Redis value under `federation:jwks:<issuer>`. */
interface StoredJwks {
  jwks_uri: string;
  fetched_at: number;
  keys: PublicJwk[];
}

type PartnerRef = Pick<CachedPartner, 'issuer' | 'jwksUri'>;

export const jwksCacheKey = (issuer: string) => `federation:jwks:${issuer}`;
const fetchLockKey = (issuer: string, window: number) => `federation:jwks-fetch:${issuer}:${window}`;

/**
 * A partner's verification keys, layered: isolate memory → Redis `federation:jwks:<issuer>` → the
 * partner's jwks_uri. Fetches are limited to one per issuer per cooldown window: per isolate in memory,
 * and across isolates by a Redis `SET NX` on the window's key, so tokens with random `kid`s cannot make us
 * hammer the partner. Cached sets are tagged with their jwks_uri and ignored once the partner's changes.
 */
export class JwksStore {
  readonly #cache: Cache;
  readonly #memory: IssuerMemory;
  readonly #opts: JwksStoreOptions;

  constructor(cache: Cache, memory: IssuerMemory, opts: JwksStoreOptions) {
    this.#cache = cache;
    this.#memory = memory;
    this.#opts = opts;
  }

  /** The current key set: memory, else Redis, else one (cooldown-limited) fetch. Undefined when none. */
  async current(partner: PartnerRef, nowMs: number): Promise<KeySet | undefined> {
    const mem = this.#memory.get(partner.issuer)?.keys;
    if (mem && mem.jwksUri === partner.jwksUri && nowMs < mem.fetchedAtMs + this.#opts.ttlSeconds * 1000)
      return mem.keySet;
    const stored = await this.#fromRedis(partner);
    if (stored) return stored;
    return this.#fetch(partner, nowMs, false);
  }

  /**
   * After a key miss (an unknown `kid`, a rotation): a newer set another isolate already stored in Redis
   * when it satisfies `wanted`, else one fetch if this cooldown window has not had one. Undefined when
   * nothing new could be had.
   */
  async refresh(
    partner: PartnerRef,
    nowMs: number,
    wanted: (ks: KeySet) => Promise<boolean>,
  ): Promise<KeySet | undefined> {
    const known = this.#memory.get(partner.issuer)?.keys?.fetchedAtMs ?? -Infinity;
    const stored = await this.#fromRedis(partner, known);
    if (stored && (await wanted(stored))) return stored;
    return this.#fetch(partner, nowMs, true);
  }

  /** Stores a key set just fetched and validated elsewhere (partner registration, jwks_uri change). */
  async prime(partner: PartnerRef, keySet: KeySet, nowMs: number): Promise<void> {
    this.#memory.setKeys(partner.issuer, { jwksUri: partner.jwksUri, keySet, fetchedAtMs: nowMs });
    const value: StoredJwks = { jwks_uri: partner.jwksUri, fetched_at: nowMs, keys: keySet.jwks };
    await this.#cache.setJson(jwksCacheKey(partner.issuer), value, this.#opts.ttlSeconds);
  }

  /** Drops an issuer's cached keys everywhere we can reach: Redis and this isolate. */
  async invalidate(issuer: string): Promise<void> {
    this.#memory.delete(issuer);
    await this.#cache.del(jwksCacheKey(issuer));
  }

  async #fromRedis(partner: PartnerRef, newerThanMs = -Infinity): Promise<KeySet | undefined> {
    const stored = await this.#cache.getJson<StoredJwks>(jwksCacheKey(partner.issuer));
    if (!stored || stored.jwks_uri !== partner.jwksUri || !(stored.fetched_at > newerThanMs)) return undefined;
    // Re-checked on the way in: the cache is not a place keys become trusted.
    const imported = await importJwks({ keys: stored.keys });
    if (!imported.ok) return undefined;
    this.#memory.setKeys(partner.issuer, {
      jwksUri: partner.jwksUri,
      keySet: imported.keySet,
      fetchedAtMs: stored.fetched_at,
    });
    return imported.keySet;
  }

  /**
   * One fetch per issuer per cooldown window in this isolate. A refetch after a key miss (`global`) also
   * takes the window's Redis lock, so across isolates there is one; a fill of missing keys does not, so
   * that verification keeps working (per isolate) while Redis is down.
   */
  async #fetch(partner: PartnerRef, nowMs: number, global: boolean): Promise<KeySet | undefined> {
    const window = Math.floor(nowMs / (this.#opts.cooldownSeconds * 1000));
    if (!this.#memory.claimFetchWindow(partner.issuer, window)) return undefined;
    if (global && this.#cache.enabled) {
      const first = await this.#cache.setJsonIfAbsent(
        fetchLockKey(partner.issuer, window),
        1,
        this.#opts.cooldownSeconds,
      );
      if (!first) return undefined;
    }
    const loaded = await loadRemoteJwks(partner.jwksUri, {
      allowPrivate: this.#opts.allowPrivateUrls,
      timeoutMs: this.#opts.fetchTimeoutMs,
    });
    if (!loaded.ok) {
      console.warn(
        JSON.stringify({
          level: 'warn',
          msg: 'federation jwks fetch failed',
          issuer: partner.issuer,
          reason: loaded.reason,
        }),
      );
      return undefined;
    }
    await this.prime(partner, loaded.keySet, nowMs);
    return loaded.keySet;
  }
}
