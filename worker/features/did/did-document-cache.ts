import type { Cache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import { type DidEntry, isEntryFor } from './did-documents.ts';
import { DidRecord } from './did-record.ts';
import { TtlMemoryCache } from './ttl-memory-cache.ts';

/** Redis keys: `did:doc:<agent id>` and `did:doc:instance`. */
export const DID_CACHE_PREFIX = 'did:doc:';
/**
 * An invalidation leaves a tombstone for this long instead of deleting the key. Fills write with SET NX, so
 * no fill can overwrite a tombstone, and a fill whose Postgres read took longer than MAX_FILL_MS does not
 * write at all: a fill that read the old row before a commit therefore cannot put the old document back
 * after that commit's invalidation.
 */
export const TOMBSTONE_TTL_SECONDS = 10;
export const MAX_FILL_MS = 3_000;
const MEMORY_MAX_ENTRIES = 1_000;

/**
 * Isolate-memory layer, at module scope on purpose: it must outlive a request to be of use. Lossy and
 * bounded: at most MEMORY_MAX_ENTRIES records, each served for at most DID_MEMORY_CACHE_MS (≤ 5 s, default
 * 2 s) after the moment its content was read from Redis or Postgres. An invalidation in this isolate drops
 * its entry at once; other isolates see it when their entry expires.
 */
export const didMemoryCache = new TtlMemoryCache<DidRecord>(MEMORY_MAX_ENTRIES);

export interface DidCacheOptions {
  redisTtlSeconds: number;
  memoryTtlMs: number;
}

type Tombstone = { tombstone: string };
const isTombstone = (v: unknown): v is Tombstone => typeof (v as Tombstone | null)?.tombstone === 'string';

/** Read-through cache of DID entries: isolate memory, then Redis, then the loader (Postgres). */
export class DidDocumentCache {
  constructor(
    private readonly cache: Cache,
    private readonly clock: Clock,
    private readonly options: DidCacheOptions,
    private readonly memory: TtlMemoryCache<DidRecord> = didMemoryCache,
  ) {}

  /**
   * The record of `did` (Redis key `did:doc:<key>`). A hit in memory or Redis runs no SQL; a miss calls
   * `load` and fills both layers. Undefined when `load` finds nothing (not cached: ids are not enumerable,
   * and a negative entry would hide a new agent).
   */
  async get(key: string, did: string, load: () => Promise<DidEntry | undefined>): Promise<DidRecord | undefined> {
    const { memoryTtlMs, redisTtlSeconds } = this.options;
    const askedAt = this.#now();
    const inMemory = this.memory.get(did, askedAt);
    if (inMemory) return inMemory;

    const redisKey = DID_CACHE_PREFIX + key;
    const cached = await this.cache.getJson<unknown>(redisKey);
    if (isEntryFor(cached, did)) {
      const record = new DidRecord(cached);
      this.memory.set(did, record, askedAt, memoryTtlMs);
      return record;
    }

    const readAt = this.#now();
    const entry = await load();
    if (!entry) return undefined;
    const record = new DidRecord(entry);
    this.memory.set(did, record, readAt, memoryTtlMs);
    if (!isTombstone(cached) && this.#now() - readAt < MAX_FILL_MS) {
      await this.cache.trySetJson(redisKey, entry, redisTtlSeconds, { ifAbsent: true });
    }
    return record;
  }

  /**
   * Makes every layer forget `did` now: this isolate's memory entry, and the Redis entry (replaced by a
   * tombstone; one retry, then an error log line, as the entry would otherwise live to its TTL).
   */
  async invalidate(key: string, did: string): Promise<void> {
    this.memory.invalidate(did, this.#now());
    if (!this.cache.enabled) return;
    const redisKey = DID_CACHE_PREFIX + key;
    const tombstone: Tombstone = { tombstone: this.clock.now().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.cache.trySetJson(redisKey, tombstone, TOMBSTONE_TTL_SECONDS)) return;
    }
    console.error(JSON.stringify({ level: 'error', msg: 'DID cache invalidation failed', key: redisKey }));
  }

  #now(): number {
    return this.clock.now().getTime();
  }
}
