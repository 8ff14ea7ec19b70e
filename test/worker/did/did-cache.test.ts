// The DID cache's invalidation rules, with an injected clock: a fill that raced an invalidation, or that
// took too long, must not put an old document back into isolate memory or Redis.
import { describe, expect, it } from 'vitest';
import { DID_CACHE_PREFIX, DidDocumentCache, MAX_FILL_MS } from '../../../worker/features/did/did-document-cache.ts';
import {
  activeDocument,
  type DidEntry,
  deactivatedDocument,
  sealEntry,
} from '../../../worker/features/did/did-documents.ts';
import type { DidRecord } from '../../../worker/features/did/did-record.ts';
import { TtlMemoryCache } from '../../../worker/features/did/ttl-memory-cache.ts';
import { Cache } from '../../../worker/platform/cache.ts';
import { bindings, redisEnabled } from '../../support/did.ts';

function setup() {
  const cache = new Cache(
    bindings.UPSTASH_REDIS_REST_URL,
    bindings.UPSTASH_REDIS_REST_TOKEN,
    bindings.CACHE_KEY_PREFIX,
  );
  const clock = {
    ms: Date.now(),
    now() {
      return new Date(this.ms);
    },
  };
  const memory = new TtlMemoryCache<DidRecord>(10);
  const docs = new DidDocumentCache(cache, clock, { redisTtlSeconds: 60, memoryTtlMs: 2_000 }, memory);
  const key = crypto.randomUUID();
  const did = `did:web:idp.test:agents:${key}`;
  const at = new Date(clock.ms).toISOString();
  const entry = (deactivated: boolean): Promise<DidEntry> =>
    sealEntry({
      did,
      document: deactivated ? deactivatedDocument(did) : activeDocument(did, []),
      metadata: { created: at, updated: at, deactivated },
      card: null,
    });
  const redis = () => cache.getJson<any>(DID_CACHE_PREFIX + key);
  return { cache, clock, memory, docs, key, did, entry, redis };
}

describe('DID cache invalidation', () => {
  it('serves from memory, then Redis, then the loader, and counts loads', async () => {
    const { docs, clock, key, did, entry, memory } = setup();
    let loads = 0;
    const load = async () => (loads++, entry(false));
    await docs.get(key, did, load);
    await docs.get(key, did, load);
    expect(loads).toBe(1);
    clock.ms += 2_000; // memory entry expired
    expect(memory.get(did, clock.ms)).toBeUndefined();
    await docs.get(key, did, load);
    expect(loads).toBe(redisEnabled ? 1 : 2);
  });

  it('refuses a fill that read the old row before an invalidation, in memory and in Redis', async () => {
    const { docs, clock, key, did, entry, memory, redis } = setup();
    const stale = await docs.get(key, did, async () => {
      const old = await entry(false);
      clock.ms += 1;
      await docs.invalidate(key, did); // the agent changed while this fill was reading
      return old;
    });
    expect(stale?.deactivated).toBe(false); // the request that raced gets what it read...
    clock.ms += 1;
    expect(memory.get(did, clock.ms)).toBeUndefined(); // ...but nobody else does
    if (redisEnabled) expect(await redis()).toEqual({ tombstone: expect.any(String) });
    else expect(await redis()).toBeUndefined();

    const fresh = await docs.get(key, did, () => entry(true));
    expect(fresh?.deactivated).toBe(true);
    clock.ms += 1;
    const again = await docs.get(key, did, async () => {
      throw new Error('should be served from memory');
    });
    expect(again?.deactivated).toBe(true);
    // The tombstone holds in Redis until it expires: no fill overwrote it.
    if (redisEnabled) expect(await redis()).toEqual({ tombstone: expect.any(String) });
  });

  it('does not write Redis from a fill that took longer than MAX_FILL_MS', async () => {
    const { docs, clock, key, did, entry, redis } = setup();
    await docs.get(key, did, async () => {
      clock.ms += MAX_FILL_MS + 1;
      return entry(false);
    });
    expect(await redis()).toBeUndefined();
    await docs.get(key, did, () => entry(false)); // memory still holds it (fresh as of the read)
    clock.ms += 2_001;
    await docs.get(key, did, () => entry(false));
    if (redisEnabled) expect((await redis())?.did).toBe(did);
  });

  it('does not cache what the loader cannot find', async () => {
    const { docs, key, did, redis } = setup();
    expect(await docs.get(key, did, async () => undefined)).toBeUndefined();
    expect(await redis()).toBeUndefined();
  });
});
