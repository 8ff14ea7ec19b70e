// Page-level steps shared by the browser tests.
import type { Page } from 'playwright-core';
import { origin } from './api.ts';

export async function openConsole(page: Page): Promise<void> {
  await page.goto(`${origin()}/console`);
}

/** Signs in through the form and waits for the agents view. */
export async function signIn(page: Page, apiKey: string): Promise<void> {
  await openConsole(page);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Agents' }).waitFor();
}

export async function goTo(page: Page, view: 'Agents' | 'Usage' | 'Compliance' | 'Webhooks'): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: view }).click();
  await page.getByRole('heading', { level: 1, name: view }).waitFor();
}

/** What the tab keeps in sessionStorage (the test checks the key is there, and gone after sign-out). */
export const sessionEntries = (page: Page) => page.evaluate<Array<[string, string]>>('Object.entries(sessionStorage)');

/** Text of every role=alert on the page. */
export const alerts = (page: Page) => page.getByRole('alert').allInnerTexts();

/** The document is no wider than the viewport (nothing forces sideways scrolling of the page). */
export const pageOverflows = (page: Page) =>
  page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');
