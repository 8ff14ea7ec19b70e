import { describe, expect, it } from 'vitest';
import { wantsText } from '../../../worker/features/metrics/routes.ts';
import { ConfigError, loadConfig } from '../../../worker/platform/config.ts';
import { bindings, clockedApp, MovableClock } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import { ADMIN_TOKEN, createOrg, expectProblem, json } from '../../support/worker.ts';

const app = clockedApp(new MovableClock(new Date().toISOString()));
const metrics = (headers: Record<string, string> = {}) =>
  app('GET', '/v1/admin/metrics', { token: ADMIN_TOKEN, headers });

type Sample = { name: string; type: string; labels: Record<string, string>; value: number };
const sum = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((t, s) => t + s.value, 0);

describe('GET /v1/admin/metrics', () => {
  it('needs the operator token: none or a tenant key is 401', async () => {
    await expectProblem(await app('GET', '/v1/admin/metrics'), 401, 'unauthorized');
    const org = await createOrg();
    await expectProblem(await app('GET', '/v1/admin/metrics', { token: org.api_key }), 401, 'unauthorized');
  });

  it('counts requests by route class and status, database connections and limiter calls, as JSON', async () => {
    const before = (await json(await metrics())).samples as Sample[];
    const org = await createOrg();
    expect((await app('GET', '/v1/agents', { token: org.api_key })).status).toBe(200);
    expect((await app('GET', `/v1/agents/${crypto.randomUUID()}`, { token: org.api_key })).status).toBe(404);
    expect((await app('GET', '/livez')).status).toBe(200);

    const res = await metrics();
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await json(res);
    expect(body.scope).toBe('isolate');
    expect(body.isolate.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(body.isolate.started_at))).toBe(false);
    const after = body.samples as Sample[];
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sum(after, name, labels) - sum(before, name, labels);
    expect(delta('agentidp_requests_total', { route_class: 'tenant', status: '200' })).toBe(1);
    expect(delta('agentidp_requests_total', { route_class: 'tenant', status: '404' })).toBe(1);
    expect(delta('agentidp_requests_total', { route_class: 'health', status: '200' })).toBe(1);
    expect(delta('agentidp_requests_total', { route_class: 'operator', status: '200' })).toBe(1);
    expect(delta('agentidp_db_connections_opened_total')).toBeGreaterThan(0);
    expect(delta('agentidp_limiter_calls_total', { method: 'lease', mode: 'blocking' })).toBeGreaterThanOrEqual(1);
    for (const s of after) expect(['counter', 'gauge']).toContain(s.type);
  });

  it('reports webhook deliveries by status from Postgres, across isolates', async () => {
    // Dead-lettered deliveries of a subscription of our own: no dispatcher touches them again.
    const org = await createOrg();
    const sub = crypto.randomUUID();
    await sql(
      `INSERT INTO webhook_subscriptions (id, organization_id, name, url, events, secret_ciphertext)
       VALUES ($1, $2, 'metrics', 'https://hooks.example.com/in', '["agent.created"]', 'v1.test.x.y')`,
      [sub, org.organization_id],
    );
    for (let i = 0; i < 3; i++) {
      await sql(
        `INSERT INTO webhook_deliveries (id, subscription_id, organization_id, event_id, event_type, payload, status)
         VALUES ($1, $2, $3, $4, 'agent.created', '{}', 'dead_letter')`,
        [crypto.randomUUID(), sub, org.organization_id, crypto.randomUUID()],
      );
    }
    const samples = ((await json(await metrics())).samples as Sample[]).filter(
      (s) => s.name === 'agentidp_webhook_deliveries',
    );
    // Other test files deliver meanwhile: ours are at least there, and only known statuses appear.
    expect(sum(samples, 'agentidp_webhook_deliveries', { status: 'dead_letter' })).toBeGreaterThanOrEqual(3);
    for (const s of samples) {
      expect(['pending', 'delivered', 'failed', 'dead_letter']).toContain(s.labels.status);
      expect(s.type).toBe('gauge');
    }
  });

  it('answers the Prometheus text format for Accept: text/plain, every sample labelled with the isolate', async () => {
    const res = await metrics({ accept: 'text/plain' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const isolate = (await json(await metrics())).isolate.id;
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('# TYPE agentidp_requests_total counter');
    expect(lines.some((l) => l.startsWith('# HELP agentidp_limiter_calls_total '))).toBe(true);
    for (const line of lines.filter((l) => !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-z_]+\{([a-z_]+="[^"\\\n]*",)*isolate="[0-9a-f-]{36}"\} -?\d+(\.\d+)?$/);
      expect(line).toContain(`isolate="${isolate}"`);
    }
    // A metric's HELP and TYPE come once, before its samples.
    expect(lines.filter((l) => l === '# TYPE agentidp_requests_total counter')).toHaveLength(1);
  });

  it('negotiates on Accept: JSON unless text/plain is preferred', () => {
    expect(wantsText(undefined)).toBe(false);
    expect(wantsText('*/*')).toBe(false);
    expect(wantsText('application/json')).toBe(false);
    expect(wantsText('text/plain')).toBe(true);
    expect(wantsText('text/plain;version=0.0.4;q=0.9,*/*;q=0.1')).toBe(true);
    expect(wantsText('application/json, text/plain;q=0.5')).toBe(false);
    expect(wantsText('text/*')).toBe(true);
  });
});

describe('LIMITER_SIMULATED_RTT_MS and ENVIRONMENT', () => {
  it('is refused in production, like RATE_LIMIT_BYPASS; production is the default', () => {
    const prod = { ...bindings, ENVIRONMENT: 'production' };
    expect(() => loadConfig({ ...prod, LIMITER_SIMULATED_RTT_MS: '100' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...prod, LIMITER_SIMULATED_RTT_MS: '100' })).toThrow(
      /LIMITER_SIMULATED_RTT_MS is development only/,
    );
    expect(() => loadConfig({ ...prod, RATE_LIMIT_BYPASS: 'true' })).toThrow(/RATE_LIMIT_BYPASS is development only/);
    expect(() => loadConfig({ ...bindings, ENVIRONMENT: undefined, LIMITER_SIMULATED_RTT_MS: '5' })).toThrow(
      /development only/,
    );
    expect(loadConfig({ ...prod, LIMITER_SIMULATED_RTT_MS: '0' }).ENVIRONMENT).toBe('production');
    expect(loadConfig({ ...bindings, LIMITER_SIMULATED_RTT_MS: '100' }).LIMITER_SIMULATED_RTT_MS).toBe(100);
    expect(() => loadConfig({ ...bindings, ENVIRONMENT: 'staging' })).toThrow(/ENVIRONMENT/);
    expect(() => loadConfig({ ...bindings, LIMITER_SIMULATED_RTT_MS: '-1' })).toThrow(/LIMITER_SIMULATED_RTT_MS/);
  });

  it('a production Worker with the switch answers 503 misconfigured naming it', async () => {
    const prod = clockedApp(new MovableClock(new Date().toISOString()), {
      ENVIRONMENT: 'production',
      LIMITER_SIMULATED_RTT_MS: '100',
    });
    const body = await expectProblem(await prod('GET', '/livez'), 503, 'misconfigured');
    expect(body.detail).toContain('LIMITER_SIMULATED_RTT_MS');
  });

  it('in development, delays calls to the limiter object (and only those)', async () => {
    const slow = clockedApp(new MovableClock(new Date().toISOString()), { LIMITER_SIMULATED_RTT_MS: '5' });
    const delayed = async () => sum((await json(await metrics())).samples, 'agentidp_limiter_delayed_calls_total');
    const calls = async () => sum((await json(await metrics())).samples, 'agentidp_limiter_calls_total');
    const before = { delayed: await delayed(), calls: await calls() };
    const org = await createOrg();
    expect((await slow('GET', '/v1/agents', { token: org.api_key })).status).toBe(200);
    expect((await slow('GET', '/livez')).status).toBe(200);
    const made = (await calls()) - before.calls;
    expect(made).toBeGreaterThanOrEqual(1);
    expect((await delayed()) - before.delayed).toBe(made);
  });
});
