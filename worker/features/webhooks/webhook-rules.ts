import type { Queryable } from '../../platform/db.ts';
import { AppError, validationFailed } from '../../platform/errors.ts';
import { checkOutboundUrl } from '../../platform/ssrf.ts';
import { isWebhookEventType, type WebhookEventType } from './webhook-events.ts';

/**
 * A subscription URL under the outbound URL policy, normalised (`https://Example.com` and
 * `https://example.com/` are one URL). Throws `validation_failed` (400, field `url`).
 */
export function checkWebhookUrl(raw: string, allowPrivateUrls: boolean): string {
  const check = checkOutboundUrl(raw, { allowPrivate: allowPrivateUrls });
  if (!check.ok) {
    throw validationFailed(`url ${check.reason}`, [{ path: 'url', message: check.reason }]);
  }
  return check.url.toString();
}

/** Known, non-empty event types, without repeats. Throws `validation_failed` (400, field `events`). */
export function checkWebhookEvents(events: string[]): WebhookEventType[] {
  const unknown = events.filter((e) => !isWebhookEventType(e));
  if (events.length === 0 || unknown.length > 0) {
    throw validationFailed(
      events.length === 0 ? 'events must not be empty' : `unknown event types: ${unknown.join(', ')}`,
      [{ path: 'events', message: events.length === 0 ? 'must not be empty' : `unknown: ${unknown.join(', ')}` }],
    );
  }
  return [...new Set(events)] as WebhookEventType[];
}

/**
 * Throws `conflict` (409, `existing_id`) when another subscription of the organization (not `exceptId`)
 * sends the same set of events to the same url: a second one would only double every delivery. Run it
 * under the organization's row lock, so two concurrent creations cannot both pass.
 */
export async function refuseDuplicate(
  q: Queryable,
  organizationId: string,
  url: string,
  events: string[],
  exceptId?: string,
): Promise<void> {
  // Containment both ways: the same set of events, in any order.
  const [dup] = await q.query<{ id: string }>(
    `SELECT id FROM webhook_subscriptions
     WHERE organization_id = $1 AND url = $2 AND events @> $3::jsonb AND events <@ $3::jsonb
       AND id IS DISTINCT FROM $4::uuid LIMIT 1`,
    [organizationId, url, JSON.stringify(events), exceptId ?? null],
  );
  if (dup) throw new AppError('conflict', 'This url is already subscribed to these events', { existing_id: dup.id });
}
