// Helpers for the DID tests: a document validator, the request log line of a response, and the Worker's
// services built outside a request (to sign with an agent's custody-held key as the Worker would).
import { env } from 'cloudflare:workers';
import { calculateJwkThumbprint, importJWK } from 'jose';
import { expect, vi } from 'vitest';
import { createServices } from '../../worker/compose.ts';
import type { Bindings } from '../../worker/env.ts';
import { parseDid } from '../../worker/features/did/did-web.ts';
import { Cache } from '../../worker/platform/cache.ts';
import { systemClock } from '../../worker/platform/clock.ts';
import { loadConfig } from '../../worker/platform/config.ts';
import { Db } from '../../worker/platform/db.ts';

export const bindings = env as unknown as Bindings & Record<string, string>;
export const redisEnabled = Boolean(bindings.UPSTASH_REDIS_REST_URL);

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/**
 * Asserts what did:web requires of a DID document: `id` is the DID, every verification method's `id` is
 * `<did>#<fragment>` and its `controller` a well-formed DID (this one), the JWK is a public P-256 key with no
 * private member and the fragment is its RFC 7638 thumbprint, and authentication/assertionMethod reference
 * exactly the methods. Returns the methods.
 */
export async function expectValidDidDocument(doc: any, did: string, opts: { keys: number }) {
  expect(doc.id).toBe(did);
  expect(doc['@context']).toEqual(['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/suites/jws-2020/v1']);
  expect(doc.verificationMethod).toHaveLength(opts.keys);
  const ids: string[] = [];
  for (const vm of doc.verificationMethod) {
    expect(vm.type).toBe('JsonWebKey2020');
    expect(vm.controller).toBe(did);
    expect(parseDid(vm.controller).ok).toBe(true);
    expect(vm.id.startsWith(`${did}#`)).toBe(true);
    const fragment = vm.id.slice(did.length + 1);
    expect(fragment).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const jwk = vm.publicKeyJwk;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(jwk.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(jwk.y).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const m of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(m);
    expect(await calculateJwkThumbprint(jwk, 'sha256')).toBe(fragment);
    await importJWK(jwk, 'ES256'); // a usable public key
    ids.push(vm.id);
  }
  expect(doc.authentication).toEqual(ids);
  expect(doc.assertionMethod).toEqual(ids);
  return doc.verificationMethod as Array<{ id: string; publicKeyJwk: JsonWebKey }>;
}

export interface RequestLogLine {
  request_id: string;
  route: string;
  status: number;
  db_queries: number;
}

/**
 * Captures the Worker's request log lines (console.log, same isolate as the test) while `fn` runs, and
 * returns the line of each response by its `x-request-id`.
 */
export async function withRequestLog<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; lineFor(res: Response): RequestLogLine }> {
  const lines: RequestLogLine[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    if (typeof args[0] !== 'string') return;
    try {
      const parsed = JSON.parse(args[0]);
      if (parsed?.msg === 'request') lines.push(parsed);
    } catch {
      // not a JSON line
    }
  });
  try {
    const result = await fn();
    return {
      result,
      lineFor(res: Response) {
        const id = res.headers.get('x-request-id');
        const line = lines.find((l) => l.request_id === id);
        if (!line) throw new Error(`no request log line for request ${id}`);
        return line;
      },
    };
  } finally {
    spy.mockRestore();
  }
}

/** The Worker's services over the test bindings, outside any request; call `close()` when done. */
export function workerServices(overrides: Record<string, string> = {}) {
  const config = loadConfig({ ...bindings, ...overrides });
  const db = new Db(config.DATABASE_URL, config.NEON_WS_PROXY);
  const pending: Promise<unknown>[] = [];
  const services = createServices({
    config,
    db,
    cache: new Cache(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, config.CACHE_KEY_PREFIX),
    clock: systemClock,
    env: bindings,
    waitUntil: (p) => pending.push(p.catch(() => undefined)),
  });
  return {
    services,
    db,
    config,
    close: async () => {
      await Promise.all(pending);
      await db.close();
    },
  };
}
