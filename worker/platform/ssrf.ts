/**
 * Outbound URL policy for URLs that tenants or operators give us (webhook endpoints, partner JWKS):
 * `https://` on the default port, no userinfo, and a host that is neither an address in a private, loopback,
 * link-local, CGNAT, documentation, multicast, 6to4/Teredo/NAT64-of-private or otherwise special range
 * (ip-ranges.ts) nor a local-only name. Check at registration AND at dispatch time.
 * With `allowPrivate` (development only) `http://` and any host or port are accepted.
 *
 * A host name is judged by its spelling only: `127.0.0.1.nip.io` resolves to loopback and passes here. What
 * a name resolves to is for the runtime to refuse: on Cloudflare, outbound fetches from a Worker cannot
 * reach private addresses; a self-hosted workerd must give the Worker an outbound network service with
 * `allow = ["public"]` (README.md, "Security model").
 */
import { ipv4Refusal, ipv6Refusal, parseIpv4, parseIpv6 } from './ip-ranges.ts';

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa|lan|intranet|corp)$/i;

const refusedAddress = (range: string): UrlCheck => ({
  ok: false,
  reason: `must not point at a private or reserved address (${range})`,
});

/** Pure check of a URL against the outbound policy. */
export function checkOutboundUrl(raw: string, { allowPrivate = false }: { allowPrivate?: boolean } = {}): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (allowPrivate) {
    return url.protocol === 'https:' || url.protocol === 'http:'
      ? { ok: true, url }
      : { ok: false, reason: 'must be http(s)' };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: 'must use https://' };
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  if (url.port !== '') return { ok: false, reason: 'must use the default https port' };
  // The URL parser has normalised every IPv4 spelling (0x7f.1, 2130706433) to dotted decimal and IPv6 to
  // its compressed form in brackets.
  const host = url.hostname.replace(/\.$/, '');
  if (host.startsWith('[')) {
    const addr = parseIpv6(host.slice(1, -1));
    if (!addr) return { ok: false, reason: 'not a valid IPv6 address' };
    const range = ipv6Refusal(addr);
    return range ? refusedAddress(range) : { ok: true, url };
  }
  const v4 = parseIpv4(host);
  if (v4) {
    const range = ipv4Refusal(v4);
    return range ? refusedAddress(range) : { ok: true, url };
  }
  if (!host.includes('.') || LOCAL_NAMES.test(host)) return { ok: false, reason: 'must be a public host name' };
  return { ok: true, url };
}
