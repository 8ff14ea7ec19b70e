import { DurableObject } from 'cloudflare:workers';
import { withServices } from '../worker/compose.ts';
import type { DispatchSummary } from '../worker/features/webhooks/webhook-delivery.service.ts';

/**
 * One object per webhook subscription (named by its id): drains that subscription's due deliveries from
 * Postgres and keeps an alarm armed for the next due time, so a delivery survives Worker restarts and
 * evictions (the alarm is durable; Cloudflare retries an alarm that throws).
 *
 * Storage (key-value): `subscription_id` (string) — whose deliveries this object sends; `alarm_at` (ms) —
 * the time the armed alarm stands for. An alarm treats that time as "now" (`max(Date.now(), alarm_at)`),
 * which in production is Date.now() and lets tests fire an alarm early with runDurableObjectAlarm.
 *
 * Postgres stays the system of record: this object holds no delivery state, only when to look next. Runs
 * within the object are serialised (#running); a kick that arrives during a run makes it go round again.
 */
export class WebhookDispatcher extends DurableObject<Env> {
  #running: Promise<DispatchSummary> | null = null;
  #kicked = false;

  /** New deliveries may be due now: run as soon as possible (through the alarm, so it is durable). */
  async kick(subscriptionId: string): Promise<void> {
    this.#kicked = true;
    await this.#remember(subscriptionId);
    if (this.#running) return; // the current run goes round again
    const armed = await this.ctx.storage.getAlarm();
    const now = Date.now();
    if (armed === null || armed > now) await this.#arm(now);
  }

  /**
   * Runs one dispatch as of `nowMs` and re-arms the alarm (tests drive time with it; the cron sweep does not
   * need it). Returns what was done and when the subscription next has work.
   */
  async runDue(subscriptionId: string, nowMs: number): Promise<DispatchSummary> {
    await this.#remember(subscriptionId);
    return this.#run(nowMs);
  }

  override async alarm(): Promise<void> {
    const at = (await this.ctx.storage.get<number>('alarm_at')) ?? 0;
    await this.#run(Math.max(Date.now(), at));
  }

  #run(nowMs: number): Promise<DispatchSummary> {
    if (this.#running) {
      // Serialise: let the current run finish, then run again as of the later time.
      return this.#running.then(() => this.#run(Math.max(nowMs, Date.now())));
    }
    this.#running = this.#dispatch(nowMs).finally(async () => {
      this.#running = null;
      // A kick that landed while the alarm was being re-armed must not wait for the later alarm.
      if (this.#kicked) await this.#arm(Date.now());
    });
    return this.#running;
  }

  async #dispatch(nowMs: number): Promise<DispatchSummary> {
    const subscriptionId = await this.ctx.storage.get<string>('subscription_id');
    if (!subscriptionId) {
      await this.ctx.storage.deleteAlarm();
      return { attempted: 0, delivered: 0, nextDueMs: null, gone: true };
    }
    return withServices(this.env, { waitUntil: (p) => this.ctx.waitUntil(p) }, async ({ webhookDelivery: service }) => {
      let total: DispatchSummary = { attempted: 0, delivered: 0, nextDueMs: null, gone: false };
      let now = nowMs;
      do {
        this.#kicked = false;
        const s = await service.runDue(subscriptionId, now);
        total = {
          attempted: total.attempted + s.attempted,
          delivered: total.delivered + s.delivered,
          nextDueMs: s.nextDueMs,
          gone: s.gone,
        };
        now = Math.max(now, Date.now());
      } while (this.#kicked && !total.gone);
      if (total.gone) {
        await this.ctx.storage.deleteAlarm();
        await this.ctx.storage.deleteAll();
      } else if (total.nextDueMs === null) await this.#disarm();
      else await this.#arm(Math.max(total.nextDueMs, Date.now()));
      return total;
    });
  }

  async #remember(subscriptionId: string): Promise<void> {
    if ((await this.ctx.storage.get<string>('subscription_id')) !== subscriptionId) {
      await this.ctx.storage.put('subscription_id', subscriptionId);
    }
  }

  async #arm(atMs: number): Promise<void> {
    await this.ctx.storage.put('alarm_at', atMs);
    await this.ctx.storage.setAlarm(atMs);
  }

  async #disarm(): Promise<void> {
    await this.ctx.storage.delete('alarm_at');
    await this.ctx.storage.deleteAlarm();
  }
}
