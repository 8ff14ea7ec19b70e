import { describeHeatmap, heatmapTable } from '../charts/heatmap.ts';
import { describeTrend, trendChart, trendTable } from '../charts/trend-chart.ts';
import type { ActivityHeatmap, AgentUsage, TierName, TierStatus, TokenTrend } from '../lib/api-types.ts';
import { h, replace, uid } from '../lib/dom.ts';
import { formatNumber, formatUntil, formatUtc, tierLabel } from '../lib/format.ts';
import { card, emptyState, fill, scrollRegion, type View, type ViewContext } from './common.ts';

const RANGES = [7, 30, 90] as const;
const NEXT_TIER: Record<TierName, TierName | null> = { free: 'pro', pro: 'enterprise', enterprise: null };

/** Usage: tier limits, token trend (7/30/90 days), activity heatmap, per-agent usage this month. */
export const usageView: View = async (ctx, main) => {
  const tier = h('div', {});
  const trend = h('div', {});
  const heat = h('div', {});
  const perAgent = h('div', {});
  replace(
    main,
    h('div', { class: 'view-head' }, h('h1', { tabindex: -1 }, 'Usage')),
    h('div', { class: 'grid' }, card('Tier and limits', tier), card('Tokens issued', trend)),
    card('When your agents are active', heat),
    card('Tokens per agent this month', perAgent),
  );
  await Promise.all([
    fill(tier, ctx, 'tier', () => tierPanel(ctx)),
    trendPanel(ctx, trend),
    fill(heat, ctx, 'activity', async () =>
      heatmapPanel(await ctx.api.get<ActivityHeatmap>('/v1/analytics/agent-activity'), ctx.signal),
    ),
    fill(perAgent, ctx, 'per-agent usage', async () =>
      agentUsagePanel(await ctx.api.get<AgentUsage>('/v1/analytics/agent-usage')),
    ),
  ]);
};

function meter(label: string, used: number, limit: number | null): HTMLElement {
  const id = uid('meter');
  const text = limit === null ? `${formatNumber(used)} (unlimited)` : `${formatNumber(used)} of ${formatNumber(limit)}`;
  return h(
    'div',
    { class: 'meter' },
    h('div', { class: 'meter-label' }, h('span', { id }, label), h('span', {}, text)),
    limit === null
      ? null
      : h('progress', {
          max: Math.max(1, limit),
          value: Math.min(used, limit),
          'aria-labelledby': id,
          'aria-valuetext': text,
          class: used >= limit ? 'full' : used / Math.max(1, limit) >= 0.8 ? 'high' : '',
        }),
  );
}

async function tierPanel(ctx: ViewContext): Promise<Node> {
  const t = await ctx.api.get<TierStatus>('/v1/tier');
  const next = NEXT_TIER[t.tier];
  const upgradeSlot = h('div', { class: 'upgrade' });
  if (next) {
    const button: HTMLButtonElement = h('button', { type: 'button', class: 'button' }, `Upgrade to ${tierLabel(next)}`);
    button.addEventListener('click', async () => {
      button.disabled = true;
      upgradeSlot.querySelector('.notice')?.remove();
      try {
        const { checkout_url } = await ctx.api.post<{ checkout_url: string }>('/v1/tier/upgrade', {
          target_tier: next,
        });
        const url = new URL(checkout_url, location.href);
        if (url.protocol !== 'https:' && url.protocol !== 'http:')
          throw new Error('The checkout address is not a web address.');
        ctx.announce('Opening the checkout page…');
        location.assign(url.href);
      } catch (err) {
        upgradeSlot.append(ctx.failure(err));
        button.disabled = false;
      }
    });
    upgradeSlot.append(button);
  } else {
    upgradeSlot.append(h('p', {}, 'You are on the highest tier.'));
  }
  return h(
    'div',
    {},
    h('p', { class: 'tier-name' }, h('span', {}, 'Current tier: '), h('strong', {}, tierLabel(t.tier))),
    meter('Agents', t.usage.agents, t.limits.max_agents),
    meter('API calls today', t.usage.calls_today, t.limits.max_calls_per_day),
    meter('Tokens today', t.usage.tokens_today, t.limits.max_tokens_per_day),
    h('p', { class: 'muted' }, `Daily counters reset at ${formatUtc(t.reset_at)} (${formatUntil(t.reset_at)}).`),
    upgradeSlot,
  );
}

