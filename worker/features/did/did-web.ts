/**
 * DID syntax (W3C DID Core 1.0 §3.1) and the did:web method's DID ↔ URL mapping (W3C CCG did:web,
 * "Read (Resolve)"). Pure functions; validators return a tagged result instead of throwing.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface ParsedDid {
  did: string;
  method: string;
  /** The method-specific id, as written (percent-encoding kept). */
  id: string;
}

export interface DidWeb {
  did: string;
  /** The domain as written in the DID, port encoded: `example.com%3A3000`. */
  domain: string;
  /** The host of the HTTPS URL, port decoded: `example.com:3000`. */
  host: string;
  /** Decoded path segments: `did:web:example.com:user:alice` → `['user', 'alice']`. */
  path: string[];
}

// method-name = 1*method-char (a-z 0-9); method-specific-id = *( *idchar ":" ) 1*idchar;
// idchar = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded.
const DID_RE = /^did:([a-z0-9]+):((?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}))$/;
const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const MAX_DID_LENGTH = 2048;

/** Checks DID syntax and splits a DID into method and method-specific id. */
export function parseDid(did: string): Parsed<ParsedDid> {
  if (did.length > MAX_DID_LENGTH) return { ok: false, reason: 'DID is too long' };
  const m = DID_RE.exec(did);
  if (!m) return { ok: false, reason: 'not a DID (expected did:<method>:<method-specific-id>)' };
  return { ok: true, value: { did, method: m[1]!, id: m[2]! } };
}

function parsePort(s: string): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Checks a did:web DID and maps its domain (with an optional `%3A<port>`) and path. */
export function parseDidWeb(did: string): Parsed<DidWeb> {
  const parsed = parseDid(did);
  if (!parsed.ok) return parsed;
  if (parsed.value.method !== 'web') return { ok: false, reason: `not a did:web DID (method ${parsed.value.method})` };
  const [domain = '', ...segments] = parsed.value.id.split(':');
  const portMatch = /^(.*)%3A(.*)$/i.exec(domain);
  const hostname = portMatch ? portMatch[1]! : domain;
  if (!HOST_RE.test(hostname)) return { ok: false, reason: 'the domain is not a host name' };
  if (portMatch && parsePort(portMatch[2]!) === undefined)
    return { ok: false, reason: 'the port is not a number 1-65535' };
  const path: string[] = [];
  for (const seg of segments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return { ok: false, reason: 'a path segment has invalid percent-encoding' };
    }
    // A segment maps to one URL path segment: no separators, no dot segments, no empty segments.
    if (decoded === '' || decoded === '.' || decoded === '..' || /[/\\?#]/.test(decoded)) {
      return { ok: false, reason: 'a path segment is empty or not a single URL path segment' };
    }
    path.push(decoded);
  }
  return {
    ok: true,
    value: { did, domain, host: portMatch ? `${hostname}:${portMatch[2]}` : hostname, path },
  };
}

// pchar = unreserved / pct-encoded / sub-delims / ":" / "@" (RFC 3986): left as is in a URL path.
const encodeUrlSegment = (s: string) =>
  encodeURIComponent(s).replace(/%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );

/** Percent-encodes everything but DID idchars (unreserved minus `~`). */
const encodeDidSegment = (s: string) =>
  Array.from(new TextEncoder().encode(s), (b) => {
    const ch = String.fromCharCode(b);
    return /[A-Za-z0-9._-]/.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');

/** The HTTPS URL of a did:web DID's document: `https://<host>/<path...>/did.json` or `/.well-known/did.json`. */
export function didWebToUrl(did: string): Parsed<string> {
  const parsed = parseDidWeb(did);
  if (!parsed.ok) return parsed;
  const { host, path } = parsed.value;
  const prefix = path.length ? `/${path.map(encodeUrlSegment).join('/')}` : '/.well-known';
  return { ok: true, value: `https://${host.toLowerCase()}${prefix}/did.json` };
}

/** The did:web DID whose document lives at `url` (the inverse of didWebToUrl). */
export function urlToDidWeb(url: string): Parsed<string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (u.protocol !== 'https:') return { ok: false, reason: 'did:web documents are served over https' };
  if (u.username || u.password || u.search || u.hash)
    return { ok: false, reason: 'no credentials, query or fragment allowed' };
  if (!u.pathname.endsWith('/did.json')) return { ok: false, reason: 'the path must end with /did.json' };
  const domain = u.port ? `${u.hostname}%3A${u.port}` : u.hostname;
  if (u.pathname === '/.well-known/did.json') return { ok: true, value: `did:web:${domain}` };
  const raw = u.pathname.slice(1, -'/did.json'.length).split('/');
  if (raw.some((s) => s === '')) return { ok: false, reason: 'empty path segment' };
  let segments: string[];
  try {
    segments = raw.map((s) => encodeDidSegment(decodeURIComponent(s)));
  } catch {
    return { ok: false, reason: 'invalid percent-encoding in the path' };
  }
  return { ok: true, value: `did:web:${[domain, ...segments].join(':')}` };
}

/** The did:web check after fetching: the document's `id` must equal the DID exactly (`%3A` included). */
export function documentIdMatches(did: string, document: unknown): boolean {
  return typeof document === 'object' && document !== null && (document as { id?: unknown }).id === did;
}

/**
 * Normalises DID_WEB_DOMAIN: `host`, `host%3Aport` or `host:port` (the colon is encoded, as did:web requires);
 * the host is lower-cased. A path is not supported. Returns undefined when the value is not of that form.
 */
export function normalizeDidWebDomain(value: string): string | undefined {
  const m = /^([^:%/]+)(?:(?::|%3A)(\d{1,5}))?$/i.exec(value.trim());
  if (!m || !HOST_RE.test(m[1]!)) return undefined;
  if (m[2] !== undefined && parsePort(m[2]) === undefined) return undefined;
  return m[2] !== undefined ? `${m[1]!.toLowerCase()}%3A${m[2]}` : m[1]!.toLowerCase();
}

/** `did:web:<domain>`: the instance's DID. */
export const instanceDid = (domain: string) => `did:web:${domain}`;

/** `did:web:<domain>:agents:<id>`: an agent's DID. */
export const agentDid = (domain: string, agentId: string) => `did:web:${domain}:agents:${agentId}`;

/** `https://<host>`: the origin that serves the documents of DIDs under `domain`. */
export const didWebOrigin = (domain: string) => `https://${domain.replace(/%3A/i, ':')}`;

export type LocalDid =
  | { kind: 'instance' }
  | { kind: 'agent'; agentId: string }
  | { kind: 'unknown' }
  | { kind: 'foreign' };

/**
 * Classifies a did:web DID relative to this instance's domain: the instance itself, one of its agents
 * (`agents:<id>`, the id not checked here), another path under this domain (`unknown`), or another domain.
 * The domain is compared case-insensitively (DNS names are).
 */
export function classifyDidWeb(parsed: DidWeb, ownDomain: string): LocalDid {
  if (parsed.domain.toLowerCase() !== ownDomain.toLowerCase()) return { kind: 'foreign' };
  if (parsed.path.length === 0) return { kind: 'instance' };
  if (parsed.path.length === 2 && parsed.path[0] === 'agents') return { kind: 'agent', agentId: parsed.path[1]! };
  return { kind: 'unknown' };
}
