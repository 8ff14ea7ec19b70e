import { describe, expect, it } from 'vitest';
import { parseIpv6 } from '../../../worker/platform/ip-ranges.ts';
import { checkOutboundUrl } from '../../../worker/platform/ssrf.ts';

describe('checkOutboundUrl', () => {
  it.each([
    'https://example.com/hook',
    'https://hooks.example.co.uk/a?b=c',
    'https://8.8.8.8/',
    'https://[2606:4700::1111]/',
    'https://[2001:4860:4860::8888]/',
    // NAT64 and IPv4-mapped forms of a public address reach that public address.
    'https://[64:ff9b::8.8.8.8]/',
    'https://[::ffff:8.8.8.8]/',
    // Public neighbours of special /24s (192.0.0.0/24, 198.51.100.0/24, 203.0.113.0/24, 192.88.99.0/24).
    'https://192.0.1.1/',
    'https://198.51.0.1/',
    'https://203.0.0.1/',
    'https://192.88.98.1/',
  ])('accepts %s', (u) => {
    expect(checkOutboundUrl(u).ok).toBe(true);
  });

  it.each([
    ['http://example.com/', 'https'],
    ['https://user:pw@example.com/', 'credentials'],
    ['https://example.com:8443/', 'port'],
    ['https://localhost/', 'public host'],
    ['https://foo.localhost/', 'public host'],
    ['https://metadata.google.internal/', 'public host'],
    ['https://printer.local/', 'public host'],
    ['https://intranet/', 'public host'],
    ['https://127.0.0.1/', 'private'],
    ['https://2130706433/', 'private'],
    ['https://0x7f.0.0.1/', 'private'],
    ['https://10.0.0.1/', 'private'],
    ['https://172.16.5.4/', 'private'],
    ['https://192.168.1.1/', 'private'],
    ['https://169.254.169.254/latest/meta-data', 'private'],
    ['https://100.64.0.1/', 'private'],
    ['https://0.0.0.0/', 'private'],
    ['https://[::1]/', 'private'],
    ['https://[::ffff:127.0.0.1]/', 'private'],
    ['https://[fd00::1]/', 'private'],
    ['https://[fe80::1]/', 'private'],
    // Special ranges the first version let through.
    ['https://[2002:7f00:1::1]/', '6to4'],
    ['https://[2002:c0a8:101::1]/', '6to4'],
    ['https://[fec0::1]/', 'global unicast'],
    ['https://[100::1]/', 'global unicast'],
    ['https://192.88.99.1/', '6to4 relay'],
    // Addresses embedding a private IPv4 address: NAT64, IPv4-mapped (dotted or hex), IPv4-compatible.
    ['https://[64:ff9b::7f00:1]/', 'NAT64'],
    ['https://[64:ff9b::10.0.0.1]/', 'NAT64'],
    ['https://[64:ff9b::169.254.169.254]/', 'link-local'],
    ['https://[::ffff:10.0.0.1]/', 'IPv4-mapped'],
    ['https://[::ffff:a9fe:a9fe]/', 'link-local'],
    ['https://[::127.0.0.1]/', 'global unicast'],
    ['https://[64:ff9b:1::a00:1]/', 'global unicast'],
    // The rest of the IPv6 special-purpose registry.
    ['https://[2001::1]/', 'Teredo'],
    ['https://[2001:db8::1]/', 'documentation'],
    ['https://[3fff::1]/', 'documentation'],
    ['https://[ff02::1]/', 'global unicast'],
    ['https://[fc00::1]/', 'global unicast'],
    ['https://[5f00::1]/', 'global unicast'],
    ['https://[::]/', 'global unicast'],
    // IPv4 special-purpose ranges.
    ['https://192.0.0.8/', 'IETF'],
    ['https://192.0.2.1/', 'documentation'],
    ['https://198.18.0.1/', 'benchmarking'],
    ['https://198.51.100.7/', 'documentation'],
    ['https://203.0.113.9/', 'documentation'],
    ['https://224.0.0.1/', 'multicast'],
    ['https://240.0.0.1/', 'reserved'],
    ['https://255.255.255.255/', 'broadcast'],
    ['ftp://example.com/', 'https'],
    ['not a url', 'valid'],
  ])('refuses %s', (u, why) => {
    const r = checkOutboundUrl(u);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
  });

  it("judges names by their spelling only: what a name resolves to is the runtime network policy's to refuse", () => {
    // Resolves to 127.0.0.1; the outbound network (Cloudflare, or workerd with allow = ["public"]) refuses it.
    expect(checkOutboundUrl('https://127.0.0.1.nip.io/').ok).toBe(true);
  });

  it('parses every IPv6 spelling the URL parser can produce', () => {
    const hex = (h: string) => [...parseIpv6(h)!].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(hex('::')).toBe('0'.repeat(32));
    expect(hex('::1')).toBe(`${'0'.repeat(31)}1`);
    expect(hex('2001:db8::8:800:200c:417a')).toBe('20010db8000000000008080020 0c417a'.replace(' ', ''));
    expect(hex('::ffff:127.0.0.1')).toBe(`${'0'.repeat(20)}ffff7f000001`);
    expect(hex('64:ff9b::10.0.0.1')).toBe(`0064ff9b${'0'.repeat(16)}0a000001`);
    expect(hex('1:2:3:4:5:6:7:8')).toBe('00010002000300040005000600070008');
    for (const bad of [
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::1',
      '::1.2.3.256',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7',
    ]) {
      expect(parseIpv6(bad), bad).toBeUndefined();
    }
  });

  it('accepts local http URLs only with allowPrivate', () => {
    expect(checkOutboundUrl('http://127.0.0.1:9999/x', { allowPrivate: true }).ok).toBe(true);
    expect(checkOutboundUrl('http://127.0.0.1:9999/x').ok).toBe(false);
  });
});
