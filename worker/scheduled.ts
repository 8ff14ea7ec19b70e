import { withServices } from './compose.ts';
import { overdueSubscriptions } from './features/webhooks/webhook-delivery.service.ts';
import { settleDue } from './settle.ts';

/**
 * Cron trigger (wrangler.toml `[triggers]`): the safety net of webhook delivery. A request wakes a
 * subscription's dispatcher after commit through waitUntil; if that kick was lost (the isolate died, the
 * call failed), the delivery is still in Postgres, and this sweep wakes the dispatcher of every subscription
 * with a delivery overdue by more than a minute. It also writes usage this isolate still holds (see settle.ts).
 */
export async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  await withServices(env, { waitUntil: (p) => ctx.waitUntil(p) }, async (s) => {
    const overdue = await overdueSubscriptions(s.db, controller.scheduledTime);
    await Promise.all(overdue.map((id) => env.WEBHOOK_DISPATCHER.getByName(id).kick(id)));
    if (overdue.length > 0)
      console.log(JSON.stringify({ level: 'info', msg: 'webhook sweep', kicked: overdue.length }));
  });
  await settleDue(env, (p) => ctx.waitUntil(p));
}