async function trendPanel(ctx: ViewContext, slot: HTMLElement): Promise<void> {
  let days: number = 30;
  const buttons = RANGES.map((n) =>
    h(
      'button',
      { type: 'button', class: 'segment', 'aria-pressed': n === days ? 'true' : 'false', 'data-days': n },
      `${n} days`,
    ),
  );
  const summary = h('p', { class: 'chart-summary', id: uid('trend-summary') });
  const chartHost = h('div', { class: 'chart', role: 'img', 'aria-labelledby': summary.id });
  const table = h('div', {});
  const details = h(
    'details',
    { class: 'chart-data' },
    h('summary', {}, 'Show the numbers'),
    scrollRegion('Daily token counts', table),
  );
  const errors = h('div', {});
  const figure = h('figure', { class: 'trend' }, chartHost, h('figcaption', {}, summary));
  // Nothing to show (or to expand) until the first answer arrives.
  figure.hidden = true;
  details.hidden = true;
  let chart: { update(t: TokenTrend): void } | undefined;
  let loading = 0;

  const load = async (n: number) => {
    const ticket = ++loading;
    slot.setAttribute('aria-busy', 'true');
    errors.replaceChildren();
    try {
      const trend = await ctx.api.get<TokenTrend>(`/v1/analytics/tokens?days=${n}`);
      if (ctx.signal.aborted || ticket !== loading) return;
      days = trend.days;
      for (const b of buttons) b.setAttribute('aria-pressed', String(Number(b.dataset.days) === days));
      summary.textContent = describeTrend(trend);
      table.replaceChildren(trendTable(trend));
      slot.dataset.days = String(trend.days);
      slot.dataset.total = String(trend.series.reduce((s, p) => s + p.count, 0));
      figure.hidden = false;
      details.hidden = false;
      if (chart) chart.update(trend);
      else chart = trendChart(chartHost, trend, ctx.signal);
    } catch (err) {
      if (!ctx.signal.aborted) errors.replaceChildren(ctx.failure(err));
    } finally {
      if (ticket === loading) slot.removeAttribute('aria-busy');
    }
  };
  for (const b of buttons) b.addEventListener('click', () => void load(Number(b.dataset.days)));
  replace(
    slot,
    h('div', { class: 'segments', role: 'group', 'aria-label': 'Range' }, ...buttons),
    errors,
    figure,
    details,
  );
  await load(days);
}

/** Narrow screens get the tall heatmap (hours down the side), which fits 360 px without scrolling. */
const NARROW = '(max-width: 719px)';

function heatmapPanel(map: ActivityHeatmap, signal: AbortSignal): Node {
  const total = map.cells.reduce((s, c) => s + c.count, 0);
  if (total === 0) {
    return emptyState(
      'No agent activity in the last 30 days',
      'Activity appears here when your agents are created, updated, get credentials or request tokens at /oidc/token.',
    );
  }
  const narrow = matchMedia(NARROW);
  const region = scrollRegion('Activity heatmap', heatmapTable(map, { tall: narrow.matches }));
  narrow.addEventListener('change', () => region.replaceChildren(heatmapTable(map, { tall: narrow.matches })), {
    signal,
  });
  return h('div', {}, h('p', { class: 'chart-summary' }, describeHeatmap(map)), region, legend());
}

function legend(): HTMLElement {
  return h(
    'p',
    { class: 'heat-legend', 'aria-hidden': 'true' },
    'Less ',
    ...[0, 1, 2, 3, 4, 5].map((l) => h('span', { class: `heat-swatch heat-${l}` })),
    ' More',
  );
}

function agentUsagePanel(usage: AgentUsage): Node {
  if (usage.agents.length === 0) {
    return emptyState(
      `No tokens issued in ${usage.month} yet`,
      'Issue a credential to an agent (POST /v1/agents/{id}/credentials) and request a token at /oidc/token; usage shows up here.',
    );
  }
  const max = Math.max(1, ...usage.agents.map((a) => a.token_count));
  return scrollRegion(
    'Tokens per agent',
    h(
      'table',
      { class: 'data-table usage-table' },
      h('caption', {}, `Tokens issued per agent in ${usage.month} (UTC)`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Agent'),
          h('th', { scope: 'col', class: 'num' }, 'Tokens'),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Share')),
        ),
      ),
      h(
        'tbody',
        {},
        ...usage.agents.map((a) =>
          h(
            'tr',
            { 'data-agent-id': a.agent_id },
            h('th', { scope: 'row' }, a.name),
            h('td', { class: 'num' }, formatNumber(a.token_count)),
            h(
              'td',
              { class: 'bar-cell' },
              h('progress', { max, value: a.token_count, 'aria-hidden': 'true', tabindex: -1 }),
            ),
          ),
        ),
      ),
    ),
  );
}
