import { createApi } from '../lib/api.ts';
import { h, replace } from '../lib/dom.ts';
import { describeError } from '../lib/errors.ts';
import { agentsView } from './agents.ts';
import { errorBox, type View, type ViewContext } from './common.ts';
import { complianceView } from './compliance.ts';
import { usageView } from './usage.ts';
import { webhooksView } from './webhooks.ts';

export const ROUTES: ReadonlyArray<{ path: string; label: string; view: View }> = [
  { path: 'agents', label: 'Agents', view: agentsView },
  { path: 'usage', label: 'Usage', view: usageView },
  { path: 'compliance', label: 'Compliance', view: complianceView },
  { path: 'webhooks', label: 'Webhooks', view: webhooksView },
];

/** Routes are `#/agents`, `#/usage`, ...; anything else (the skip link's `#main`) is not a route. */
export function routeOf(hash: string): string | undefined {
  const m = /^#\/([a-z]+)$/.exec(hash);
  return m && ROUTES.some((r) => r.path === m[1]) ? m[1] : undefined;
}

/** The signed-in layout: header with navigation and sign-out, a status line, and the current view. */
export function renderShell(
  root: HTMLElement,
  apiKey: string,
  signOut: (message?: string) => void,
): { show(path: string, focus: boolean): void } {
  const api = createApi(apiKey);
  const status = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  const links = ROUTES.map((r) => h('a', { href: `#/${r.path}`, class: 'nav-link', 'data-route': r.path }, r.label));
  // Failures of the whole session (a refused key, the daily call limit) are said once, here.
  const banner = h('div', { class: 'banner' });
  const main = h('main', { id: 'main', tabindex: -1 });
  const failure = (err: unknown): HTMLElement => {
    const m = describeError(err);
    if (!m.pageWide) return errorBox(err, { signOut });
    if (banner.dataset.title !== m.title) {
      banner.dataset.title = m.title;
      banner.replaceChildren(errorBox(err, { signOut }));
    }
    return h('p', { class: 'notice notice-muted' }, m.short);
  };
  replace(
    root,
    h(
      'header',
      { class: 'top' },
      h('a', { class: 'brand', href: '#/agents' }, 'AgentIdP'),
      h('nav', { 'aria-label': 'Console' }, h('ul', {}, ...links.map((a) => h('li', {}, a)))),
      h('button', { type: 'button', class: 'button button-secondary sign-out', onclick: () => signOut() }, 'Sign out'),
    ),
    status,
    banner,
    main,
  );
  let current: AbortController | undefined;
  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  const announce = (message: string) => {
    status.textContent = message;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => (status.textContent = ''), 8000);
  };
  return {
    show(path, focus) {
      const route = ROUTES.find((r) => r.path === path) ?? ROUTES[0]!;
      current?.abort();
      current = new AbortController();
      // A status message belongs to the view it was said in.
      if (focus) status.textContent = '';
      banner.replaceChildren();
      delete banner.dataset.title;
      for (const a of links) {
        if (a.dataset.route === route.path) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
      }
      document.title = `${route.label} · AgentIdP console`;
      const ctx: ViewContext = { api, signOut, announce, failure, signal: current.signal };
      // Panels catch their own request failures (fill); anything else still ends as a message, not silence.
      route.view(ctx, main).catch((err: unknown) => {
        if (!ctx.signal.aborted) main.append(failure(err));
      });
      // Move focus to the new view's heading so keyboard and screen-reader users start there.
      if (focus) main.querySelector<HTMLElement>('h1')?.focus();
    },
  };
}
