import { ApiError, NETWORK_ERROR } from './api.ts';
import { formatDuration, formatNumber, formatUtc } from './format.ts';

export interface ErrorMessage {
  title: string;
  detail: string;
  /** A 401: the key is not (or no longer) valid; the view offers to sign in again. */
  signInAgain: boolean;
  /**
   * Whether the failure concerns the whole session (a refused key, the daily call limit) rather than
   * the one request: the shell then says it once for the page, and each panel only notes `short`.
   */
  pageWide: boolean;
  /** One line for a panel that could not load because of a page-wide failure. */
  short: string;
  /** Field errors of a 400, as readable lines. */
  fields: string[];
}

/** Ends a server-provided detail with a full stop unless it has punctuation already. */
const sentence = (s: string) => (/[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`);

const tryAgainIn = (seconds: number | null, otherwise: string) =>
  seconds !== null ? `Try again in ${formatDuration(seconds)}.` : otherwise;

/** Turns any failure into words for people: never raw JSON. */
export function describeError(err: unknown): ErrorMessage {
  const base = { signInAgain: false, pageWide: false, short: '', fields: [] as string[] };
  if (!(err instanceof ApiError)) {
    return {
      ...base,
      title: 'Something went wrong in the console',
      detail: err instanceof Error ? err.message : String(err),
    };
  }
  if (err.status === NETWORK_ERROR) return { ...base, title: 'The API could not be reached', detail: err.detail };
  if (err.status === 401) {
    return {
      ...base,
      signInAgain: true,
      pageWide: true,
      short: 'Not loaded: the API key was not accepted.',
      title: 'Your API key was not accepted',
      detail: 'It may have been revoked, or it was mistyped. Sign in again with a valid key.',
    };
  }
  if (err.status === 429 && err.code === 'rate_limited') {
    const { limit, reset_at: resetAt } = err.problem;
    const used = typeof limit === 'number' ? `all ${formatNumber(limit)} API calls` : 'all the API calls';
    const reset = typeof resetAt === 'string' ? ` The limit resets at ${formatUtc(resetAt)}.` : '';
    return {
      ...base,
      pageWide: true,
      short: 'Not loaded: today’s API calls are used up.',
      title: 'Daily API call limit reached',
      detail: `Your organization has made ${used} its tier allows today.${reset} ${tryAgainIn(err.retryAfter, 'Try again later.')} Upgrading raises the limit.`,
    };
  }
  if (err.status === 429) {
    return {
      ...base,
      title: 'Limit reached',
      detail: `${sentence(err.detail)} ${tryAgainIn(err.retryAfter, '')}`.trim(),
    };
  }
  if (err.code === 'billing_not_configured') {
    return {
      ...base,
      title: 'Billing is not available here',
      detail: `${sentence(err.detail)} Upgrades need Stripe to be configured on this deployment.`,
    };
  }
  if (err.status >= 500) {
    return {
      ...base,
      title: `The service could not answer (${err.status})`,
      detail: `${sentence(err.detail)} ${tryAgainIn(err.retryAfter, 'Try again in a moment.')}`,
    };
  }
  if (err.status === 404) return { ...base, title: 'Not found', detail: sentence(err.detail) };
  const fields = err.fieldErrors.map((f) => (f.path && f.path !== '(body)' ? `${f.path}: ${f.message}` : f.message));
  return {
    ...base,
    fields,
    title: err.status === 400 ? 'Please check the input' : `Request refused (${err.status})`,
    detail: sentence(err.detail),
  };
}
