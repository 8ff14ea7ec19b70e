import type { Cache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import { MAX_FILL_MS, TOMBSTONE_TTL_SECONDS } from './did-document-cache.ts';
import type { TtlMemoryCache } from './ttl-memory-cache.ts';

/** What every cached artifact carries: its key (checked on read) and when its content was read from Postgres. */
export interface Artifact {
  v: 1;
  key: string;
  builtAt: number;
}

export interface ArtifactCacheOptions {
  /** Redis key prefix, e.g. `a2a:card:`; the artifact's own key follows it. */
  prefix: string;
  redisTtlSeconds: number;
  memoryTtlMs: number;
  /**
   * Longest time any layer may serve an artifact after it was built (Redis entries and memory entries both
   * expire by then, whatever invalidation reached them). Unset: bounded by the two TTLs alone.
   */
  maxAgeMs?: number;
}

type Tombstone = { tombstone: string };
const isTombstone = (v: unknown): v is Tombstone => typeof (v as Tombstone | null)?.tombstone === 'string';

/**
 * Read-through cache of signed artifacts (agent cards, credentials, status lists) with the DID document
 * cache's rules (did-document-cache.ts): isolate memory, then Redis, then the loader; a change invalidates
 * both layers (a tombstone in Redis, fills write with SET NX and not at all after MAX_FILL_MS), so a fill
 * racing a change cannot put the old artifact back. Each kind has its own memory map and Redis prefix, so
 * it never evicts DID documents.
 */
export class ArtifactCache<A extends Artifact> {
  constructor(
    private readonly cache: Cache,
    private readonly clock: Clock,
    private readonly memory: TtlMemoryCache<A>,
    private readonly options: ArtifactCacheOptions,
  ) {}

  /** The artifact under `key`; `load` builds it on a miss (undefined: nothing to cache, nothing cached). */
  async get(key: string, load: () => Promise<A | undefined>): Promise<A | undefined> {
    const askedAt = this.#now();
    const fullKey = this.options.prefix + key;
    const inMemory = this.memory.get(fullKey, askedAt);
    if (inMemory) return inMemory;

    const cached = await this.cache.getJson<unknown>(fullKey);
    if (this.#usable(cached, key, askedAt)) {
      this.#remember(fullKey, cached, askedAt);
      return cached;
    }

    const readAt = this.#now();
    const artifact = await load();
    if (!artifact) return undefined;
    this.#remember(fullKey, artifact, readAt);
    const ttl = this.#redisTtlSeconds(artifact);
    // Only into an empty slot: a tombstone or a newer fill stays (SET NX would refuse anyway).
    if (cached === undefined && ttl >= 1 && this.#now() - readAt < MAX_FILL_MS) {
      await this.cache.trySetJson(fullKey, artifact, ttl, { ifAbsent: true });
    }
    return artifact;
  }

  /** After a committed change: this isolate forgets `key` now, Redis holds a tombstone instead of it. */
  async invalidate(key: string): Promise<void> {
    const fullKey = this.options.prefix + key;
    this.memory.invalidate(fullKey, this.#now());
    if (!this.cache.enabled) return;
    const tombstone: Tombstone = { tombstone: this.clock.now().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.cache.trySetJson(fullKey, tombstone, TOMBSTONE_TTL_SECONDS)) return;
    }
    console.error(JSON.stringify({ level: 'error', msg: 'artifact cache invalidation failed', key: fullKey }));
  }

  #usable(value: unknown, key: string, nowMs: number): value is A {
    const a = value as Partial<Artifact> | null | undefined;
    if (!a || isTombstone(a) || a.v !== 1 || a.key !== key || typeof a.builtAt !== 'number') return false;
    return this.options.maxAgeMs === undefined || nowMs - a.builtAt < this.options.maxAgeMs;
  }

  /** Memory holds an entry for memoryTtlMs after it was known fresh, and never past its maximum age. */
  #remember(fullKey: string, artifact: A, freshAtMs: number): void {
    const { memoryTtlMs, maxAgeMs } = this.options;
    const ttl = maxAgeMs === undefined ? memoryTtlMs : Math.min(memoryTtlMs, artifact.builtAt + maxAgeMs - freshAtMs);
    this.memory.set(fullKey, artifact, freshAtMs, ttl);
  }

  #redisTtlSeconds(artifact: A): number {
    const { redisTtlSeconds, maxAgeMs } = this.options;
    if (maxAgeMs === undefined) return redisTtlSeconds;
    return Math.min(redisTtlSeconds, Math.floor((artifact.builtAt + maxAgeMs - this.#now()) / 1000));
  }

  #now(): number {
    return this.clock.now().getTime();
  }
}
