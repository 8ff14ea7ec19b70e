// did:web mapping functions against the published vectors (W3C CCG did:web spec, DIF web-did-resolver tests;
// ../shared/vectors/did-web-vectors/, copied to test/fixtures/did-web-vectors/), plus the pure helpers of the DID routes.
import { describe, expect, it } from 'vitest';
import {
  classifyDidWeb,
  didWebToUrl,
  documentIdMatches,
  normalizeDidWebDomain,
  parseDid,
  parseDidWeb,
  urlToDidWeb,
} from '../../../worker/features/did/did-web.ts';
import { negotiate } from '../../../worker/features/did/negotiate.ts';
import { ifNoneMatchHits } from '../../../worker/features/did/respond.ts';
import { TtlMemoryCache } from '../../../worker/features/did/ttl-memory-cache.ts';
import { ConfigError, loadConfig } from '../../../worker/platform/config.ts';
import vectors from '../../fixtures/did-web-vectors/did_web_vectors.json';
import { bindings } from '../../support/did.ts';

const value = <T>(r: { ok: true; value: T } | { ok: false; reason: string }): T => {
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r.value;
};

describe('did:web vectors: DID ↔ URL', () => {
  it.each(vectors.did_to_url.map((v) => [v.did, v.url] as const))('%s → %s', (did, url) => {
    expect(value(didWebToUrl(did))).toBe(url);
  });

  it.each(vectors.did_to_url.map((v) => [v.url, v.did] as const))('%s → %s', (url, did) => {
    expect(value(urlToDidWeb(url))).toBe(did);
  });

  it('encodes the port as %3A in the DID and decodes it in the URL', () => {
    const port = vectors.did_to_url.filter((v) => v.did.includes('%3A'));
    expect(port.length).toBeGreaterThanOrEqual(2);
    for (const v of port) {
      const parsed = value(parseDidWeb(v.did));
      expect(parsed.domain).toMatch(/%3A\d+$/);
      expect(parsed.host).toMatch(/:\d+$/);
      expect(new URL(value(didWebToUrl(v.did))).port).toBe(parsed.host.split(':')[1]);
    }
  });

  it('maps the web-did-resolver fetch cases to the URLs that resolver fetches', () => {
    const cases = vectors.web_did_resolver_cases.filter((c) => 'expected_fetch_url' in c);
    expect(cases.length).toBe(2);
    for (const c of cases)
      expect(value(didWebToUrl(c.did))).toBe((c as { expected_fetch_url: string }).expected_fetch_url);
  });

  it('accepts the specification example DIDs and its ABNF shape', () => {
    for (const did of vectors.spec_example_dids.dids) expect(parseDidWeb(did).ok).toBe(true);
  });
});

describe('did:web vectors: document id check', () => {
  const served = vectors.web_did_resolver_cases.find((c) => c.name === 'resolves document')!.served_document as {
    id: string;
  };

  it('accepts a document whose id equals the DID', () => {
    expect(documentIdMatches('did:web:example.com', served)).toBe(true);
    const long = JSON.parse(JSON.stringify(served).replace('did:web:example.com', 'did:web:example.com:user:alice'));
    expect(documentIdMatches('did:web:example.com:user:alice', long)).toBe(true);
  });

  it('rejects an id mismatch (the "did document id does not match" case)', () => {
    const c = vectors.web_did_resolver_cases.find((x) => x.name === 'fails if the did document id does not match')!;
    expect(c.expected?.['didResolutionMetadata.message_matches']).toMatch(/does not match/);
    expect(documentIdMatches(c.did, { ...served, id: 'did:web:wrong.com' })).toBe(false);
  });

  it('compares exactly: the encoded port is part of the id', () => {
    expect(documentIdMatches('did:web:localhost%3A8443', { id: 'did:web:localhost:8443' })).toBe(false);
    expect(documentIdMatches('did:web:localhost%3A8443', { id: 'did:web:localhost%3a8443' })).toBe(false);
    expect(documentIdMatches('did:web:localhost%3A8443', { id: 'did:web:localhost%3A8443' })).toBe(true);
    expect(documentIdMatches('did:web:example.com', null)).toBe(false);
    expect(documentIdMatches('did:web:example.com', 'did:web:example.com')).toBe(false);
  });

  it('the spec example documents carry their DID as id', () => {
    const [jwkDoc, ethDoc] = vectors.spec_example_did_documents;
    expect(documentIdMatches('did:web:example.com', jwkDoc!.parsed_after_removing_trailing_comma)).toBe(true);
    expect(documentIdMatches('did:web:example.com', ethDoc!.parsed)).toBe(true);
  });
});

