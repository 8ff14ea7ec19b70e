import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../worker/platform/clock.ts';
import { clockedApp } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import { createWebhook, deliveries, eventually, receiver } from '../../support/webhooks.ts';
import { call, createOrg, expectProblem, json } from '../../support/worker.ts';

// The Worker under test runs with ALLOW_PRIVATE_URLS=true (local receivers); the policy itself is exercised
// through the same app with the switch off, as in production.
const production = clockedApp(systemClock, { ALLOW_PRIVATE_URLS: 'false' });

const auditTypes = async (orgId: string, subject: string) =>
  (
    await sql<{ event_type: string; actor: string }>(
      'SELECT event_type, actor FROM audit_events WHERE organization_id = $1 AND subject = $2 ORDER BY seq',
      [orgId, subject],
    )
  ).map((r) => r.event_type);

describe('webhook subscriptions API', () => {
  it('creates a subscription and returns its whsec_ secret once, encrypted at rest', async () => {
    const org = await createOrg();
    const res = await call('POST', '/v1/webhooks', {
      token: org.api_key,
      body: { name: 'ops', url: 'https://hooks.example.com/agentidp', events: ['agent.created', 'credential.revoked'] },
    });
    expect(res.status).toBe(201);
    const hook = await json(res);
    expect(hook).toMatchObject({
      organization_id: org.organization_id,
      name: 'ops',
      url: 'https://hooks.example.com/agentidp',
      events: ['agent.created', 'credential.revoked'],
      active: true,
      failure_count: 0,
      disabled_reason: null,
    });
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const got = await json(await call('GET', `/v1/webhooks/${hook.id}`, { token: org.api_key }));
    expect(got).not.toHaveProperty('secret');
    const list = await json(await call('GET', '/v1/webhooks', { token: org.api_key }));
    expect(list.data.map((h: any) => h.id)).toEqual([hook.id]);
    expect(JSON.stringify(list)).not.toContain(hook.secret.slice(6));

    const [row] = await sql<{ secret_ciphertext: string }>(
      'SELECT secret_ciphertext FROM webhook_subscriptions WHERE id = $1',
      [hook.id],
    );
    expect(row!.secret_ciphertext).toMatch(/^v1\.k1\./);
    expect(row!.secret_ciphertext).not.toContain(hook.secret.slice(6));
    expect(await auditTypes(org.organization_id, hook.id)).toEqual(['webhook.created']);
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data', 'private'],
    ['https://10.0.0.1/hook', 'private'],
    ['https://[::1]/hook', 'private'],
    ['https://127.0.0.1/hook', 'private'],
    ['https://192.168.1.10/hook', 'private'],
    ['https://localhost/hook', 'public host'],
    ['https://metadata.google.internal/computeMetadata', 'public host'],
    ['https://printer.local/hook', 'public host'],
    ['http://hooks.example.com/hook', 'https'],
    ['https://hooks.example.com:8443/hook', 'port'],
    ['https://user:pw@hooks.example.com/hook', 'credentials'],
    ['not a url', 'valid URL'],
  ])('refuses %s when private URLs are not allowed', async (url, why) => {
    const org = await createOrg();
    const res = await production('POST', '/v1/webhooks', {
      token: org.api_key,
      body: { name: 'x', url, events: ['agent.created'] },
    });
    const body = await expectProblem(res, 400, 'validation_failed');
    expect(body.errors).toEqual([{ path: 'url', message: expect.stringContaining(why) }]);
  });

  it('accepts a public https URL with the switch off, and refuses a private one on PATCH too', async () => {
    const org = await createOrg();
    const ok = await production('POST', '/v1/webhooks', {
      token: org.api_key,
      body: { name: 'x', url: 'https://hooks.example.com/a', events: ['agent.created'] },
    });
    expect(ok.status).toBe(201);
    const hook = await json(ok);
    const res = await production('PATCH', `/v1/webhooks/${hook.id}`, {
      token: org.api_key,
      body: { url: 'https://10.1.2.3/' },
    });
    await expectProblem(res, 400, 'validation_failed');
    expect((await json(await call('GET', `/v1/webhooks/${hook.id}`, { token: org.api_key }))).url).toBe(
      'https://hooks.example.com/a',
    );
  });

  it.each([
    [[], 'events'],
    [['agent.created', 'agent.exploded'], 'events'],
    [['AGENT.CREATED'], 'events'],
  ])('refuses events %j', async (events, path) => {
    const org = await createOrg();
    const res = await call('POST', '/v1/webhooks', {
      token: org.api_key,
      body: { name: 'x', url: 'https://hooks.example.com/', events },
    });
    const body = await expectProblem(res, 400, 'validation_failed');
    expect(body.errors.map((e: any) => e.path)).toContain(path);
  });

  it('refuses missing fields, unknown fields and malformed JSON', async () => {
    const org = await createOrg();
    await expectProblem(
      await call('POST', '/v1/webhooks', { token: org.api_key, body: { url: 'https://a.example.com/' } }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await call('POST', '/v1/webhooks', {
        token: org.api_key,
        body: { name: 'x', url: 'https://a.example.com/', events: ['agent.created'], secret: 'whsec_mine' },
      }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await call('POST', '/v1/webhooks', { token: org.api_key, rawBody: '{"name":' }),
      400,
      'malformed_json',
    );
    await expectProblem(await call('POST', '/v1/webhooks', { body: { name: 'x' } }), 401, 'unauthorized');
  });

  it("answers 404 for another tenant's subscription on every route, and leaves it untouched", async () => {
    const [owner, other] = [await createOrg(), await createOrg()];
    const hook = await createWebhook(owner, 'https://hooks.example.com/owner');
    for (const [method, path, body] of [
      ['GET', `/v1/webhooks/${hook.id}`],
      ['PATCH', `/v1/webhooks/${hook.id}`, { active: false }],
      ['DELETE', `/v1/webhooks/${hook.id}`],
      ['POST', `/v1/webhooks/${hook.id}/rotate-secret`],
      ['GET', `/v1/webhooks/${hook.id}/secret`],
      ['GET', `/v1/webhooks/${hook.id}/deliveries`],
    ] as const) {
      await expectProblem(await call(method, path, { token: other.api_key, body }), 404, 'not_found');
    }
    expect((await json(await call('GET', '/v1/webhooks', { token: other.api_key }))).data).toEqual([]);
    const still = await json(await call('GET', `/v1/webhooks/${hook.id}`, { token: owner.api_key }));
    expect(still).toMatchObject({ active: true, url: 'https://hooks.example.com/owner' });
    await expectProblem(
      await call('GET', `/v1/webhooks/${crypto.randomUUID()}`, { token: owner.api_key }),
      404,
      'not_found',
    );
    await expectProblem(
      await call('GET', '/v1/webhooks/not-a-uuid', { token: owner.api_key }),
      400,
      'validation_failed',
    );
  });

  it('patches name, url, events and active, auditing each change', async () => {
    const org = await createOrg();
    const hook = await createWebhook(org, 'https://hooks.example.com/a');
    const res = await call('PATCH', `/v1/webhooks/${hook.id}`, {
      token: org.api_key,
      body: {
        name: 'renamed',
        url: 'https://hooks.example.com/b',
        events: ['agent.updated', 'agent.updated', 'tier.upgraded'],
        active: false,
      },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      name: 'renamed',
      url: 'https://hooks.example.com/b',
      events: ['agent.updated', 'tier.upgraded'],
      active: false,
    });
    await expectProblem(
      await call('PATCH', `/v1/webhooks/${hook.id}`, { token: org.api_key, body: {} }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await call('PATCH', `/v1/webhooks/${hook.id}`, { token: org.api_key, body: { events: [] } }),
      400,
      'validation_failed',
    );
    expect(await auditTypes(org.organization_id, hook.id)).toEqual(['webhook.created', 'webhook.updated']);
  });

  it('rotates the secret: a new whsec_ secret, the old one kept for 24 hours, audited', async () => {
    const org = await createOrg();
    const hook = await createWebhook(org, 'https://hooks.example.com/a');
    const before = Date.now();
    const res = await call('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { token: org.api_key });
    expect(res.status).toBe(200);
    const rotated = await json(res);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(hook.secret);
    const overlap = Date.parse(rotated.previous_secret_expires_at) - before;
    expect(overlap).toBeGreaterThan(86_400_000 - 60_000);
    expect(overlap).toBeLessThanOrEqual(86_400_000 + 60_000);
    const got = await json(await call('GET', `/v1/webhooks/${hook.id}`, { token: org.api_key }));
    expect(got.previous_secret_expires_at).toBe(rotated.previous_secret_expires_at);
    expect(await auditTypes(org.organization_id, hook.id)).toEqual(['webhook.created', 'webhook.secret_rotated']);
  });

  it('deletes a subscription with its deliveries', async () => {
    const org = await createOrg();
    const rx = receiver('del');
    const hook = await createWebhook(org, rx.url);
    await call('POST', '/v1/agents', {
      token: org.api_key,
      body: { email: 'a@example.com', owner: 'o', agent_type: 'assistant', capabilities: [] },
    });
    await eventually(
      () => deliveries(org, hook.id),
      (ds) => ds.length === 1,
      'one delivery',
    );
    const res = await call('DELETE', `/v1/webhooks/${hook.id}`, { token: org.api_key });
    expect(res.status).toBe(204);
    await expectProblem(await call('GET', `/v1/webhooks/${hook.id}`, { token: org.api_key }), 404, 'not_found');
    await expectProblem(await call('DELETE', `/v1/webhooks/${hook.id}`, { token: org.api_key }), 404, 'not_found');
    expect(await sql('SELECT id FROM webhook_deliveries WHERE subscription_id = $1', [hook.id])).toEqual([]);
    expect(await auditTypes(org.organization_id, hook.id)).toEqual(['webhook.created', 'webhook.deleted']);
  });

  it('lists deliveries with limit and offset, newest first', async () => {
    const org = await createOrg('enterprise');
    const rx = receiver('page');
    const hook = await createWebhook(org, rx.url, ['agent.created']);
    for (let i = 0; i < 3; i++) {
      await call('POST', '/v1/agents', {
        token: org.api_key,
        body: { email: `a${i}@example.com`, owner: 'o', agent_type: 'assistant', capabilities: [] },
      });
    }
    const all = await eventually(
      () => deliveries(org, hook.id),
      (ds) => ds.length === 3,
      'three deliveries',
    );
    const page = await json(
      await call('GET', `/v1/webhooks/${hook.id}/deliveries?limit=1&offset=1`, { token: org.api_key }),
    );
    expect(page.data.map((d: any) => d.id)).toEqual([all[1].id]);
    const created = all.map((d) => Date.parse(d.created_at));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    await expectProblem(
      await call('GET', `/v1/webhooks/${hook.id}/deliveries?limit=0`, { token: org.api_key }),
      400,
      'validation_failed',
    );
  });

  it('is described in the OpenAPI document', async () => {
    const doc = await json(await call('GET', '/openapi.json'));
    const paths = [
      '/v1/webhooks',
      '/v1/webhooks/{id}',
      '/v1/webhooks/{id}/deliveries',
      '/v1/webhooks/{id}/rotate-secret',
    ];
    for (const p of [...paths, '/v1/webhooks/{id}/secret']) {
      expect(doc.paths).toHaveProperty([p]);
    }
  });
});
