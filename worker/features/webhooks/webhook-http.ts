/** One HTTP attempt of a webhook delivery, and how its answer is read. */
import { webhookHeaders } from './standard-webhooks.ts';

/** What one attempt came to: an HTTP answer (any status) or no answer at all. */
export type AttemptResult =
  | { kind: 'response'; status: number; retryAfterMs: number | null }
  | { kind: 'error'; error: string };

/** Longest wait a receiver's Retry-After may impose before the next attempt. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/** `Retry-After` as milliseconds from `nowMs` (delta-seconds or an HTTP date), capped; null when absent or invalid. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (!value) return null;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    // An HTTP-date names a weekday and month; bare numbers other than delta-seconds are invalid.
    const at = /[a-z]/i.test(v) ? Date.parse(v) : Number.NaN;
    if (Number.isNaN(at)) return null;
    ms = at - nowMs;
  }
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}

export interface SendInput {
  url: URL;
  /** Signing secrets, newest first; each adds one `v1,` signature. */
  secrets: string[];
  msgId: string;
  timestampSec: number;
  body: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * POSTs one signed delivery. Redirects are not followed (a 3xx is just a non-2xx answer), the attempt is cut
 * at `timeoutMs`, and the response body is discarded unread.
 */
export async function sendWebhook(input: SendInput, nowMs: number): Promise<AttemptResult> {
  const headers = await webhookHeaders(input.secrets, input.msgId, input.timestampSec, input.body);
  try {
    const res = await (input.fetch ?? fetch)(input.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'AgentIdP-Webhooks/1.0', ...headers },
      body: input.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(input.timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    return {
      kind: 'response',
      status: res.status,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), nowMs),
    };
  } catch (err) {
    const name = (err as Error | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError')
      return { kind: 'error', error: `timed out after ${input.timeoutMs} ms` };
    return { kind: 'error', error: `request failed: ${String((err as Error)?.message ?? err).slice(0, 300)}` };
  }
}
