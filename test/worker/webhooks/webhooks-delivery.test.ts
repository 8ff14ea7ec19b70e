import { abortAllDurableObjects, runDurableObjectAlarm } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { sql } from '../../support/db.ts';
import {
  createWebhook,
  deliveries,
  dispatcher,
  eventually,
  receiver,
  subscription,
  verify,
} from '../../support/webhooks.ts';
import { agentInput, call, createAgent, createOrg, json, type Org } from '../../support/worker.ts';

const DAY = 86_400_000;

/** The single delivery of a subscription once its latest attempt is recorded (no longer pending). */
const settled = (org: Org, id: string) =>
  eventually(
    () => deliveries(org, id),
    (ds) => ds.length === 1 && ds[0].status !== 'pending',
    'first attempt',
  ).then((ds) => ds[0]);

/**
 * Moves the dispatcher's clock forward in `stepMs` steps (each step one `runDue` as of that time) until
 * `done` holds for the subscription's deliveries. Time passes only on paper: nothing sleeps.
 */
async function drive(
  org: Org,
  id: string,
  done: (ds: any[]) => boolean,
  stepMs = 1_500,
  maxSteps = 12,
): Promise<any[]> {
  let t = Date.now();
  for (let i = 0; i < maxSteps; i++) {
    const ds = await deliveries(org, id);
    if (done(ds)) return ds;
    t = Math.max(t, Date.now()) + stepMs;
    await dispatcher(id).runDue(id, t);
  }
  throw new Error(`drive: not done after ${maxSteps} steps: ${JSON.stringify(await deliveries(org, id))}`);
}

