/** Content negotiation for DID resolution (`Accept` → one of the representations we offer). Pure. */

export interface Representation {
  /** Short name, part of the ETag. */
  id: string;
  kind: 'result' | 'document';
  contentType: string;
}

const RESOLUTION_PROFILE = 'https://w3id.org/did-resolution';

/** What `/1.0/identifiers/{did}` can answer, in our order of preference (the first is the default). */
export const RESOLUTION_OFFERS: readonly Representation[] = [
  { id: 'did-resolution', kind: 'result', contentType: 'application/did-resolution' },
  { id: 'ld-resolution', kind: 'result', contentType: `application/ld+json;profile="${RESOLUTION_PROFILE}"` },
  { id: 'did+json', kind: 'document', contentType: 'application/did+json' },
  { id: 'did', kind: 'document', contentType: 'application/did' },
  { id: 'did+ld+json', kind: 'document', contentType: 'application/did+ld+json' },
  { id: 'json-resolution', kind: 'result', contentType: 'application/json' },
];

interface MediaRange {
  type: string;
  subtype: string;
  params: Record<string, string>;
  q: number;
}

function parseMediaType(text: string): (Omit<MediaRange, 'q'> & { q?: number }) | undefined {
  const [full = '', ...rawParams] = splitOutsideQuotes(text, ';');
  const m = /^([a-z0-9!#$%&'*+.^_`|~-]+)\/([a-z0-9!#$%&'*+.^_`|~-]+)$/i.exec(full.trim());
  if (!m) return undefined;
  const params: Record<string, string> = {};
  let q: number | undefined;
  for (const raw of rawParams) {
    const eq = raw.indexOf('=');
    if (eq < 0) continue;
    const key = raw.slice(0, eq).trim().toLowerCase();
    let value = raw.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2)
      value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    if (key === 'q') {
      const n = Number(value);
      q = Number.isFinite(n) && n >= 0 && n <= 1 ? n : 0;
    } else params[key] = value;
  }
  return { type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), params, q };
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '"' && s[i - 1] !== '\\') quoted = !quoted;
    if (ch === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Parses an Accept header; unparseable ranges are skipped. */
export function parseAccept(header: string): MediaRange[] {
  return splitOutsideQuotes(header, ',')
    .map((part) => parseMediaType(part))
    .filter((r): r is NonNullable<typeof r> => r !== undefined)
    .map((r) => ({ ...r, q: r.q ?? 1 }));
}

/** How specifically `range` matches `offer`: -1 for no match, higher is more specific (RFC 9110 §12.5.1). */
function specificity(range: MediaRange, offer: Omit<MediaRange, 'q'>): number {
  if (range.type !== '*' && range.type !== offer.type) return -1;
  if (range.subtype !== '*' && range.subtype !== offer.subtype) return -1;
  if (range.type === '*' && range.subtype !== '*') return -1;
  for (const [k, v] of Object.entries(range.params)) if (offer.params[k] !== v) return -1;
  return (range.type === '*' ? 0 : range.subtype === '*' ? 1 : 2) * 100 + Object.keys(range.params).length;
}

/**
 * The representation to send for `accept` (absent or empty: the first offer), or undefined when none is
 * acceptable (406). Each offer takes the q of the most specific range that matches it; the highest q wins,
 * ties go to the earlier offer.
 */
export function negotiate(
  accept: string | undefined,
  offers: readonly Representation[] = RESOLUTION_OFFERS,
): Representation | undefined {
  if (!accept || accept.trim() === '') return offers[0];
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return offers[0];
  let best: Representation | undefined;
  let bestQ = 0;
  for (const offer of offers) {
    const media = parseMediaType(offer.contentType)!;
    let q = 0;
    let spec = -1;
    for (const range of ranges) {
      const s = specificity(range, media);
      if (s > spec) {
        spec = s;
        q = range.q;
      }
    }
    if (spec >= 0 && q > bestQ) {
      best = offer;
      bestQ = q;
    }
  }
  return best;
}
