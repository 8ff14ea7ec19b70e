import type { Webhook, WebhookDelivery } from '../lib/api-types.ts';
import { h, replace } from '../lib/dom.ts';
import { formatNumber, formatUtc } from '../lib/format.ts';
import { badge, emptyState, fill, stackTable, type View, type ViewContext } from './common.ts';

const RECENT = 10;
const STATUS_WORDS: Record<WebhookDelivery['status'], string> = {
  pending: 'Pending',
  delivered: 'Delivered',
  failed: 'Failed, will retry',
  dead_letter: 'Gave up',
};

/** Webhooks: subscriptions and each one's recent deliveries with status and attempts. */
export const webhooksView: View = async (ctx, main) => {
  const list = h('div', {});
  replace(
    main,
    h('div', { class: 'view-head' }, h('h1', { tabindex: -1 }, 'Webhooks')),
    h(
      'p',
      { class: 'lead' },
      'Subscriptions receive signed events (Standard Webhooks). Deliveries are retried on failure.',
    ),
    list,
  );
  await fill(list, ctx, 'webhooks', () => loadWebhooks(ctx));
};

async function loadWebhooks(ctx: ViewContext): Promise<Node> {
  const { data } = await ctx.api.get<{ data: Webhook[] }>('/v1/webhooks');
  if (data.length === 0) {
    return emptyState(
      'No webhook subscriptions yet',
      'Create one with POST /v1/webhooks { name, url, events } to be told when agents or credentials change; see the API reference.',
      h('a', { href: '/docs', class: 'button button-secondary' }, 'Open the API reference'),
    );
  }
  const wrap = h('div', { class: 'webhooks' });
  await Promise.all(
    data.map(async (w) => {
      const deliveries = h('div', {});
      wrap.append(subscription(w, deliveries));
      await fill(deliveries, ctx, 'deliveries', async () =>
        deliveryTable(
          w,
          (
            await ctx.api.get<{ data: WebhookDelivery[] }>(
              `/v1/webhooks/${encodeURIComponent(w.id)}/deliveries?limit=${RECENT}`,
            )
          ).data,
        ),
      );
    }),
  );
  return wrap;
}

function subscription(w: Webhook, deliveries: HTMLElement): HTMLElement {
  const state = w.active
    ? badge('active', 'Active')
    : badge('disabled', w.disabled_reason ? `Disabled: ${w.disabled_reason.replaceAll('_', ' ')}` : 'Paused');
  return h(
    'section',
    { class: 'card webhook', 'data-webhook-id': w.id },
    h('div', { class: 'agent-head' }, h('h2', {}, w.name), state),
    h(
      'dl',
      { class: 'agent-facts' },
      h('dt', {}, 'URL'),
      h('dd', {}, h('code', {}, w.url)),
      h('dt', {}, 'Events'),
      h('dd', { class: 'chips' }, ...w.events.map((e) => h('code', { class: 'chip' }, e))),
      h('dt', {}, 'Failures in a row'),
      h('dd', {}, formatNumber(w.failure_count)),
    ),
    h('h3', {}, 'Recent deliveries'),
    deliveries,
  );
}

function deliveryTable(w: Webhook, rows: WebhookDelivery[]): Node {
  if (rows.length === 0)
    return h('p', { class: 'muted' }, 'No deliveries yet: they appear when a subscribed event happens.');
  return stackTable(
    `Recent deliveries to ${w.name}`,
    ['Event', 'Status', 'HTTP status', 'Attempts', 'Created', 'Delivered or next try'],
    rows.map((d) => ({
      attrs: { 'data-delivery-id': d.id },
      cells: [
        h('code', {}, d.event_type),
        badge(d.status, STATUS_WORDS[d.status]),
        d.http_status_code === null ? '—' : String(d.http_status_code),
        formatNumber(d.attempt_count),
        formatUtc(d.created_at),
        d.delivered_at ? formatUtc(d.delivered_at) : d.next_retry_at ? `next ${formatUtc(d.next_retry_at)}` : '—',
      ],
    })),
  );
}
