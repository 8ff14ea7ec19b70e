import type { Api } from '../lib/api.ts';
import { h } from '../lib/dom.ts';
import { describeError } from '../lib/errors.ts';

/** What every view gets from the shell. */
export interface ViewContext {
  api: Api;
  /** Forgets the key and shows the sign-in page. */
  signOut(message?: string): void;
  /** Says something to screen readers (and shows it) in the shell's status line. */
  announce(message: string): void;
  /** Aborted when the user leaves the view: stop timers, observers and late renders. */
  signal: AbortSignal;
  /**
   * What a panel shows when its request failed: the readable message, or, for a failure of the whole
   * session (401, daily limit), a one-line note while the shell says it once at the top of the page.
   */
  failure(err: unknown): HTMLElement;
}

export type View = (ctx: ViewContext, main: HTMLElement) => Promise<void>;

/** An error from the API as a readable message box, with "Sign in again" on a 401. */
export function errorBox(err: unknown, ctx: Pick<ViewContext, 'signOut'>): HTMLElement {
  const m = describeError(err);
  return h(
    'div',
    { class: 'notice notice-error', role: 'alert' },
    h('p', { class: 'notice-title' }, m.title),
    h('p', {}, m.detail),
    m.fields.length ? h('ul', { class: 'field-errors' }, ...m.fields.map((f) => h('li', {}, f))) : null,
    m.signInAgain
      ? h('button', { type: 'button', class: 'button', onclick: () => ctx.signOut() }, 'Sign in again')
      : null,
  );
}

export const loading = (what: string) => h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`);

/** An empty state that says what to do next. */
export function emptyState(title: string, next: string, action?: HTMLElement): HTMLElement {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), h('p', {}, next), action ?? null);
}

export function card(title: string, ...children: Array<Node | null>): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

/** A status word with a colour class; the word itself carries the meaning (not the colour alone). */
export function badge(status: string, label = status): HTMLElement {
  return h('span', { class: `badge badge-${status.replace(/[^a-z_-]/gi, '')}` }, label);
}

/** Wide content (tables) scrolls sideways inside a focusable, labelled region on narrow screens. */
export function scrollRegion(label: string, content: HTMLElement): HTMLElement {
  return h('div', { class: 'scroll', role: 'region', 'aria-label': label, tabindex: 0 }, content);
}

/** Runs `load` and puts its result (or a readable error) into `slot`, unless the view was left meanwhile. */
export async function fill(
  slot: HTMLElement,
  ctx: ViewContext,
  what: string,
  load: () => Promise<Node>,
): Promise<void> {
  slot.replaceChildren(loading(what));
  try {
    const node = await load();
    if (!ctx.signal.aborted) slot.replaceChildren(node);
  } catch (err) {
    if (!ctx.signal.aborted) slot.replaceChildren(ctx.failure(err));
  }
}

/**
 * A table that becomes one labelled block per row on narrow screens (styles.css `.stack-table`). The
 * explicit roles keep it a table for assistive technology when CSS changes the cells' display.
 */
export function stackTable(
  caption: string,
  headers: string[],
  rows: Array<{ attrs?: Record<string, string>; cells: Array<Node | string> }>,
): HTMLElement {
  return h(
    'table',
    { class: 'data-table stack-table', role: 'table' },
    h('caption', { class: 'visually-hidden' }, caption),
    h(
      'thead',
      { role: 'rowgroup' },
      h('tr', { role: 'row' }, ...headers.map((c) => h('th', { scope: 'col', role: 'columnheader' }, c))),
    ),
    h(
      'tbody',
      { role: 'rowgroup' },
      ...rows.map((r) =>
        h(
          'tr',
          { role: 'row', ...r.attrs },
          ...r.cells.map((c, i) => h('td', { role: 'cell', 'data-label': headers[i] ?? '' }, c)),
        ),
      ),
    ),
  );
}
