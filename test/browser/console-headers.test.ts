// How the console is served: Workers static assets with its _headers (CSP without 'unsafe-inline',
// X-Frame-Options DENY), next to the Worker, whose paths (and problem+json 404s) are untouched.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiCall, createTenant, origin } from './support/api.ts';
import { type Browser, describeInBrowser, launchBrowser } from './support/browser.ts';

const get = (path: string, init?: RequestInit) => fetch(`${origin()}${path}`, { redirect: 'manual', ...init });

function csp(res: Response): Map<string, string[]> {
  const header = res.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((p) => p[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

let browser: Browser;

describeInBrowser('console delivery', () => {
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('serves /console and its files with a strict CSP and X-Frame-Options: DENY', async () => {
    for (const [path, type] of [
      ['/console', 'text/html'],
      ['/console/app.js', 'javascript'],
      ['/console/app.css', 'text/css'],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toContain(type);
      const policy = csp(res);
      expect(policy.get('default-src')).toEqual(["'none'"]);
      expect(policy.get('script-src')).toEqual(["'self'"]);
      expect(policy.get('style-src')).toEqual(["'self'"]);
      expect(policy.get('connect-src')).toEqual(["'self'"]);
      expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
      expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      await res.arrayBuffer();
    }
  });

  it('has no inline script, style or event handler in its HTML', async () => {
    const html = await (await get('/console')).text();
    expect(html).toContain('<script type="module" src="/console/app.js"></script>');
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/console/app.js">']);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });

  it('redirects /console/ and /console.html to /console', async () => {
    for (const path of ['/console/', '/console.html']) {
      const res = await get(path);
      expect(res.status, path).toBe(307);
      expect(res.headers.get('location'), path).toBe('/console');
    }
  });

  it('leaves every other path to the Worker: API 404s and 401s stay problem+json without the console headers', async () => {
    const t = await createTenant('routing');
    const unknown = '00000000-0000-4000-8000-000000000000';
    const cases: Array<[string, number, Record<string, string>?]> = [
      ['/v1/agents', 401],
      [`/v1/agents/${unknown}`, 404, { authorization: `Bearer ${t.api_key}` }],
      [`/agents/${unknown}/did.json`, 404],
      ['/console/no-such-file', 404],
      ['/v1/console', 404],
      ['/nothing-here', 404],
      // The assets folder's control file is configuration, not content.
      ['/_headers', 404],
    ];
    for (const [path, status, headers] of cases) {
      const res = await get(path, { headers });
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toContain('application/problem+json');
      expect(res.headers.get('content-security-policy'), path).toBeNull();
      await res.arrayBuffer();
    }
    const did = await get('/.well-known/did.json');
    expect(did.status).toBe(200);
    expect(did.headers.get('content-type')).toContain('application/did+json');
    expect((await apiCall('GET', '/v1/tier', t.api_key)).status).toBe(200);
  });

  it('cannot be framed: Chromium refuses to show it in an iframe', async () => {
    const page = await browser.newPage(1280);
    await page.goto(`${origin()}/livez`);
    // A same-origin frame, even: frame-ancestors 'none' and X-Frame-Options DENY refuse every embedder.
    await page.setContent(`<iframe src="${origin()}/console" title="console"></iframe>`);
    await expect.poll(() => browser.problems.some((p) => /frame-ancestors|X-Frame-Options/i.test(p))).toBe(true);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(await frame?.locator('#app').count()).toBe(0);
    await page.close();
  });
});
