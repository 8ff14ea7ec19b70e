// The outbox side of webhooks, driven directly: announcing inside transactions, the claim that keeps two
// dispatchers from sending the same attempt, leases, the dispatch-time URL check and the cron sweep.

import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { AuditService } from '../../../worker/features/audit/audit.service.ts';
import { UsageLimiterService } from '../../../worker/features/tiers/usage-limiter.service.ts';
import { EventService } from '../../../worker/features/webhooks/event.service.ts';
import {
  type DeliveryOptions,
  WebhookDeliveryService,
} from '../../../worker/features/webhooks/webhook-delivery.service.ts';
import { WebhookSecretsService } from '../../../worker/features/webhooks/webhook-secrets.service.ts';
import { systemClock } from '../../../worker/platform/clock.ts';
import { Encryptor, parseEncryptionKeys } from '../../../worker/platform/crypto.ts';
import { scheduled } from '../../../worker/scheduled.ts';
import { sql, testDb } from '../../support/db.ts';
import { createWebhook, deliveries, dispatcher, eventually, receiver, verify } from '../../support/webhooks.ts';
import { createOrg, type Org } from '../../support/worker.ts';

const bindings = env as unknown as Cloudflare.Env & Record<string, string>;
const events = () => new EventService(bindings.WEBHOOK_DISPATCHER, systemClock, 0);

/** Announces `n` agent.updated events for the organization in one committed transaction, without a kick. */
async function announce(org: Org, n = 1): Promise<void> {
  const db = testDb();
  try {
    await db.tx(async (q) => {
      for (let i = 0; i < n; i++) await events().announce(q, org.organization_id, 'agent.updated', { agent: { n: i } });
    });
  } finally {
    await db.close();
  }
}

async function withDelivery<T>(
  opts: Partial<DeliveryOptions>,
  fn: (s: WebhookDeliveryService) => Promise<T>,
): Promise<T> {
  const db = testDb();
  try {
    const secrets = new WebhookSecretsService(
      new Encryptor(parseEncryptionKeys(bindings.ENCRYPTION_KEY)),
      'local',
      undefined,
    );
    const quota = new UsageLimiterService(bindings.TENANT_LIMITER, systemClock, {
      flushMs: 0,
      waitUntil: () => undefined,
    });
    const service = new WebhookDeliveryService(db, secrets, new AuditService(systemClock), quota, {
      schedule: [0, 1, 1],
      timeoutMs: 1500,
      allowPrivateUrls: true,
      ...opts,
    });
    return await fn(service);
  } finally {
    await db.close();
  }
}

