import { ApiError, createApi } from '../lib/api.ts';
import { h, replace } from '../lib/dom.ts';
import { saveApiKey } from '../lib/session.ts';
import { errorBox } from './common.ts';

/**
 * The sign-in page. The key input has no `name` and the form posts nowhere (the CSP's form-action is
 * 'none'), so the key can only leave through the script: to sessionStorage and the Authorization header.
 */
export function renderSignIn(root: HTMLElement, onSignedIn: () => void, message?: string): void {
  const input = h('input', {
    id: 'api-key',
    type: 'password',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    'aria-describedby': 'api-key-hint',
  });
  const errors = h('div', {});
  const submit: HTMLButtonElement = h('button', { type: 'submit', class: 'button' }, 'Sign in');
  const form = h(
    'form',
    { class: 'form', method: 'post', 'aria-labelledby': 'signin-title' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h(
        'span',
        { class: 'hint', id: 'api-key-hint' },
        'The key your organization received when it was created. It stays in this browser tab only and is forgotten when you sign out or close the tab.',
      ),
    ),
    errors,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    errors.replaceChildren();
    if (!key) {
      input.focus();
      errors.append(h('p', { class: 'notice notice-error', role: 'alert' }, 'Paste your API key first.'));
      return;
    }
    submit.disabled = true;
    try {
      await createApi(key).get('/v1/tier');
    } catch (err) {
      // A 429 comes after authentication: the key is good, the views will say why they are empty.
      if (!(err instanceof ApiError && err.status === 429)) {
        errors.append(errorBox(err, { signOut: () => input.focus() }));
        submit.disabled = false;
        input.select();
        return;
      }
    }
    saveApiKey(key);
    input.value = '';
    onSignedIn();
  });
  replace(
    root,
    h(
      'main',
      { id: 'main', class: 'signin', tabindex: -1 },
      h('h1', { id: 'signin-title' }, 'AgentIdP console'),
      h(
        'p',
        { class: 'lead' },
        'See your agents, usage, compliance and webhooks. Sign in with your organization’s API key.',
      ),
      message ? h('p', { class: 'notice notice-info', role: 'status' }, message) : null,
      form,
    ),
  );
  input.focus();
}