describe('DID syntax', () => {
  it.each([
    'did:web:example.com',
    'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    'did:web:example.com%3A3000:user:alice',
    'did:example:a::b',
  ])('accepts %s', (did) => {
    expect(parseDid(did).ok).toBe(true);
  });

  it.each([
    '',
    'did',
    'did:',
    'did:web',
    'did:web:',
    'did:WEB:example.com',
    'DID:web:example.com',
    'did:web:example.com:',
    'did:web::$_222',
    'did:web:exa mple.com',
    'did:web:example.com%ZZ',
    `did:web:${'a'.repeat(3000)}`,
  ])('rejects %j', (did) => {
    expect(parseDid(did).ok).toBe(false);
  });

  it.each([
    ['did:key:z6Mk', 'not a did:web'],
    ['did:web:-bad-.com', 'host'],
    ['did:web:example.com%3A0', 'port'],
    ['did:web:example.com%3A99999', 'port'],
    ['did:web:example.com%3Aabc', 'port'],
    ['did:web:example.com:a%2Fb', 'segment'],
    ['did:web:example.com:..', 'segment'],
    ['did:web:example.com:a::b', 'segment'],
  ])('did:web rejects %s (%s)', (did, why) => {
    const r = parseDidWeb(did);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(new RegExp(why === 'not a did:web' ? 'did:web' : why));
  });

  it('urlToDidWeb rejects what is not a did:web document URL', () => {
    for (const url of [
      'http://example.com/.well-known/did.json',
      'https://example.com/did.jsonx',
      'https://example.com/a/did.json?x=1',
      'https://user@example.com/a/did.json',
      'https://example.com//did.json',
      'not a url',
    ]) {
      expect(urlToDidWeb(url).ok, url).toBe(false);
    }
  });
});

