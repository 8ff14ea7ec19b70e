import { describe, expect, it } from 'vitest';
import { checkOutboundUrl } from '../../../worker/platform/ssrf.ts';

describe('checkOutboundUrl', () => {
  it.each([
    'https://example.com/hook',
    'https://hooks.example.co.uk/a?b=c',
    'https://8.8.8.8/',
    'https://[2606:4700::1111]/',
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
    ['ftp://example.com/', 'https'],
    ['not a url', 'valid'],
  ])('refuses %s', (u, why) => {
    const r = checkOutboundUrl(u);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
  });

  it('accepts local http URLs only with allowPrivate', () => {
    expect(checkOutboundUrl('http://127.0.0.1:9999/x', { allowPrivate: true }).ok).toBe(true);
    expect(checkOutboundUrl('http://127.0.0.1:9999/x').ok).toBe(false);
  });
});
