import { describe, expect, it } from 'vitest';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { TIER_CONFIG } from '../../../worker/features/tiers/tiers.ts';
import { bindings, MovableClock } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import {
  agentWithCredential,
  clientCredentials,
  inProcessWorker,
  tokenRequestVia,
  verifyAccessToken,
} from '../../support/oidc.ts';
import { createOrg, json } from '../../support/worker.ts';

const ns = bindings.TENANT_LIMITER as DurableObjectNamespace<TenantLimiter>;
const FREE_TOKENS = TIER_CONFIG.free.max_tokens_per_day!;
// A fixed instant for the counters and analytics: 14 hours before the next UTC midnight.
const NOW = '2026-05-20T10:00:00.000Z';
const NOW_MS = Date.parse(NOW);
const TODAY = '2026-05-20';

describe('daily token limit at /oidc/token', () => {
  it('issues the last token of the day and answers the next request 429 with an OAuth body and Retry-After', async () => {
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const limiter = ns.getByName(org.organization_id);
    await limiter.increment('tokens', FREE_TOKENS, NOW_MS, FREE_TOKENS - 1);

    const last = await tokenRequestVia(worker, agentId, secret);
    expect(last.status).toBe(200);
    expect((await verifyAccessToken((await json(last)).access_token)).payload.sub).toBe(agentId);
    expect((await limiter.usage(NOW_MS)).tokens).toBe(FREE_TOKENS);

    const over = await tokenRequestVia(worker, agentId, secret);
    expect(over.status).toBe(429);
    expect(over.headers.get('content-type')).toMatch(/^application\/json/);
    expect(over.headers.get('retry-after')).toBe(String(14 * 3600));
    const body = await json(over);
    expect(body.error).toBe('rate_limited');
    expect(body.error_description).toContain(String(FREE_TOKENS));
    // A refused request counts nothing.
    expect((await limiter.usage(NOW_MS)).tokens).toBe(FREE_TOKENS);
  });

  it('gives the reservation back when no token is issued (wrong secret)', async () => {
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const limiter = ns.getByName(org.organization_id);
    await limiter.increment('tokens', FREE_TOKENS, NOW_MS, FREE_TOKENS - 1);

    for (let i = 0; i < 3; i++) {
      const wrong = await tokenRequestVia(worker, agentId, `${secret}-wrong`);
      expect(wrong.status).toBe(401);
      expect((await json(wrong)).error).toBe('invalid_client');
    }
    expect((await limiter.usage(NOW_MS)).tokens).toBe(FREE_TOKENS - 1);
    expect((await tokenRequestVia(worker, agentId, secret)).status).toBe(200);
    expect((await limiter.usage(NOW_MS)).tokens).toBe(FREE_TOKENS);
  });

  it('answers 503 temporarily_unavailable and gives the reservation back when node-oidc is unreachable', async () => {
    const down = inProcessWorker({ clock: new MovableClock(NOW), env: { OIDC_ORIGIN: 'http://127.0.0.1:1' } });
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    const res = await tokenRequestVia(down, agentId, secret);
    expect(res.status).toBe(503);
    expect(await json(res)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await ns.getByName(org.organization_id).usage(NOW_MS)).tokens).toBe(0);
  });

  it('counts nothing for an agent that is not active', async () => {
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const org = await createOrg();
    const { agentId, secret } = await agentWithCredential(org);
    await sql(`UPDATE agents SET status = 'suspended' WHERE agent_id = $1`, [agentId]);
    const res = await tokenRequestVia(worker, agentId, secret);
    expect(res.status).toBe(401);
    expect((await json(res)).error).toBe('invalid_client');
    expect((await ns.getByName(org.organization_id).usage(NOW_MS)).tokens).toBe(0);
  });

  it('counts against the tier of the organization (pro has a higher limit)', async () => {
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const org = await createOrg('pro');
    const { agentId, secret } = await agentWithCredential(org);
    await ns.getByName(org.organization_id).increment('tokens', null, NOW_MS, FREE_TOKENS);
    expect((await tokenRequestVia(worker, agentId, secret)).status).toBe(200);
    expect((await ns.getByName(org.organization_id).usage(NOW_MS)).tokens).toBe(FREE_TOKENS + 1);
  });
});

describe('analytics of issued tokens', () => {
  it('records token_issued and agent:<id>:token_issued for every issued token, and nothing for refusals', async () => {
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const org = await createOrg();
    const a = await agentWithCredential(org);
    const b = await agentWithCredential(org);
    for (let i = 0; i < 3; i++) await clientCredentials(a.agentId, a.secret, undefined, worker);
    await clientCredentials(b.agentId, b.secret, undefined, worker);
    expect((await tokenRequestVia(worker, b.agentId, 'wrong')).status).toBe(401);

    const rows = await sql<{ metric_type: string; n: string }>(
      `SELECT metric_type, sum(count)::text AS n FROM analytics_events
       WHERE organization_id = $1 AND date = $2 AND metric_type LIKE '%token_issued' GROUP BY metric_type`,
      [org.organization_id, TODAY],
    );
    expect(Object.fromEntries(rows.map((r) => [r.metric_type, Number(r.n)]))).toEqual({
      token_issued: 4,
      [`agent:${a.agentId}:token_issued`]: 3,
      [`agent:${b.agentId}:token_issued`]: 1,
    });

    const trend = await json(
      await worker(
        new Request(`https://idp.test/v1/analytics/tokens?days=1`, {
          headers: { authorization: `Bearer ${org.api_key}` },
        }),
      ),
    );
    expect(trend).toEqual({ days: 1, series: [{ date: TODAY, count: 4 }] });
    const usage = await json(
      await worker(
        new Request(`https://idp.test/v1/analytics/agent-usage`, {
          headers: { authorization: `Bearer ${org.api_key}` },
        }),
      ),
    );
    expect(usage.agents.map((x: { agent_id: string; token_count: number }) => [x.agent_id, x.token_count])).toEqual([
      [a.agentId, 3],
      [b.agentId, 1],
    ]);
  });
});
