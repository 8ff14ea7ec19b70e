/**
 * Outbound URL policy for URLs that tenants or operators give us (webhook endpoints, partner JWKS):
 * `https://` on the default port, no userinfo, and a host that is neither a private, loopback, link-local,
 * CGNAT, multicast or metadata address nor a local-only name. Check at registration AND at dispatch time.
 * With `allowPrivate` (development only) `http://` and any host or port are accepted.
 */
export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa|lan|intranet|corp)$/i;

function ipv4Blocked(host: string): boolean {
  const parts = host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return false;
  const [a, b] = parts as [number, number, number, number];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments, 192.0.0.0/24 and 192.0.2.0/24
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51) ||
    (a === 203 && b === 0) ||
    a >= 224 // multicast, reserved, broadcast
  );
}

const isIpv4 = (host: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host);

function ipv6Blocked(host: string): boolean {
  const h = host.toLowerCase();
  if (h === '::' || h === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return ipv4Blocked(mapped[1]!);
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(h)) return true; // IPv4-mapped in hex form
  const first = parseInt(h.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast
    h.startsWith('64:ff9b:') || // NAT64 can reach IPv4 private space
    h.startsWith('2001:db8:') ||
    h.startsWith('::') // IPv4-compatible and other special forms
  );
}

/** Pure check of a URL against the outbound policy. */
export function checkOutboundUrl(raw: string, { allowPrivate = false }: { allowPrivate?: boolean } = {}): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (allowPrivate) {
    return url.protocol === 'https:' || url.protocol === 'http:' ? { ok: true, url } : { ok: false, reason: 'must be http(s)' };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: 'must use https://' };
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  if (url.port !== '') return { ok: false, reason: 'must use the default https port' };
  const host = url.hostname.replace(/\.$/, '');
  if (host.startsWith('[')) {
    return ipv6Blocked(host.slice(1, -1)) ? { ok: false, reason: 'must not point at a private or reserved address' } : { ok: true, url };
  }
  if (isIpv4(host)) {
    return ipv4Blocked(host) ? { ok: false, reason: 'must not point at a private or reserved address' } : { ok: true, url };
  }
  if (!host.includes('.') || LOCAL_NAMES.test(host)) return { ok: false, reason: 'must be a public host name' };
  return { ok: true, url };
}
