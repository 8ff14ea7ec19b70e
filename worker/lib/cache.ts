import { Redis } from '@upstash/redis/cloudflare';

/**
 * JSON cache on Upstash Redis. Caches can be dropped at any time: with no Redis configured every call is a
 * miss and writes do nothing, and a Redis failure is logged and treated as a miss.
 */
export class Cache {
  readonly #redis: Redis | undefined;

  constructor(url?: string, token?: string) {
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
      const raw = await this.#redis.get<string>(key);
      return raw == null ? undefined : (JSON.parse(raw) as T);
    } catch (err) {
      logCacheError('get', key, err);
      return undefined;
    }
  }

  async setJson(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    if (!this.#redis) return;
    try {
      await this.#redis.set(key, JSON.stringify(value), { ex: ttlSeconds });
    } catch (err) {
      logCacheError('set', key, err);
    }
  }

  /** Deletes keys. Returns false when Redis was configured but the delete failed. */
  async del(...keys: string[]): Promise<boolean> {
    if (!this.#redis || keys.length === 0) return true;
    try {
      await this.#redis.del(...keys);
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