describe('DID_WEB_DOMAIN and local DIDs', () => {
  it('normalises the domain: port encoded, host lower-cased', () => {
    expect(normalizeDidWebDomain('idp.example.com')).toBe('idp.example.com');
    expect(normalizeDidWebDomain('IDP.Example.com')).toBe('idp.example.com');
    expect(normalizeDidWebDomain('localhost:8787')).toBe('localhost%3A8787');
    expect(normalizeDidWebDomain('localhost%3a8787')).toBe('localhost%3A8787');
    for (const bad of ['', 'https://x.com', 'x.com/path', 'x.com:0', 'x.com:70000', 'x.com:8787:1', 'a b']) {
      expect(normalizeDidWebDomain(bad), bad).toBeUndefined();
    }
  });

  it('is validated with the rest of the configuration', () => {
    expect(loadConfig({ ...bindings, DID_WEB_DOMAIN: 'Idp.Example.com:8443' }).DID_WEB_DOMAIN).toBe(
      'idp.example.com%3A8443',
    );
    expect(() => loadConfig({ ...bindings, DID_WEB_DOMAIN: 'https://idp.example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...bindings, DID_WEB_DOMAIN: 'https://idp.example.com' })).toThrow(/DID_WEB_DOMAIN/);
    expect(loadConfig({ ...bindings, DID_MEMORY_CACHE_MS: undefined }).DID_MEMORY_CACHE_MS).toBe(2000);
    expect(loadConfig({ ...bindings, DID_MEMORY_CACHE_MS: '0' }).DID_MEMORY_CACHE_MS).toBe(0);
    expect(() => loadConfig({ ...bindings, DID_MEMORY_CACHE_MS: '6000' })).toThrow(/DID_MEMORY_CACHE_MS/);
  });

  it('classifies DIDs of this domain and others', () => {
    const c = (did: string) => classifyDidWeb(value(parseDidWeb(did)), 'idp.test%3A8443');
    expect(c('did:web:idp.test%3A8443')).toEqual({ kind: 'instance' });
    expect(c('did:web:IDP.test%3a8443:agents:abc')).toEqual({ kind: 'agent', agentId: 'abc' });
    expect(c('did:web:idp.test%3A8443:agents')).toEqual({ kind: 'unknown' });
    expect(c('did:web:idp.test%3A8443:users:abc')).toEqual({ kind: 'unknown' });
    expect(c('did:web:idp.test')).toEqual({ kind: 'foreign' });
    expect(c('did:web:idp.test%3A8444:agents:abc')).toEqual({ kind: 'foreign' });
  });
});

describe('content negotiation for DID resolution', () => {
  const pick = (accept?: string) => negotiate(accept)?.contentType;

  it('defaults to the resolution result', () => {
    expect(pick(undefined)).toBe('application/did-resolution');
    expect(pick('')).toBe('application/did-resolution');
    expect(pick('*/*')).toBe('application/did-resolution');
    expect(pick('application/*')).toBe('application/did-resolution');
    expect(pick('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe('application/did-resolution');
  });

  it('serves the result or the document as asked', () => {
    expect(pick('application/did-resolution')).toBe('application/did-resolution');
    expect(pick('application/ld+json;profile="https://w3id.org/did-resolution"')).toBe(
      'application/ld+json;profile="https://w3id.org/did-resolution"',
    );
    expect(pick('application/ld+json; profile="https://w3id.org/did-resolution"; charset=utf-8')).toBeUndefined();
    expect(pick('application/did+json')).toBe('application/did+json');
    expect(pick('application/did')).toBe('application/did');
    expect(pick('application/did+ld+json')).toBe('application/did+ld+json');
    expect(pick('application/json')).toBe('application/json');
  });

  it('honours q values and specificity', () => {
    expect(pick('application/did-resolution;q=0.5, application/did+json')).toBe('application/did+json');
    expect(pick('application/did+json;q=0.1, */*;q=0.5')).toBe('application/did-resolution');
    expect(pick('application/did-resolution;q=0, application/*')).toBe(
      'application/ld+json;profile="https://w3id.org/did-resolution"',
    );
  });

  it('finds nothing for types it cannot serve', () => {
    expect(negotiate('text/html')).toBeUndefined();
    expect(negotiate('application/xml, text/plain')).toBeUndefined();
    expect(negotiate('application/ld+json;profile="https://example.com/other"')).toBeUndefined();
    expect(negotiate('*/*;q=0')).toBeUndefined();
  });
});

describe('If-None-Match', () => {
  it('matches strong and weak forms, lists and *', () => {
    expect(ifNoneMatchHits('"abc.did+json"', '"abc.did+json"')).toBe(true);
    expect(ifNoneMatchHits('W/"abc.did+json"', '"abc.did+json"')).toBe(true);
    expect(ifNoneMatchHits('"x", "abc.did+json"', '"abc.did+json"')).toBe(true);
    expect(ifNoneMatchHits('*', '"abc.did+json"')).toBe(true);
    expect(ifNoneMatchHits('"abc.did"', '"abc.did+json"')).toBe(false);
    expect(ifNoneMatchHits(undefined, '"abc.did+json"')).toBe(false);
  });
});

describe('isolate memory cache', () => {
  it('serves an entry for its lifetime counted from when it was fresh', () => {
    const m = new TtlMemoryCache<string>(10);
    m.set('a', 'v1', 1_000, 2_000);
    expect(m.get('a', 2_999)).toBe('v1');
    expect(m.get('a', 3_000)).toBeUndefined();
    m.set('b', 'v', 1_000, 0);
    expect(m.get('b', 1_000)).toBeUndefined();
  });

  it('refuses a value read before its key was invalidated', () => {
    const m = new TtlMemoryCache<string>(10);
    m.set('a', 'old', 1_000, 2_000);
    m.invalidate('a', 1_500);
    expect(m.get('a', 1_501)).toBeUndefined();
    m.set('a', 'old', 1_400, 2_000);
    m.set('a', 'old', 1_500, 2_000);
    expect(m.get('a', 1_600)).toBeUndefined();
    m.set('a', 'new', 1_501, 2_000);
    expect(m.get('a', 1_600)).toBe('new');
  });

  it('stays bounded', () => {
    const m = new TtlMemoryCache<number>(3);
    for (let i = 0; i < 10; i++) m.set(`k${i}`, i, 0, 10_000);
    expect(m.size).toBe(3);
    expect(m.get('k9', 1)).toBe(9);
    expect(m.get('k0', 1)).toBeUndefined();
    expect(() => new TtlMemoryCache(0)).toThrow(TypeError);
  });
});
