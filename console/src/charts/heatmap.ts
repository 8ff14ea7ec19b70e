import type { ActivityHeatmap } from '../lib/api-types.ts';
import { h } from '../lib/dom.ts';
import { DAY_NAMES, formatNumber, pad2 } from '../lib/format.ts';

/** Intensity classes heat-0 (none) … heat-5 (the busiest cell); the number is always printed too. */
const LEVELS = 5;

export function heatLevel(count: number, max: number): number {
  if (count <= 0 || max <= 0) return 0;
  return Math.max(1, Math.ceil((count / max) * LEVELS));
}

export function describeHeatmap(map: ActivityHeatmap): string {
  const total = map.cells.reduce((s, c) => s + c.count, 0);
  if (total === 0) return 'No agent activity in the last 30 days.';
  const top = map.cells.reduce((b, c) => (c.count > b.count ? c : b), map.cells[0]!);
  return `${formatNumber(total)} agent events in the last 30 days; busiest on ${DAY_NAMES[top.day_of_week]} at ${pad2(top.hour)}:00 UTC (${formatNumber(top.count)}).`;
}

/**
 * Day of week × UTC hour as a table: real header cells for both axes, the count in every cell, and a
 * background class for the intensity. Screen readers read it as the table it is. `tall` puts the hours
 * down the side (7 columns fit a phone); otherwise the days are rows and the 24 hours columns.
 */
export function heatmapTable(map: ActivityHeatmap, { tall = false }: { tall?: boolean } = {}): HTMLElement {
  const counts = new Map(map.cells.map((c) => [`${c.day_of_week}:${c.hour}`, c.count]));
  const max = Math.max(0, ...map.cells.map((c) => c.count));
  const hours = Array.from({ length: 24 }, (_, i) => i);
  const days = DAY_NAMES.map((name, dow) => ({ name, dow }));
  const cell = (dow: number, hour: number) => {
    const n = counts.get(`${dow}:${hour}`) ?? 0;
    return h(
      'td',
      { class: `heat-${heatLevel(n, max)}`, 'data-day': dow, 'data-hour': hour, 'data-count': n },
      formatNumber(n),
    );
  };
  const hourHead = (hr: number, scope: 'col' | 'row') => h('th', { scope, abbr: `${pad2(hr)}:00` }, pad2(hr));
  const dayHead = (d: { name: string }, scope: 'col' | 'row') => h('th', { scope, abbr: d.name }, d.name.slice(0, 3));
  const columns = tall ? days.map((d) => dayHead(d, 'col')) : hours.map((hr) => hourHead(hr, 'col'));
  const body = tall
    ? hours.map((hr) => h('tr', {}, hourHead(hr, 'row'), ...days.map((d) => cell(d.dow, hr))))
    : days.map((d) => h('tr', {}, dayHead(d, 'row'), ...hours.map((hr) => cell(d.dow, hr))));
  return h(
    'table',
    { class: tall ? 'heatmap heatmap-tall' : 'heatmap' },
    h('caption', {}, 'Agent activity by day of week and hour (UTC), last 30 days'),
    h('thead', {}, h('tr', {}, h('td', {}), ...columns)),
    h('tbody', {}, ...body),
  );
}
