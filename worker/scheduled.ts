import { loadConfig } from './platform/config.ts';
import { Db } from './platform/db.ts';
import { overdueSubscriptions } from './features/webhooks/webhook-delivery.service.ts';

/**
 * Cron trigger (wrangler.toml `[triggers]`): the safety net of webhook delivery. A request wakes a
 * subscription's dispatcher after commit through waitUntil; if that kick was lost (the isolate died, the
 * call failed), the delivery is still in Postgres, and this sweep wakes the dispatcher of every subscription
 * with a delivery overdue by more than a minute.
 */
export async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = loadConfig(env);
  const db = new Db(config.DATABASE_URL, config.NEON_WS_PROXY);
  try {
    const overdue = await overdueSubscriptions(db, controller.scheduledTime);
    await Promise.all(overdue.map((id) => env.WEBHOOK_DISPATCHER.getByName(id).kick(id)));
    if (overdue.length > 0) console.log(JSON.stringify({ level: 'info', msg: 'webhook sweep', kicked: overdue.length }));
  } finally {
    ctx.waitUntil(db.close());
  }
}
