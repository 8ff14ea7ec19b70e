import type { Agent, AgentInput, AgentPage } from '../lib/api-types.ts';
import { confirmDialog, openDialog } from '../lib/dialog.ts';
import { h, replace, uid } from '../lib/dom.ts';
import { formatUtc } from '../lib/format.ts';
import { badge, emptyState, errorBox, fill, type View, type ViewContext } from './common.ts';

const PAGE = 100;

/** Agents: list with status and DID (linked to its document), create, decommission with confirmation. */
export const agentsView: View = async (ctx, main) => {
  const list = h('div', { class: 'agents' });
  const createButton = h(
    'button',
    { type: 'button', class: 'button', onclick: () => openCreate(ctx, reload) },
    'Create agent',
  );
  replace(
    main,
    h('div', { class: 'view-head' }, h('h1', { tabindex: -1 }, 'Agents'), createButton),
    h(
      'p',
      { class: 'lead' },
      'Each agent has a did:web identity; its DID document is public. Decommissioning deactivates the document.',
    ),
    list,
  );
  const reload = () => fill(list, ctx, 'agents', () => loadAgents(ctx, reload, openCreate.bind(null, ctx, reload)));
  await reload();
};

async function loadAgents(ctx: ViewContext, reload: () => Promise<void>, create: () => void): Promise<Node> {
  const agents: Agent[] = [];
  let page = await ctx.api.get<AgentPage>(`/v1/agents?limit=${PAGE}`);
  agents.push(...page.data);
  const wrap = h('div', {});
  if (agents.length === 0) {
    return emptyState(
      'No agents yet',
      'Create your first agent: it gets a did:web identity at once, and you can then issue it client credentials.',
      h('button', { type: 'button', class: 'button', onclick: create }, 'Create your first agent'),
    );
  }
  const ul = h('ul', { class: 'agent-list', 'aria-label': 'Agents' });
  const render = (batch: Agent[]) => ul.append(...batch.map((a) => agentItem(a, ctx, reload)));
  render(agents);
  wrap.append(ul);
  if (page.next_cursor) {
    const more: HTMLButtonElement = h(
      'button',
      { type: 'button', class: 'button button-secondary' },
      'Show more agents',
    );
    more.addEventListener('click', async () => {
      more.disabled = true;
      try {
        page = await ctx.api.get<AgentPage>(`/v1/agents?limit=${PAGE}&cursor=${encodeURIComponent(page.next_cursor!)}`);
        render(page.data);
        if (page.next_cursor) more.disabled = false;
        else more.remove();
      } catch (err) {
        more.replaceWith(ctx.failure(err));
      }
    });
    wrap.append(more);
  }
  return wrap;
}

function agentItem(a: Agent, ctx: ViewContext, reload: () => Promise<void>): HTMLElement {
  const titleId = uid('agent');
  const actions = h('div', { class: 'agent-actions' });
  if (a.status !== 'decommissioned') {
    actions.append(
      h(
        'button',
        {
          type: 'button',
          class: 'button button-danger button-small',
          'aria-describedby': titleId,
          onclick: () => void decommission(a, ctx, reload, actions),
        },
        'Decommission',
      ),
    );
  }
  return h(
    'li',
    { class: 'agent', 'data-agent-id': a.agent_id, 'aria-labelledby': titleId },
    h('div', { class: 'agent-head' }, h('h3', { id: titleId, class: 'agent-name' }, a.owner), badge(a.status)),
    h(
      'dl',
      { class: 'agent-facts' },
      h('dt', {}, 'Email'),
      h('dd', {}, a.email),
      h('dt', {}, 'Type'),
      h('dd', {}, a.agent_type),
      h('dt', {}, 'DID'),
      h(
        'dd',
        { class: 'did' },
        a.did
          ? h(
              'a',
              {
                href: `/agents/${encodeURIComponent(a.agent_id)}/did.json`,
                target: '_blank',
                rel: 'noopener noreferrer',
              },
              h('code', {}, a.did),
            )
          : 'none yet',
      ),
      h('dt', {}, 'Capabilities'),
      h('dd', {}, a.capabilities.length ? a.capabilities.join(', ') : 'none'),
      h('dt', {}, 'Created'),
      h('dd', {}, formatUtc(a.created_at)),
    ),
    actions,
  );
}

async function decommission(a: Agent, ctx: ViewContext, reload: () => Promise<void>, slot: HTMLElement): Promise<void> {
  const ok = await confirmDialog({
    title: `Decommission ${a.owner}?`,
    body: `Its DID document (${a.did ?? a.agent_id}) becomes deactivated and its credentials stop working. This cannot be undone.`,
    confirmLabel: 'Decommission',
    danger: true,
  });
  if (!ok) return;
  try {
    await ctx.api.del<Agent>(`/v1/agents/${encodeURIComponent(a.agent_id)}`);
    ctx.announce(`${a.owner} was decommissioned.`);
    await reload();
  } catch (err) {
    slot.append(ctx.failure(err));
  }
}

function field(label: string, input: HTMLInputElement, hint?: string): HTMLElement {
  const id = uid('f');
  input.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

function openCreate(ctx: ViewContext, reload: () => Promise<void>): void {
  const owner = h('input', { type: 'text', required: true, maxlength: 200, autocomplete: 'off' });
  const email = h('input', { type: 'email', required: true, maxlength: 320, autocomplete: 'off' });
  const type = h('input', { type: 'text', required: true, maxlength: 64, value: 'assistant', autocomplete: 'off' });
  const caps = h('input', { type: 'text', maxlength: 2000, autocomplete: 'off' });
  const endpoint = h('input', { type: 'url', maxlength: 2048, autocomplete: 'off' });
  const errors = h('div', {});
  const submit: HTMLButtonElement = h('button', { type: 'submit', class: 'button' }, 'Create agent');
  const cancel = h('button', { type: 'button', class: 'button button-secondary' }, 'Cancel');
  const form = h(
    'form',
    { class: 'form', method: 'dialog' },
    field('Name (owner)', owner, 'Shown in lists and usage; who runs this agent.'),
    field('Contact email', email),
    field('Agent type', type, 'For example assistant, crawler, scheduler.'),
    field('Capabilities', caps, 'Comma-separated, for example read:calendar, send:email. Optional.'),
    field('Endpoint', endpoint, 'An https:// URL where the agent can be reached. Optional.'),
    errors,
    h('div', { class: 'dialog-actions' }, cancel, submit),
  );
  const dialog = openDialog('Create an agent', form);
  cancel.addEventListener('click', () => dialog.close());
  owner.focus();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    const body: AgentInput = {
      owner: owner.value.trim(),
      email: email.value.trim(),
      agent_type: type.value.trim(),
      capabilities: caps.value
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    };
    if (endpoint.value.trim()) body.endpoint = endpoint.value.trim();
    submit.disabled = true;
    errors.replaceChildren();
    try {
      const created = await ctx.api.post<Agent>('/v1/agents', body);
      dialog.close();
      ctx.announce(`${created.owner} was created with ${created.did ?? 'no DID yet'}.`);
      await reload();
    } catch (err) {
      errors.replaceChildren(errorBox(err, ctx));
      submit.disabled = false;
    }
  });
}
