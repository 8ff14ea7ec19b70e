import uPlot from 'uplot';
import type { TokenTrend } from '../lib/api-types.ts';
import { h } from '../lib/dom.ts';
import { formatNumber } from '../lib/format.ts';

const HEIGHT = 240;
/** Whole-number ticks only: the counts are tokens. */
const INCREMENTS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7,
];

const toUnixSeconds = (date: string) => Date.parse(`${date}T00:00:00Z`) / 1000;

/** One sentence that says what the chart shows: its text alternative. */
export function describeTrend(trend: TokenTrend): string {
  const total = trend.series.reduce((s, p) => s + p.count, 0);
  if (total === 0) return `No tokens were issued in the last ${trend.days} days.`;
  const peak = trend.series.reduce((best, p) => (p.count > best.count ? p : best), trend.series[0]!);
  const first = trend.series[0]?.date ?? '';
  const last = trend.series.at(-1)?.date ?? '';
  return (
    `${formatNumber(total)} tokens issued in the last ${trend.days} days (${first} to ${last}); ` +
    `busiest day ${peak.date} with ${formatNumber(peak.count)}.`
  );
}

/**
 * The token trend as a uPlot line chart in `host` (which must be in the document), sized to the host's
 * width and re-sized with it until `signal` aborts. Dates are UTC, like the API's.
 */
export function trendChart(
  host: HTMLElement,
  trend: TokenTrend,
  signal: AbortSignal,
): { update(trend: TokenTrend): void } {
  const css = getComputedStyle(document.documentElement);
  const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const line = color('--chart-line', '#1d4ed8');
  const fill = color('--chart-fill', 'rgba(29, 78, 216, 0.14)');
  const ink = color('--ink-muted', '#4b5563');
  const grid = color('--grid', '#e5e7eb');
  const width = () => Math.max(280, Math.floor(host.clientWidth));
  const axis = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };

  const data = (t: TokenTrend): uPlot.AlignedData => [
    t.series.map((p) => toUnixSeconds(p.date)),
    t.series.map((p) => p.count),
  ];
  const chart = new uPlot(
    {
      width: width(),
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, max <= 4 ? 4 : Math.ceil(max * 1.1)] },
      },
      series: [
        {},
        { label: 'Tokens issued', stroke: line, width: 2, fill, points: { show: (u) => u.data[0].length <= 31 } },
      ],
      axes: [
        { ...axis, space: 60 },
        { ...axis, incrs: INCREMENTS, size: 56, values: (_u, ticks) => ticks.map((v) => formatNumber(v)) },
      ],
    },
    data(trend),
    host,
  );
  // The canvas is decoration for sighted users; the figure's label and data table carry the content.
  chart.root.setAttribute('aria-hidden', 'true');

  const resize = new ResizeObserver(() => {
    const w = width();
    if (w !== chart.width) chart.setSize({ width: w, height: HEIGHT });
  });
  resize.observe(host);
  signal.addEventListener('abort', () => {
    resize.disconnect();
    chart.destroy();
  });
  return { update: (t) => chart.setData(data(t)) };
}

/** The same numbers as a table, for screen readers and anyone who wants exact values. */
export function trendTable(trend: TokenTrend): HTMLElement {
  return h(
    'table',
    { class: 'data-table' },
    h('caption', {}, `Tokens issued per day (UTC), last ${trend.days} days`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Date'), h('th', { scope: 'col', class: 'num' }, 'Tokens'))),
    h(
      'tbody',
      {},
      ...trend.series.map((p) =>
        h('tr', {}, h('th', { scope: 'row' }, p.date), h('td', { class: 'num' }, formatNumber(p.count))),
      ),
    ),
  );
}