describe('webhook delivery', () => {
  it('delivers a signed agent.created event to a well-behaved receiver', async () => {
    const org = await createOrg();
    const rx = receiver('ok');
    const hook = await createWebhook(org, rx.url, ['agent.created', 'agent.updated']);
    const agent = await createAgent(org);
    const d = await settled(org, hook.id);
    expect(d).toMatchObject({
      event_type: 'agent.created',
      status: 'delivered',
      attempt_count: 1,
      http_status_code: 200,
      last_error: null,
    });
    expect(d.delivered_at).not.toBeNull();
    const [req, ...more] = await rx.requests();
    expect(more).toEqual([]);
    expect(req!.method).toBe('POST');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['webhook-id']).toBe(d.event_id);
    const payload = verify(hook.secret, req!);
    expect(Object.keys(payload)).toEqual(['type', 'timestamp', 'data']);
    expect(payload).toMatchObject({
      type: 'agent.created',
      data: { agent: { agent_id: agent.agent_id, organization_id: org.organization_id } },
    });
    expect(() => verify(`whsec_${btoa('another secret, 32 bytes long!!!')}`, req!)).toThrow();

    // Only subscribed event types are delivered: agent.updated yes, credential.created no.
    await call('PATCH', `/v1/agents/${agent.agent_id}`, { token: org.api_key, body: { owner: 'someone else' } });
    await call('POST', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key, body: {} });
    const ds = await eventually(
      () => deliveries(org, hook.id),
      (x) => x.length === 2 && x.every((y) => y.status === 'delivered'),
      'agent.updated',
    );
    expect(ds.map((x) => x.event_type)).toEqual(['agent.updated', 'agent.created']);
  });

  it('retries a receiver that fails twice, with the same webhook-id and body, until it is delivered (3 attempts)', async () => {
    const org = await createOrg();
    const rx = receiver('flaky');
    await rx.script([{ status: 500 }, { status: 502 }]);
    const hook = await createWebhook(org, rx.url);
    await createAgent(org);
    const first = await settled(org, hook.id);
    expect(first).toMatchObject({
      status: 'failed',
      attempt_count: 1,
      http_status_code: 500,
      last_error: 'receiver answered HTTP 500',
    });
    expect(first.next_retry_at).not.toBeNull();
    expect((await subscription(org, hook.id)).failure_count).toBe(1);

    const [d] = await drive(org, hook.id, (ds) => ds[0].status === 'delivered');
    expect(d).toMatchObject({
      status: 'delivered',
      attempt_count: 3,
      http_status_code: 200,
      next_retry_at: null,
      last_error: null,
    });
    const reqs = await rx.requests();
    expect(reqs.map((r) => r.answered)).toEqual([500, 502, 200]);
    expect(new Set(reqs.map((r) => r.headers['webhook-id']))).toEqual(new Set([d.event_id]));
    expect(new Set(reqs.map((r) => r.body)).size).toBe(1);
    for (const r of reqs) verify(hook.secret, r);
    // A success ends the failure streak.
    expect(await subscription(org, hook.id)).toMatchObject({ failure_count: 0, active: true });
  });

  it('dead-letters a delivery whose receiver always fails, after the last attempt of the schedule', async () => {
    const org = await createOrg();
    const rx = receiver('down');
    await rx.script([], { status: 500 });
    const hook = await createWebhook(org, rx.url);
    await createAgent(org);
    await settled(org, hook.id);
    const [d] = await drive(org, hook.id, (ds) => ds[0].status === 'dead_letter');
    // WEBHOOK_RETRY_SCHEDULE is '0,1,1' in tests: three attempts.
    expect(d).toMatchObject({ status: 'dead_letter', attempt_count: 3, http_status_code: 500, next_retry_at: null });
    const reqs = await rx.requests();
    expect(reqs).toHaveLength(3);
    for (const r of reqs) verify(hook.secret, r);
    // Nothing more is attempted however far time goes.
    await dispatcher(hook.id).runDue(hook.id, Date.now() + DAY);
    expect(await rx.requests()).toHaveLength(3);
    expect(await subscription(org, hook.id)).toMatchObject({ active: true, failure_count: 3 });
  });

  it('disables the subscription when the receiver answers 410 Gone', async () => {
    const org = await createOrg();
    const rx = receiver('gone');
    await rx.script([], { status: 410 });
    const hook = await createWebhook(org, rx.url);
    await createAgent(org);
    const d = await settled(org, hook.id);
    expect(d).toMatchObject({ status: 'dead_letter', attempt_count: 1, http_status_code: 410 });
    expect(await subscription(org, hook.id)).toMatchObject({ active: false, disabled_reason: 'endpoint_gone' });
    const audit = await sql<{ event_type: string; actor: string }>(
      `SELECT event_type, actor FROM audit_events WHERE organization_id = $1 AND subject = $2 AND event_type = 'webhook.disabled'`,
      [org.organization_id, hook.id],
    );
    expect(audit).toEqual([{ event_type: 'webhook.disabled', actor: 'system' }]);
    // A disabled subscription is not announced to.
    await createAgent(org, agentInput(2));
    expect(await deliveries(org, hook.id)).toHaveLength(1);
    // Re-activating it clears the reason and the streak.
    const res = await call('PATCH', `/v1/webhooks/${hook.id}`, { token: org.api_key, body: { active: true } });
    expect(await json(res)).toMatchObject({ active: true, disabled_reason: null, failure_count: 0 });
  });

  it('cuts a receiver that hangs at WEBHOOK_TIMEOUT_MS, and retries it on schedule', async () => {
    const org = await createOrg();
    const rx = receiver('hang');
    await rx.script([], { hang: true });
    const hook = await createWebhook(org, rx.url);
    await createAgent(org);
    const d = await settled(org, hook.id);
    expect(d).toMatchObject({ status: 'failed', http_status_code: null });
    expect(d.last_error).toMatch(/^timed out after 1500 ms$/);
    const [dead] = await drive(org, hook.id, (ds) => ds[0].status === 'dead_letter');
    expect(dead).toMatchObject({ attempt_count: 3, last_error: 'timed out after 1500 ms' });
    const reqs = await rx.requests();
    expect(reqs.map((r) => r.answered)).toEqual(['hang', 'hang', 'hang']);
    for (const r of reqs) verify(hook.secret, r);
  });

  it('does not follow redirects', async () => {
    const org = await createOrg();
    const [rx, target] = [receiver('redirect'), receiver('target')];
    await rx.script([], { status: 307, headers: { location: target.url } });
    const hook = await createWebhook(org, rx.url);
    await createAgent(org);
    expect(await settled(org, hook.id)).toMatchObject({ status: 'failed', http_status_code: 307 });
    expect(await target.requests()).toEqual([]);
  });

  it('honours Retry-After, and a pending delivery survives a restart (the alarm is durable)', async () => {
    const org = await createOrg();
    const rx = receiver('later');
    await rx.script([{ status: 503, headers: { 'retry-after': '60' } }]);
    const hook = await createWebhook(org, rx.url);
    const before = Date.now();
    await createAgent(org);
    const d = await settled(org, hook.id);
    expect(d).toMatchObject({ status: 'failed', attempt_count: 1, http_status_code: 503 });
    // The schedule says 1 s; the receiver asked for 60.
    expect(Date.parse(d.next_retry_at)).toBeGreaterThanOrEqual(before + 60_000);
    expect(Date.parse(d.next_retry_at)).toBeLessThan(Date.now() + 61_000);

    // Restart: every Durable Object instance is torn down; only durable storage (the alarm) remains.
    await abortAllDurableObjects();
    expect(await runDurableObjectAlarm(dispatcher(hook.id))).toBe(true);
    const [done] = await deliveries(org, hook.id);
    expect(done).toMatchObject({ status: 'delivered', attempt_count: 2 });
    const reqs = await rx.requests();
    expect(reqs.map((r) => r.answered)).toEqual([503, 200]);
    verify(hook.secret, reqs[1]!, Date.parse(d.next_retry_at));
  });

  it('disables a subscription whose deliveries have all failed for 5 days', async () => {
    const org = await createOrg();
    const rx = receiver('dead');
    await rx.script([], { status: 500 });
    const hook = await createWebhook(org, rx.url);
    await createAgent(org);
    await settled(org, hook.id);
    // 4 days later the streak is not long enough yet.
    await dispatcher(hook.id).runDue(hook.id, Date.now() + 4 * DAY);
    expect(await subscription(org, hook.id)).toMatchObject({ active: true, failure_count: 2 });
    await createAgent(org, agentInput(2));
    await eventually(
      () => deliveries(org, hook.id),
      (ds) => ds.length === 2 && ds[0].status !== 'pending',
      'second event',
    );
    await dispatcher(hook.id).runDue(hook.id, Date.now() + 5 * DAY + 60_000);
    expect(await subscription(org, hook.id)).toMatchObject({ active: false, disabled_reason: 'failing_for_5_days' });
    const ds = await deliveries(org, hook.id);
    expect(ds.map((x) => x.status)).toEqual(['dead_letter', 'dead_letter']);
  });

  it('signs with the old and the new secret for 24 hours after a rotation, then with the new one only', async () => {
    const org = await createOrg();
    const rx = receiver('rotate');
    await rx.script([{ status: 500 }]);
    const hook = await createWebhook(org, rx.url);
    const rotated = await json(await call('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { token: org.api_key }));
    await createAgent(org);
    await settled(org, hook.id);
    const [during] = await rx.requests();
    expect(during!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    // A receiver that holds only the old secret and one that holds only the new one both verify.
    expect(verify(hook.secret, during!)).toMatchObject({ type: 'agent.created' });
    expect(verify(rotated.secret, during!)).toMatchObject({ type: 'agent.created' });

    const after = Date.parse(rotated.previous_secret_expires_at) + 60_000;
    await dispatcher(hook.id).runDue(hook.id, after);
    const [, late] = await rx.requests();
    expect(late!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verify(rotated.secret, late!, after)).toMatchObject({ type: 'agent.created' });
    expect(() => verify(hook.secret, late!, after)).toThrow(/signature/i);
  });

  it('delivers 100 concurrently created events, each exactly once', async () => {
    const org = await createOrg('enterprise');
    const rx = receiver('many');
    const hook = await createWebhook(org, rx.url);
    // 100 agent creations in flight together, 25 at a time (PGlite's socket server takes 64 connections).
    let n = 0;
    const agents: string[] = [];
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (n < 100) {
          const i = n++;
          agents.push((await createAgent(org, agentInput(i))).agent_id);
        }
      }),
    );
    const ds = await eventually(
      () => deliveries(org, hook.id),
      (x) => x.length === 100 && x.every((d) => d.status === 'delivered'),
      '100 deliveries',
      60_000,
    );
    expect(ds.every((d) => d.attempt_count === 1)).toBe(true);
    const reqs = await rx.requests();
    expect(reqs).toHaveLength(100);
    expect(new Set(reqs.map((r) => r.headers['webhook-id'])).size).toBe(100);
    const delivered = reqs.map((r) => verify(hook.secret, r).data.agent.agent_id as string);
    expect(new Set(delivered)).toEqual(new Set(agents));
  }, 120_000);
});
