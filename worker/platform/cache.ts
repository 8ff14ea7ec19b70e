import { Redis } from '@upstash/redis/cloudflare';

/**
 * JSON cache on Upstash Redis. Caches can be dropped at any time: with no Redis configured every call is a
 * miss and writes do nothing, and a Redis failure is logged and treated as a miss.
 */
export class Cache {
  readonly #redis: Redis | undefined;
  readonly #prefix: string;

  /** `prefix` namespaces every key (CACHE_KEY_PREFIX), so environments or test runs can share one Redis. */
  constructor(url?: string, token?: string, prefix = '') {
    this.#prefix = prefix;
    this.#redis =
      url && token
        ? new Redis({ url, token, automaticDeserialization: false, retry: { retries: 1, backoff: () => 50 } })
        : undefined;
  }

  get enabled(): boolean {
    return this.#redis !== undefined;
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    if (!this.#redis) return undefined;
    try {
      const raw = await this.#redis.get<string>(this.#prefix + key);
      return raw == null ? undefined : (JSON.parse(raw) as T);
    } catch (err) {
      logCacheError('get', key, err);
      return undefined;
    }
  }

  async setJson(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    if (!this.#redis) return;
    try {
      await this.#redis.set(this.#prefix + key, JSON.stringify(value), { ex: ttlSeconds });
    } catch (err) {
      logCacheError('set', key, err);
    }
  }

  /**
   * setJson that reports the outcome: true when written; false when Redis is off, the write failed, or
   * (`ifAbsent`: SET NX) the key already existed.
   */
  async trySetJson(
    key: string,
    value: unknown,
    ttlSeconds: number,
    opts: { ifAbsent?: boolean } = {},
  ): Promise<boolean> {
    if (!this.#redis) return false;
    try {
      const json = JSON.stringify(value);
      const res = opts.ifAbsent
        ? await this.#redis.set(this.#prefix + key, json, { ex: ttlSeconds, nx: true })
        : await this.#redis.set(this.#prefix + key, json, { ex: ttlSeconds });
      return res !== null;
    } catch (err) {
      logCacheError('set', key, err);
      return false;
    }
  }

  /** SET NX with a TTL: writes only when the key is absent. Returns whether it wrote (false without Redis). */
  setJsonIfAbsent(key: string, value: unknown, ttlSeconds: number): Promise<boolean> {
    return this.trySetJson(key, value, ttlSeconds, { ifAbsent: true });
  }

  /** Deletes keys. Returns false when Redis was configured but the delete failed. */
  async del(...keys: string[]): Promise<boolean> {
    if (!this.#redis || keys.length === 0) return true;
    try {
      await this.#redis.del(...keys.map((k) => this.#prefix + k));
      return true;
    } catch (err) {
      logCacheError('del', keys.join(','), err);
      return false;
    }
  }

  /** Round trip for health checks: 'ok', 'disabled' or 'error'. */
  async ping(): Promise<'ok' | 'disabled' | 'error'> {
    if (!this.#redis) return 'disabled';
    try {
      await this.#redis.ping();
      return 'ok';
    } catch {
      return 'error';
    }
  }
}

function logCacheError(op: string, key: string, err: unknown): void {
  console.error(JSON.stringify({ level: 'warn', msg: 'cache error', op, key, error: String(err) }));
}
