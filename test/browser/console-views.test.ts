// The console against the real Worker (deploy bundle + assets in workerd) in Chromium: sign in,
// seeded agents, trend and heatmap, range switch, create and decommission, compliance, webhooks, and a
// screenshot of every view at 360 px and 1280 px (test/screenshots/, git-ignored).

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  apiCall,
  type CreatedAgent,
  createAgent,
  createTenant,
  OFFICE_HOURS,
  origin,
  seedAnalytics,
  suiteNow,
  type Tenant,
  tamperAuditEvent,
  waitUntil,
} from './support/api.ts';
import { type Browser, describeInBrowser, launchBrowser, screenshot } from './support/browser.ts';
import { alerts, goTo, pageOverflows, sessionEntries, signIn } from './support/console-page.ts';

let browser: Browser;
let tenant: Tenant;
let seeded: CreatedAgent[];
let page: Page;
/** When this file started creating things (by the suite's clock, the Worker's). */
let startedAt: Date;
const requested: string[] = [];
const logged: string[] = [];

/** The UTC hours from `from` to `to`, both included. */
function utcHoursBetween(from: Date, to: Date): Set<number> {
  const hours = new Set<number>();
  for (
    let t = Math.floor(from.getTime() / 3_600_000);
    t <= Math.floor(to.getTime() / 3_600_000) && hours.size < 24;
    t++
  ) {
    hours.add(t % 24);
  }
  return hours;
}

/** The UTC date after `d`'s. */
const utcTomorrow = (d: Date) => new Date(d.getTime() + 86_400_000).toISOString().slice(0, 10);

