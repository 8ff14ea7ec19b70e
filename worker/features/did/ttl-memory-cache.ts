/**
 * A small map for isolate memory with a lifetime per entry, counted from the moment the value was known to
 * be fresh (not from when it was stored), and with invalidation marks: a value read before its key was
 * invalidated in this isolate is refused, so a fill racing an invalidation cannot put the old value back.
 * Bounded: past `maxEntries` the oldest entries go (Map keeps insertion order). Lossy by design.
 */
export class TtlMemoryCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #invalidated = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
  }

  get(key: string, nowMs: number): V | undefined {
    const hit = this.#entries.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= nowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /** Stores `value`, fresh as of `freshAtMs`, until `freshAtMs + ttlMs`; ignored if invalidated since. */
  set(key: string, value: V, freshAtMs: number, ttlMs: number): void {
    if (ttlMs <= 0) return;
    const invalidatedAt = this.#invalidated.get(key);
    if (invalidatedAt !== undefined && freshAtMs <= invalidatedAt) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: freshAtMs + ttlMs });
    evictOldest(this.#entries, this.#maxEntries);
  }

  /** Drops `key` and refuses values read at or before `nowMs`. */
  invalidate(key: string, nowMs: number): void {
    this.#entries.delete(key);
    this.#invalidated.delete(key);
    this.#invalidated.set(key, nowMs);
    evictOldest(this.#invalidated, this.#maxEntries);
  }

  clear(): void {
    this.#entries.clear();
    this.#invalidated.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

function evictOldest(map: Map<string, unknown>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value!);
}
