// Address ranges an outbound request to a tenant's or operator's URL must never reach, after the IANA
// special-purpose registries (IPv4 and IPv6). IPv6 is judged by allowing global unicast (2000::/3) only and
// refusing the special blocks inside it; addresses that embed an IPv4 address (IPv4-mapped, NAT64) are
// judged by that address.

type Bytes = Uint8Array;

/** `a.b.c.d` in decimal (the form the URL parser normalises every IPv4 host to); undefined otherwise. */
export function parseIpv4(host: string): Bytes | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

/** An IPv6 address without brackets (`::`, and a trailing dotted IPv4 part, allowed); undefined otherwise. */
export function parseIpv6(host: string): Bytes | undefined {
  let h = host.toLowerCase();
  if (h.includes('%')) return undefined; // zone ids never appear in URLs
  // A trailing dotted IPv4 part (`::ffff:127.0.0.1`) is two groups written differently.
  const dotted = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1];
  if (dotted) {
    const b = parseIpv4(dotted);
    if (!b) return undefined;
    h = `${h.slice(0, -dotted.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = h.split('::');
  if (halves.length > 2) return undefined;
  const group = (s: string) => (s === '' ? [] : s.split(':'));
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const explicit = head.length + rest.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const words = [...head, ...Array<string>(8 - explicit).fill('0'), ...rest].map((g) => parseInt(g, 16));
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

function inBlock(addr: Bytes, net: Bytes, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const bit = (b: Bytes) => (b[i >> 3]! >> (7 - (i & 7))) & 1;
    if (bit(addr) !== bit(net)) return false;
  }
  return true;
}

type Block = { cidr: string; net: Bytes; bits: number; name: string };
const v4 = (cidr: string, name: string): Block => {
  const [ip, bits] = cidr.split('/');
  return { cidr, net: parseIpv4(ip!)!, bits: Number(bits), name: `${name} ${cidr}` };
};
const v6 = (cidr: string, name: string): Block => {
  const [ip, bits] = cidr.split('/');
  return { cidr, net: parseIpv6(ip!)!, bits: Number(bits), name: `${name} ${cidr}` };
};

const IPV4_REFUSED: Block[] = [
  v4('0.0.0.0/8', '"this network"'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared address space (CGNAT)'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local (cloud metadata)'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'IETF protocol assignments'),
  v4('192.0.2.0/24', 'documentation'),
  v4('192.88.99.0/24', '6to4 relay anycast'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved and broadcast'),
];

const GLOBAL_UNICAST = v6('2000::/3', 'global unicast');
const IPV4_MAPPED = v6('::ffff:0:0/96', 'IPv4-mapped');
const NAT64 = v6('64:ff9b::/96', 'NAT64');

const IPV6_REFUSED_IN_GLOBAL: Block[] = [
  v6('2001::/23', 'IETF protocol assignments (Teredo, benchmarking, ORCHID)'),
  v6('2001:db8::/32', 'documentation'),
  v6('2002::/16', '6to4'),
  v6('3fff::/20', 'documentation'),
];

/** Why an IPv4 address may not be reached (the range it is in), or undefined when it is public. */
export function ipv4Refusal(addr: Bytes): string | undefined {
  return IPV4_REFUSED.find((b) => inBlock(addr, b.net, b.bits))?.name;
}

/** Why an IPv6 address may not be reached, or undefined when it is public. */
export function ipv6Refusal(addr: Bytes): string | undefined {
  // The IPv4 address inside decides: NAT64 and IPv4-mapped forms reach it.
  for (const embedding of [IPV4_MAPPED, NAT64]) {
    if (inBlock(addr, embedding.net, embedding.bits)) {
      const inner = ipv4Refusal(addr.slice(12));
      return inner && `${embedding.name} of ${inner}`;
    }
  }
  // Loopback, unspecified, IPv4-compatible, discard-only 100::/64, unique local fc00::/7, link-local
  // fe80::/10, site-local fec0::/10, multicast, local-use NAT64 and anything unassigned lie outside.
  if (!inBlock(addr, GLOBAL_UNICAST.net, GLOBAL_UNICAST.bits)) return 'outside global unicast 2000::/3';
  return IPV6_REFUSED_IN_GLOBAL.find((b) => inBlock(addr, b.net, b.bits))?.name;
}

/**
 * The same ranges as CIDR blocks for a runtime's outbound network policy (workerd's `deny` list, next to
 * `allow = ["public"]`): workerd's "public" still lets through some of them (documentation ranges such as
 * 192.0.2.0/24), and only the runtime sees the address a host name resolves to. IPv6 outside 2000::/3 is
 * listed as the blocks that cover it, except ::ffff:0:0/96 and 64:ff9b::/96, whose refused parts are listed
 * per embedded IPv4 range.
 */
export function runtimeDenyList(): string[] {
  const embedded = IPV4_REFUSED.flatMap((b) => {
    const ip = b.cidr.split('/')[0]!;
    return [`::ffff:${ip}/${96 + b.bits}`, `64:ff9b::${ip}/${96 + b.bits}`];
  });
  const outsideGlobal = [
    '::/96',
    '64:ff9b:1::/48',
    '100::/8',
    '200::/7',
    '400::/6',
    '800::/5',
    '1000::/4',
    '4000::/2',
    '8000::/1',
  ];
  return [
    ...IPV4_REFUSED.map((b) => b.cidr),
    ...embedded,
    ...outsideGlobal,
    ...IPV6_REFUSED_IN_GLOBAL.map((b) => b.cidr),
  ];
}
