// Signing in and out, and API failures shown as words: a refused key (401), the daily call limit (429 with
// Retry-After), server errors (5xx), and keyboard-only use.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiCall, createAgent, createTenant, exhaustDailyCalls, revokeApiKeys, waitUntil } from './support/api.ts';
import { type Browser, describeInBrowser, launchBrowser, screenshot } from './support/browser.ts';
import { alerts, goTo, openConsole, sessionEntries, signIn } from './support/console-page.ts';

let browser: Browser;

/** The text of the focused element (the page's CSP forbids string evaluation, so a function it is). */
const focused = (page: import('playwright-core').Page) =>
  page.evaluate(() => {
    const el = (globalThis as any).document.activeElement;
    return `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim()}`;
  });

describeInBrowser('console sessions and errors', () => {
  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('refuses a wrong key with a readable message and stores nothing', async () => {
    const page = await browser.newPage(1280);
    await openConsole(page);
    await page.getByLabel('API key').fill('aidp_this-is-not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toContain('Your API key was not accepted');
    expect(await alert.innerText()).not.toContain('{');
    expect(await sessionEntries(page)).toEqual([]);
    expect(await page.getByRole('navigation').count()).toBe(0);
    await page.close();
  });

  it('signs out: the key is gone from sessionStorage and a reload stays signed out', async () => {
    const t = await createTenant('signout');
    const page = await browser.newPage(1280);
    await signIn(page, t.api_key);
    expect(await sessionEntries(page)).toHaveLength(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out. The API key was removed from this tab.').waitFor();
    expect(await sessionEntries(page)).toEqual([]);
    expect(page.url()).not.toContain('#');
    await page.reload();
    await page.getByLabel('API key').waitFor();
    expect(await page.getByRole('navigation').count()).toBe(0);
    expect(await sessionEntries(page)).toEqual([]);
    await page.close();
  });

  it('shows a key revoked mid-session (401) as a message with a way to sign in again', async () => {
    const t = await createTenant('revoked');
    const page = await browser.newPage(1280);
    await signIn(page, t.api_key);
    await revokeApiKeys(t);
    // The Worker may trust a key row for a few seconds (API_KEY_CACHE_SECONDS; the setup sets 0): wait until
    // the API itself refuses the key, then look at the console.
    await waitUntil(
      'the revoked key to be refused',
      async () => (await apiCall('GET', '/v1/tier', t.api_key)).status === 401,
    );
    await goTo(page, 'Compliance');
    const alert = page.getByRole('alert').filter({ hasText: 'Your API key was not accepted' }).first();
    await alert.waitFor();
    await alert.getByRole('button', { name: 'Sign in again' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await sessionEntries(page)).toEqual([]);
    await page.close();
  });

  it('renders the daily call limit (429 with Retry-After) as a message with the wait', async () => {
    const t = await createTenant('limited');
    await createAgent(t, 'Night shift');
    const page = await browser.newPage(1280);
    await signIn(page, t.api_key);
    await exhaustDailyCalls(t, 10_000);
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/tier'));
    await goTo(page, 'Usage');
    const res = await answered;
    expect(res.status()).toBe(429);
    const retryAfter = Number(res.headers()['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    // Said once for the page, in words with the limit, the reset time and the wait; each panel notes it.
    const limit = page.getByRole('alert').filter({ hasText: 'Daily API call limit reached' });
    await limit.waitFor();
    await expect.poll(() => page.getByText('Not loaded: today’s API calls are used up.').count()).toBe(4);
    expect(await page.getByRole('alert').count()).toBe(1);
    const text = await limit.innerText();
    expect(text).toMatch(
      /Your organization has made all 10,000 API calls its tier allows today\. The limit resets at \d{4}-\d{2}-\d{2} 00:00 UTC\. Try again in \d+ (h|min|s)/,
    );
    expect(text).not.toMatch(/[{}]|rate_limited|T00:00:00/);
    await screenshot(page, 'console-429-1280');
    await page.setViewportSize({ width: 360, height: 800 });
    await screenshot(page, 'console-429-360');
    // The sign-in itself still works at the limit (the key is valid); the views explain the rest.
    const again = await browser.newPage(1280);
    await signIn(again, t.api_key);
    await again.getByRole('alert').filter({ hasText: 'Daily API call limit reached' }).waitFor();
    await again.close();
    await page.close();
  });

  it('renders server failures (5xx, even a non-JSON proxy page) as readable messages', async () => {
    const t = await createTenant('5xx');
    const page = await browser.newPage(1280);
    await signIn(page, t.api_key);
    // A gateway in front of the Worker answering HTML, and the Worker answering problem+json with Retry-After.
    await page.route('**/v1/compliance/report', (route) =>
      route.fulfill({
        status: 502,
        contentType: 'text/html',
        body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
      }),
    );
    await page.route('**/v1/audit/verify', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        headers: { 'retry-after': '120' },
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Service Unavailable',
          status: 503,
          code: 'unavailable',
          detail: 'The database is not reachable',
        }),
      }),
    );
    await goTo(page, 'Compliance');
    await expect.poll(async () => (await alerts(page)).length).toBe(2);
    const texts = (await alerts(page)).join('\n');
    expect(texts).toContain('The service could not answer (502)');
    expect(texts).toContain('The service could not answer (503)');
    expect(texts).toContain('The database is not reachable. Try again in 2 min.');
    expect(texts).not.toContain('<html>');
    expect(texts).not.toContain('{');
    await page.close();
  });

  it('works from the keyboard: skip link, navigation, range switch, dialog with Escape', async () => {
    const t = await createTenant('keyboard');
    const page = await browser.newPage(1280);
    await openConsole(page);
    // The key field has focus on arrival; Enter submits.
    await page.keyboard.type(t.api_key);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Agents' }).waitFor();
    expect(await focused(page)).toBe('h1:Agents');

    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Agents' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('a:Skip to content');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('a:AgentIdP');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('a:Agents');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('a:Usage');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Usage' }).waitFor();
    expect(await focused(page)).toBe('h1:Usage');
    await page.getByRole('button', { name: '7 days' }).waitFor();
    for (let i = 0; i < 10 && (await focused(page)) !== 'button:7 days'; i++) await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('button:7 days');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('button', { name: '7 days' }).getAttribute('aria-pressed')).toBe('true');

    await page.keyboard.press('Shift+Tab');
    for (let i = 0; i < 15 && (await focused(page)) !== 'a:Agents'; i++) await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Agents' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('button:Create agent');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Create an agent' }).waitFor();
    expect(await focused(page)).toBe('input:');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('button:Create agent');
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