/** Screenshots at desktop and phone width; at 360 px the page must not scroll sideways. */
async function shoot(name: string): Promise<void> {
  await screenshot(page, `console-${name}-1280`);
  await page.setViewportSize({ width: 360, height: 800 });
  // Let the chart follow its container (ResizeObserver) before the picture.
  // (A function, not a string: the console's CSP forbids eval, which string predicates need.)
  await page.waitForFunction(() => {
    const charts = [...(globalThis as any).document.querySelectorAll('.chart')] as any[];
    return charts.every((c) => !c.querySelector('.uplot') || c.querySelector('.uplot').offsetWidth <= c.clientWidth);
  });
  expect(await pageOverflows(page)).toBe(false);
  await screenshot(page, `console-${name}-360`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

describeInBrowser('tenant console', () => {
  beforeAll(async () => {
    browser = await launchBrowser();
    startedAt = suiteNow();
    tenant = await createTenant('views');
    // A subscription first, so creating the agents produces deliveries for the webhooks view.
    const hook = await apiCall('POST', '/v1/webhooks', tenant.api_key, {
      name: 'Ops alerts',
      url: `${inject('webhookReceiverUrl')}/hooks/console-views`,
      events: ['agent.created', 'agent.decommissioned'],
    });
    expect(hook.status).toBe(201);
    seeded = [await createAgent(tenant, 'Calendar helper'), await createAgent(tenant, 'Inbox triage')];
    await seedAnalytics(
      tenant,
      seeded.map((a) => a.agent_id),
    );
    // Wait (bounded) until both deliveries reached the receiver, so the view shows settled rows.
    await waitUntil('two delivered webhooks', async () => {
      const d = await apiCall<{ data: Array<{ status: string }> }>(
        'GET',
        `/v1/webhooks/${hook.body.id}/deliveries`,
        tenant.api_key,
      );
      return d.body.data.filter((x) => x.status === 'delivered').length === 2;
    });
    page = await browser.newPage(1280);
    page.setDefaultTimeout(20_000);
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => logged.push(m.text()));
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('signs in with the API key, keeps it in sessionStorage only, and lists the seeded agents with their DIDs', async () => {
    await page.goto(`${origin()}/console`);
    await page.getByLabel('API key').waitFor();
    await screenshot(page, 'console-sign-in-1280');
    await page.setViewportSize({ width: 360, height: 800 });
    await screenshot(page, 'console-sign-in-360');
    await page.setViewportSize({ width: 1280, height: 800 });

    await signIn(page, tenant.api_key);
    expect(await sessionEntries(page)).toEqual([['agentidp.console.apiKey', tenant.api_key]]);
    const items = page.locator('li.agent');
    await expect.poll(() => items.count()).toBe(2);
    for (const a of seeded) {
      const item = page.locator(`li.agent[data-agent-id="${a.agent_id}"]`);
      expect(await item.getByRole('heading').innerText()).toBe(a.owner);
      expect(await item.locator('.badge').innerText()).toBe('active');
      const link = item.getByRole('link', { name: a.did });
      expect(await link.getAttribute('href')).toBe(`/agents/${a.agent_id}/did.json`);
      // The link leads to the agent's public DID document.
      const doc = await fetch(new URL((await link.getAttribute('href'))!, origin()));
      expect(doc.status).toBe(200);
      expect(((await doc.json()) as { id: string }).id).toBe(a.did);
    }
    await shoot('agents');
  });

  it('shows the token trend and the activity heatmap, and switches the trend between 7, 30 and 90 days', async () => {
    const viewedAt = suiteNow();
    await goTo(page, 'Usage');
    const trend = page.locator('[data-days]').filter({ has: page.locator('.chart') });
    await expect.poll(() => trend.getAttribute('data-days')).toBe('30');
    expect(Number(await trend.getAttribute('data-total'))).toBeGreaterThan(0);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('.chart-summary').first().innerText()).toMatch(/tokens issued in the last 30 days/);
    // The chart's text alternative: the figure is labelled by that summary, and the numbers are a table.
    expect(await page.locator('.chart[role="img"]').getAttribute('aria-labelledby')).toBeTruthy();
    expect(await trend.locator('table.data-table tbody tr').count()).toBe(30);

    // Heatmap: a table with real headers; the seeded office hours are non-zero, and every other hour is
    // empty except those in which this file created its agents (recorded at the Worker's hour, any hour).
    const heat = page.getByRole('table', { name: /Agent activity by day of week and hour/ });
    const cells = await heat
      .locator('td[data-count]')
      .evaluateAll((tds) =>
        tds.map((td) => ({ hour: Number(td.getAttribute('data-hour')), count: Number(td.textContent) })),
      );
    expect(cells).toHaveLength(168);
    expect(cells.some((c) => c.hour === 9 && c.count > 0)).toBe(true);
    const busy = new Set([...OFFICE_HOURS, ...utcHoursBetween(startedAt, suiteNow())]);
    const quiet = cells.filter((c) => !busy.has(c.hour));
    expect(quiet.length).toBeGreaterThanOrEqual(7 * 18);
    expect(quiet.filter((c) => c.count !== 0)).toEqual([]);

    for (const days of [7, 90, 30]) {
      await trend.getByRole('button', { name: `${days} days` }).click();
      await expect.poll(() => trend.getAttribute('data-days')).toBe(String(days));
      expect(await trend.getByRole('button', { name: `${days} days` }).getAttribute('aria-pressed')).toBe('true');
      expect(await trend.locator('table.data-table tbody tr').count()).toBe(days);
      expect(await page.locator('.chart-summary').first().innerText()).toContain(`last ${days} days`);
      expect(Number(await trend.getAttribute('data-total'))).toBeGreaterThan(0);
    }

    // Per-agent usage this month and the tier's limits.
    const usage = page.getByRole('table', { name: /Tokens issued per agent/ });
    await usage.waitFor();
    expect((await usage.locator('tbody th').allInnerTexts()).sort()).toEqual(seeded.map((a) => a.owner).sort());
    expect(await page.locator('.tier-name').innerText()).toContain('Free');
    expect(await page.getByRole('progressbar', { name: 'Agents' }).getAttribute('aria-valuetext')).toBe('2 of 10');
    // The next UTC midnight by the suite's clock (TEST_NOW's, under npm run test:instants), counted down by a
    // browser on that same clock.
    const reset = /^Daily counters reset at (\d{4}-\d{2}-\d{2}) 00:00 UTC \(in [^)]+\)\.$/.exec(
      await page.getByText(/Daily counters reset at/).innerText(),
    );
    expect([utcTomorrow(viewedAt), utcTomorrow(suiteNow())]).toContain(reset?.[1]);
    await shoot('usage');
  });

  it('explains an upgrade that billing cannot serve here (503 billing_not_configured) in words', async () => {
    await page.getByRole('button', { name: 'Upgrade to Pro' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Billing is not available here' });
    await alert.waitFor();
    expect(await alert.innerText()).not.toContain('{');
  });

  it('creates an agent through the dialog and decommissions it after confirmation', async () => {
    await goTo(page, 'Agents');
    await page.getByRole('button', { name: 'Create agent' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create an agent' });
    await dialog.getByLabel('Name (owner)').fill('Expense checker');
    await dialog.getByLabel('Contact email').fill('expenses@example.com');
    await dialog.getByLabel('Capabilities').fill('read:receipts, write:reports');
    await screenshot(page, 'console-create-agent-1280');
    await dialog.getByRole('button', { name: 'Create agent' }).click();
    const created = page.locator('li.agent').filter({ has: page.getByRole('heading', { name: 'Expense checker' }) });
    await created.waitFor();
    expect(await page.locator('li.agent').count()).toBe(3);
    expect(await created.getByRole('link').innerText()).toMatch(/^did:web:console\.test:agents:/);
    expect(await page.getByRole('status').filter({ hasText: 'Expense checker was created' }).count()).toBe(1);
    const id = (await created.getAttribute('data-agent-id'))!;
    const viaApi = await apiCall<{ owner: string; capabilities: string[] }>('GET', `/v1/agents/${id}`, tenant.api_key);
    expect(viaApi.body).toMatchObject({ owner: 'Expense checker', capabilities: ['read:receipts', 'write:reports'] });

    // Escape on the confirmation leaves the agent alone.
    await created.getByRole('button', { name: 'Decommission' }).click();
    await page.getByRole('dialog', { name: 'Decommission Expense checker?' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect((await apiCall<{ status: string }>('GET', `/v1/agents/${id}`, tenant.api_key)).body.status).toBe('active');

    await created.getByRole('button', { name: 'Decommission' }).click();
    const confirm = page.getByRole('dialog', { name: 'Decommission Expense checker?' });
    await screenshot(page, 'console-decommission-1280');
    await confirm.getByRole('button', { name: 'Decommission' }).click();
    await expect.poll(() => page.locator(`li.agent[data-agent-id="${id}"] .badge`).innerText()).toBe('decommissioned');
    expect(
      await page.locator(`li.agent[data-agent-id="${id}"]`).getByRole('button', { name: 'Decommission' }).count(),
    ).toBe(0);
    const doc = (await (await fetch(`${origin()}/agents/${id}/did.json`)).json()) as {
      service?: Array<{ serviceEndpoint: string }>;
    };
    expect(doc.service?.some((s) => s.serviceEndpoint === 'decommissioned')).toBe(true);
  });

  it('shows the compliance report and the verified audit chain', async () => {
    await goTo(page, 'Compliance');
    await page.locator('.chain[data-verified="true"]').waitFor();
    expect(await page.locator('.chain').innerText()).toMatch(/Verified.*intact up to event \d+/s);
    const overall = page.locator('.overall');
    await overall.waitFor();
    expect(['pass', 'warn', 'fail']).toContain(await overall.getAttribute('data-status'));
    expect(await page.getByRole('heading', { level: 2, name: 'Agent identity' }).count()).toBe(1);
    expect(await page.getByRole('heading', { level: 2, name: 'Audit trail' }).count()).toBe(1);
    await shoot('compliance');
  });

  it('shows a broken audit chain with the event where it breaks', async () => {
    const t = await createTenant('tampered');
    await createAgent(t, 'Ledger bot');
    await createAgent(t, 'Report bot');
    await tamperAuditEvent(t, 2);
    const other = await browser.newPage(1280);
    await signIn(other, t.api_key);
    await goTo(other, 'Compliance');
    const broken = other.locator('.chain[data-verified="false"]');
    await broken.waitFor();
    expect(await broken.getAttribute('role')).toBe('alert');
    expect(await broken.innerText()).toMatch(/Broken\s+The audit chain breaks at event 2 \(hash mismatch\)/);
    await other.close();
  });

  it('shows the webhook subscription and its recent deliveries with status and attempts', async () => {
    await goTo(page, 'Webhooks');
    const sub = page.locator('section.webhook').filter({ has: page.getByRole('heading', { name: 'Ops alerts' }) });
    await sub.waitFor();
    expect(await sub.locator('.badge').first().innerText()).toBe('Active');
    const rows = sub.locator('tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2);
    // Event, status in words, HTTP status, attempts. The two seeded agents' deliveries are settled; the
    // agent created and decommissioned above may still be on their way.
    const cells = await rows.evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].slice(0, 4).map((td) => td.textContent)),
    );
    expect(cells.filter((c) => c.join('|') === 'agent.created|Delivered|200|1').length).toBeGreaterThanOrEqual(2);
    for (const [event, status, http, attempts] of cells) {
      expect(['agent.created', 'agent.decommissioned']).toContain(event);
      expect(['Pending', 'Delivered', 'Failed, will retry', 'Gave up']).toContain(status);
      expect(http).toMatch(/^(\d{3}|—)$/);
      expect(attempts).toMatch(/^\d+$/);
    }
    await shoot('webhooks');
  });

  it('never put the key in a URL or a log line and met no CSP violation or script error', async () => {
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((u) => u.includes(tenant.api_key))).toEqual([]);
    expect(logged.filter((l) => l.includes(tenant.api_key))).toEqual([]);
    expect(page.url()).not.toContain(tenant.api_key);
    expect(browser.problems).toEqual([]);
    expect(await alerts(page)).toEqual([]);
  });
});
