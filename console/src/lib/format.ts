// Display helpers. Times are shown in UTC, like every date the API returns and every daily reset.

const numberFormat = new Intl.NumberFormat('en');

export const formatNumber = (n: number): string => numberFormat.format(n);

/** `2026-11-28 14:05 UTC` */
export function formatUtc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `5 h 12 min`, `3 min`, `45 s` */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  const rest = m % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/** `in 5 h 12 min` relative to now, or the absolute time when already past. */
export function formatUntil(iso: string, nowMs = Date.now()): string {
  const ms = Date.parse(iso) - nowMs;
  return ms > 0 ? `in ${formatDuration(ms / 1000)}` : formatUtc(iso);
}

export const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export const pad2 = (n: number) => String(n).padStart(2, '0');

export const TIER_LABELS: Record<string, string> = { free: 'Free', pro: 'Pro', enterprise: 'Enterprise' };
export const tierLabel = (t: string) => TIER_LABELS[t] ?? t;
