import type { WebhookDispatcher } from '../../../durable-objects/webhook-dispatcher.do.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Queryable } from '../../platform/db.ts';
import type { EventAnnouncer } from '../agents/agent.service.ts';
import { isWebhookEventType } from './webhook-events.ts';

/**
 * The one place where services announce domain events. `announce` records one `webhook_deliveries` row per
 * active subscription of the organization that asked for the event type, inside the caller's transaction:
 * the rows commit or roll back with the change they describe (a transactional outbox).
 *
 * Delivery is not started from inside the transaction (it has not committed yet): the subscriptions touched
 * are remembered, and `kickAnnounced()` — called once the request is over, through `waitUntil` — wakes their
 * WebhookDispatcher objects. A kick for a rolled-back event finds nothing due and costs one wake-up; a lost
 * kick is caught by the cron sweep (worker/scheduled.ts).
 */
export class EventService implements EventAnnouncer {
  readonly #touched = new Set<string>();

  constructor(
    private readonly dispatchers: DurableObjectNamespace<WebhookDispatcher>,
    private readonly clock: Clock,
    /** Delay in seconds before the first attempt (the retry schedule's first entry). */
    private readonly firstDelaySeconds: number,
  ) {}

  /**
   * Records the event for every matching active subscription of `organizationId`. Must be called inside
   * `Db.tx`. Throws TypeError for an event type that is not in WEBHOOK_EVENT_TYPES (a programming error).
   */
  async announce(q: Queryable, organizationId: string, type: string, data: Record<string, unknown>): Promise<void> {
    if (!isWebhookEventType(type)) throw new TypeError(`unknown webhook event type ${type}`);
    const now = this.clock.now();
    const payload = { type, timestamp: now.toISOString(), data };
    const rows = await q.query<{ subscription_id: string }>(
      `INSERT INTO webhook_deliveries
         (id, subscription_id, organization_id, event_id, event_type, payload, status, attempt_count, next_retry_at, created_at, updated_at)
       SELECT gen_random_uuid(), s.id, s.organization_id, $2, $3, $4::jsonb, 'pending', 0, $5, $6, $6
       FROM webhook_subscriptions s
       WHERE s.organization_id = $1 AND s.active AND s.events @> jsonb_build_array($3::text)
       RETURNING subscription_id`,
      [
        organizationId,
        crypto.randomUUID(),
        type,
        JSON.stringify(payload),
        new Date(now.getTime() + this.firstDelaySeconds * 1000).toISOString(),
        now.toISOString(),
      ],
    );
    for (const r of rows) this.#touched.add(r.subscription_id);
  }

  /**
   * Wakes the dispatcher of every subscription that got a delivery during this request. Call after the
   * request's transactions are over (the `kickWebhooks` middleware does). Never throws: a failed kick is
   * logged and left to the cron sweep.
   */
  async kickAnnounced(): Promise<void> {
    const ids = [...this.#touched];
    this.#touched.clear();
    await Promise.all(
      ids.map(async (id) => {
        try {
          await this.dispatchers.getByName(id).kick(id);
        } catch (err) {
          console.error(
            JSON.stringify({ level: 'warn', msg: 'webhook kick failed', subscription_id: id, error: String(err) }),
          );
        }
      }),
    );
  }
}