describe('webhook outbox', () => {
  it('records nothing for a transaction that rolls back, and one delivery per matching subscription otherwise', async () => {
    const org = await createOrg();
    const [rx, other] = [receiver('tx'), receiver('tx-other')];
    const hook = await createWebhook(org, rx.url, ['agent.updated']);
    const unrelated = await createWebhook(org, other.url, ['credential.revoked']);
    const ev = events();
    const db = testDb();
    try {
      await expect(
        db.tx(async (q) => {
          await ev.announce(q, org.organization_id, 'agent.updated', { agent: { rolled: 'back' } });
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      await db.tx((q) => ev.announce(q, org.organization_id, 'agent.updated', { agent: { kept: true } }));
    } finally {
      await db.close();
    }
    await ev.kickAnnounced();
    const [d, ...more] = await eventually(
      () => deliveries(org, hook.id),
      (ds) => ds[0]?.status === 'delivered',
      'delivered',
    );
    expect(more).toEqual([]);
    const reqs = await rx.requests();
    expect(reqs).toHaveLength(1);
    expect(verify(hook.secret, reqs[0]!)).toMatchObject({ type: 'agent.updated', data: { agent: { kept: true } } });
    expect(reqs[0]!.headers['webhook-id']).toBe(d.event_id);
    expect(await deliveries(org, unrelated.id)).toEqual([]);
  });

  it('refuses to announce an unknown event type', async () => {
    const org = await createOrg();
    const db = testDb();
    try {
      await expect(db.tx((q) => events().announce(q, org.organization_id, 'agent.exploded', {}))).rejects.toThrow(
        TypeError,
      );
    } finally {
      await db.close();
    }
  });

  it('delivers an event whose after-commit kick was lost, from the cron sweep', async () => {
    const org = await createOrg();
    const rx = receiver('sweep');
    const hook = await createWebhook(org, rx.url, ['agent.updated']);
    await announce(org); // committed, never kicked: as if the isolate died right after the commit
    const run = async (scheduledTime: number) => {
      const ctx = createExecutionContext();
      await scheduled(createScheduledController({ scheduledTime, cron: '* * * * *' }), bindings, ctx);
      await waitOnExecutionContext(ctx);
    };
    // Not yet overdue by the sweep's grace minute: left alone.
    await run(Date.now());
    expect((await deliveries(org, hook.id))[0].status).toBe('pending');
    await run(Date.now() + 120_000);
    const [d] = await eventually(
      () => deliveries(org, hook.id),
      (ds) => ds[0].status === 'delivered',
      'swept delivery',
    );
    expect(d.attempt_count).toBe(1);
    expect(await rx.requests()).toHaveLength(1);
  });

  it('never lets two dispatchers send the same attempt', async () => {
    const org = await createOrg();
    const rx = receiver('race');
    const hook = await createWebhook(org, rx.url, ['agent.updated']);
    await announce(org, 12);
    const now = Date.now();
    const [a, b] = await Promise.all([
      withDelivery({ batchSize: 5 }, (s) => s.runDue(hook.id, now)),
      withDelivery({ batchSize: 5 }, (s) => s.runDue(hook.id, now)),
    ]);
    expect(a.attempted + b.attempted).toBe(12);
    const reqs = await rx.requests();
    expect(reqs).toHaveLength(12);
    expect(new Set(reqs.map((r) => r.headers['webhook-id'])).size).toBe(12);
    const ds = await deliveries(org, hook.id);
    expect(ds.every((d) => d.status === 'delivered' && d.attempt_count === 1)).toBe(true);
  });

  it('leaves an attempt in flight alone until its lease expires, then sends it again (at least once)', async () => {
    const org = await createOrg();
    const rx = receiver('lease');
    const hook = await createWebhook(org, rx.url, ['agent.updated']);
    await announce(org);
    const now = Date.now();
    // Another dispatcher claimed it and died mid-attempt.
    await sql(
      `UPDATE webhook_deliveries SET attempt_count = 1, lease_token = gen_random_uuid(), lease_expires_at = $2
       WHERE subscription_id = $1`,
      [hook.id, new Date(now + 5 * 60_000).toISOString()],
    );
    const early = await withDelivery({}, (s) => s.runDue(hook.id, now + 60_000));
    expect(early).toMatchObject({ attempted: 0, nextDueMs: now + 5 * 60_000 });
    expect(await rx.requests()).toEqual([]);
    const late = await withDelivery({}, (s) => s.runDue(hook.id, now + 6 * 60_000));
    expect(late).toMatchObject({ attempted: 1, delivered: 1, nextDueMs: null });
    expect((await deliveries(org, hook.id))[0]).toMatchObject({ status: 'delivered', attempt_count: 2 });
  });

  it('checks the URL policy again at dispatch time', async () => {
    const org = await createOrg();
    const rx = receiver('policy');
    const hook = await createWebhook(org, rx.url, ['agent.updated']); // accepted while private URLs are allowed
    await announce(org);
    await withDelivery({ allowPrivateUrls: false }, (s) => s.runDue(hook.id, Date.now()));
    const [d] = await deliveries(org, hook.id);
    expect(d).toMatchObject({ status: 'failed', attempt_count: 1, http_status_code: null });
    expect(d.last_error).toMatch(/^url refused at dispatch: must use https/);
    expect(await rx.requests()).toEqual([]);
  });

  it("lets a deleted subscription's dispatcher forget it", async () => {
    const org = await createOrg();
    const hook = await createWebhook(org, receiver('gone-sub').url, ['agent.updated']);
    await sql('DELETE FROM webhook_subscriptions WHERE id = $1', [hook.id]);
    expect(await dispatcher(hook.id).runDue(hook.id, Date.now())).toMatchObject({ gone: true, attempted: 0 });
  });
});
