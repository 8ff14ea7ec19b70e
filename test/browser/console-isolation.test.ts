// Tenant isolation through the console: with tenant B's key, nothing of tenant A shows up in any view or
// in any API response the console receives, and each tab keeps only its own key.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { apiCall, type CreatedAgent, createAgent, createTenant, seedAnalytics, type Tenant } from './support/api.ts';
import { type Browser, describeInBrowser, launchBrowser, screenshot } from './support/browser.ts';
import { goTo, openConsole, sessionEntries, signIn } from './support/console-page.ts';

let browser: Browser;
let a: Tenant;
let b: Tenant;
let aAgents: CreatedAgent[];
let aWebhookId: string;

describeInBrowser('console tenant isolation', () => {
  beforeAll(async () => {
    browser = await launchBrowser();
    [a, b] = [await createTenant('iso-a'), await createTenant('iso-b')];
    aAgents = [await createAgent(a, 'Tenant A payroll bot'), await createAgent(a, 'Tenant A support bot')];
    await seedAnalytics(
      a,
      aAgents.map((x) => x.agent_id),
    );
    const hook = await apiCall<{ id: string }>('POST', '/v1/webhooks', a.api_key, {
      name: 'Tenant A hook',
      url: `${inject('webhookReceiverUrl')}/hooks/console-iso-a`,
      events: ['agent.created'],
    });
    expect(hook.status).toBe(201);
    aWebhookId = hook.body.id;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows tenant B only its own (empty) data, and nothing of tenant A's", async () => {
    const secrets = [
      a.organization_id,
      a.api_key,
      a.name,
      aWebhookId,
      'Tenant A',
      ...aAgents.flatMap((x) => [x.agent_id, x.did]),
    ];
    const pageA = await browser.newPage(1280);
    await signIn(pageA, a.api_key);
    await pageA.locator('li.agent').first().waitFor();

    const page = await browser.newPage(1280);
    const bodies: string[] = [];
    page.on('response', async (r) => {
      if (new URL(r.url()).pathname.startsWith('/v1/')) bodies.push(await r.text().catch(() => ''));
    });
    await signIn(page, b.api_key);
    // Each tab holds only its own key.
    expect(await sessionEntries(page)).toEqual([['agentidp.console.apiKey', b.api_key]]);
    expect(await sessionEntries(pageA)).toEqual([['agentidp.console.apiKey', a.api_key]]);

    const seen: string[] = [];
    await page.getByText('No agents yet').waitFor();
    expect(await page.getByRole('button', { name: 'Create your first agent' }).count()).toBe(1);
    expect(await page.locator('li.agent').count()).toBe(0);
    seen.push(await page.content());
    await screenshot(page, 'console-empty-agents-1280');

    await goTo(page, 'Usage');
    await page.getByText('No tokens were issued in the last 30 days.').waitFor();
    await page.getByText('No agent activity in the last 30 days').waitFor();
    await page.getByText(/No tokens issued in \d{4}-\d{2} yet/).waitFor();
    expect(await page.getByRole('progressbar', { name: 'Agents' }).getAttribute('aria-valuetext')).toBe('0 of 10');
    seen.push(await page.content());

    await goTo(page, 'Compliance');
    await page.locator('.chain[data-verified="true"]').waitFor();
    await page.locator('.overall').waitFor();
    seen.push(await page.content());

    await goTo(page, 'Webhooks');
    await page.getByText('No webhook subscriptions yet').waitFor();
    seen.push(await page.content());
    await page.setViewportSize({ width: 360, height: 800 });
    await screenshot(page, 'console-empty-webhooks-360');

    expect(bodies.length).toBeGreaterThanOrEqual(8);
    for (const text of [...seen, ...bodies]) {
      for (const s of secrets) expect(text).not.toContain(s);
    }
    await page.close();
    await pageA.close();
  });

  it('starts a new tab signed out', async () => {
    const page = await browser.newPage(1280);
    await openConsole(page);
    await page.getByLabel('API key').waitFor();
    expect(await sessionEntries(page)).toEqual([]);
    await page.close();
  });
});
