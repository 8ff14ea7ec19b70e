// What a string must be before it reaches Postgres, a log line or another service. Postgres text cannot
// hold NUL (the driver's error used to surface as a 500, with the value in Postgres's log), and a lone UTF-16
// surrogate would be stored as U+FFFD, a different value from the one sent. Control characters have no
// place in names and identifiers: they make logs and user interfaces lie.

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const NUL = /\u0000/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** No NUL character. */
export const hasNoNul = (s: string): boolean => !NUL.test(s);

/** No C0 control character (NUL, tab, newline, ...) and no DEL. */
export const hasNoControl = (s: string): boolean => !CONTROL.test(s);

/** Every UTF-16 surrogate is part of a pair. */
export const isWellFormedUnicode = (s: string): boolean => !LONE_SURROGATE.test(s);

/** True when Postgres can store `s` exactly. */
export const isStorableText = (s: string): boolean => hasNoNul(s) && isWellFormedUnicode(s);

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * True for an ISO 8601 instant that Postgres stores as written: `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`, a
 * real calendar date (no 30 February, which JavaScript rolls over to 1 March) in the years 1970..9999, and
 * an offset of at most 14 hours. JavaScript's `Date.parse` accepts `"1"`, `2020-02-30` and `+275760-...`,
 * none of which Postgres takes.
 */
export function isStorableInstant(s: string): boolean {
  const m = ISO_INSTANT.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (y < 1970 || y > 9999 || h > 23 || mi > 59 || sec > 59) return false;
  if (m[7] && (Number(m[8]) > 14 || Number(m[9]) > 59)) return false;
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}
