// GET /v1/webhooks/{id}/secret: a receiver that lost its signing secret reads it back (audited) and verifies
// the next delivery with the `standardwebhooks` library; another tenant gets 404.
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret } from '../../../worker/features/webhooks/standard-webhooks.ts';
import { clockedApp, MovableClock } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import { createWebhook, eventually, receiver, verify } from '../../support/webhooks.ts';
import { call, createAgent, createOrg, expectProblem, json } from '../../support/worker.ts';

const readSecret = (token: string, id: string) => call('GET', `/v1/webhooks/${id}/secret`, { token });

const secretReads = (orgId: string) =>
  sql<{ actor: string; subject: string; payload: Record<string, unknown> }>(
    `SELECT actor, subject, payload FROM audit_events WHERE organization_id = $1 AND event_type = 'webhook.secret_read' ORDER BY seq`,
    [orgId],
  );

describe('GET /v1/webhooks/{id}/secret', () => {
  it('returns the secret a receiver verifies the next delivery with', async () => {
    const org = await createOrg();
    const rx = receiver('lost-secret');
    const hook = await createWebhook(org, rx.url);
    const res = await readSecret(org.api_key, hook.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const read = await json(res);
    expect(read).toEqual({ secret: hook.secret });

    await createAgent(org);
    const [req] = await eventually(
      () => rx.requests(),
      (r) => r.length === 1,
      'the delivery',
    );
    expect(verify(read.secret, req!)).toMatchObject({ type: 'agent.created' });
    expect(() => verify(generateWebhookSecret(), req!)).toThrow(/signature/i);
  });

  it('returns both secrets during a rotation overlap, each verifying deliveries, and only the new one after it', async () => {
    const org = await createOrg();
    const rx = receiver('overlap');
    const hook = await createWebhook(org, rx.url);
    const rotated = await json(await call('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { token: org.api_key }));
    const read = await json(await readSecret(org.api_key, hook.id));
    expect(read).toEqual({
      secret: rotated.secret,
      previous_secret: hook.secret,
      previous_expires_at: rotated.previous_secret_expires_at,
    });

    await createAgent(org);
    const [req] = await eventually(
      () => rx.requests(),
      (r) => r.length === 1,
      'the delivery',
    );
    expect(verify(read.secret, req!)).toMatchObject({ type: 'agent.created' });
    expect(verify(read.previous_secret, req!)).toMatchObject({ type: 'agent.created' });

    const after = new MovableClock(new Date(Date.parse(rotated.previous_secret_expires_at) + 1).toISOString());
    const later = await clockedApp(after)('GET', `/v1/webhooks/${hook.id}/secret`, { token: org.api_key });
    expect(await json(later)).toEqual({ secret: rotated.secret });
  });

  it('records each read as webhook.secret_read, without the secret', async () => {
    const org = await createOrg();
    const hook = await createWebhook(org, 'https://hooks.example.com/audited');
    await readSecret(org.api_key, hook.id);
    await call('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { token: org.api_key });
    await readSecret(org.api_key, hook.id);
    const reads = await secretReads(org.organization_id);
    expect(reads).toEqual([
      { actor: expect.stringMatching(/^api_key:/), subject: hook.id, payload: { previous_included: false } },
      { actor: expect.stringMatching(/^api_key:/), subject: hook.id, payload: { previous_included: true } },
    ]);
    const chain = await sql<{ r: string }>(
      'SELECT row_to_json(e)::text AS r FROM audit_events e WHERE organization_id = $1',
      [org.organization_id],
    );
    expect(chain.map((c) => c.r).join('\n')).not.toContain(hook.secret.slice('whsec_'.length));
    // The chain with the reads in it still verifies.
    expect(await json(await call('GET', '/v1/audit/verify?full=true', { token: org.api_key }))).toMatchObject({
      verified: true,
    });
  });

  it("answers 404 for another tenant's subscription and unknown ids, and records nothing", async () => {
    const [owner, other] = [await createOrg(), await createOrg()];
    const hook = await createWebhook(owner, 'https://hooks.example.com/owner');
    const res = await readSecret(other.api_key, hook.id);
    const body = await expectProblem(res, 404, 'not_found');
    expect(JSON.stringify(body)).not.toContain(hook.secret.slice('whsec_'.length));
    await expectProblem(await readSecret(owner.api_key, crypto.randomUUID()), 404, 'not_found');
    await expectProblem(await readSecret(owner.api_key, 'not-a-uuid'), 400, 'validation_failed');
    await expectProblem(await call('GET', `/v1/webhooks/${hook.id}/secret`), 401, 'unauthorized');
    expect(await secretReads(owner.organization_id)).toEqual([]);
    expect(await secretReads(other.organization_id)).toEqual([]);
  });
});
