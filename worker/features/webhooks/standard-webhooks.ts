/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, scheme `v1`): HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed by the base64-decoded part of a `whsec_...` secret,
 * sent as `webhook-signature: v1,<base64>`; several space-separated signatures while secrets overlap.
 */
import { randomBytes } from '../../platform/crypto.ts';
import { fromBase64, toBase64, utf8 } from '../../platform/encoding.ts';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export const generateWebhookSecret = (): string => WEBHOOK_SECRET_PREFIX + toBase64(randomBytes(32));

function secretKeyBytes(secret: string): Uint8Array<ArrayBuffer> {
  const b64 = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret;
  const key = fromBase64(b64);
  if (key.length === 0) throw new TypeError('webhook secret is empty');
  return key;
}

/** `v1,<base64 HMAC-SHA256>` of one message under one secret. `timestampSec` is integer Unix seconds. */
export async function signWebhook(secret: string, msgId: string, timestampSec: number, body: string): Promise<string> {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0)
    throw new TypeError('webhook timestamp must be integer seconds ≥ 0');
  const key = await crypto.subtle.importKey('raw', secretKeyBytes(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  const mac = await crypto.subtle.sign('HMAC', key, utf8(`${msgId}.${timestampSec}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three Standard Webhooks headers for one attempt, signed by every given secret (newest first). */
export async function webhookHeaders(
  secrets: string[],
  msgId: string,
  timestampSec: number,
  body: string,
): Promise<Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>> {
  if (secrets.length === 0) throw new TypeError('at least one webhook secret is needed');
  const signatures = await Promise.all(secrets.map((s) => signWebhook(s, msgId, timestampSec, body)));
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signatures.join(' '),
  };
}
