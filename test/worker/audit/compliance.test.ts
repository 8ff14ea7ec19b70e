// Compliance report (agent identity, audit trail, caching) and the AGNTCY agent-card export.

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../worker/app.ts';
import { AuditVerificationService } from '../../../worker/features/audit/audit-verification.service.ts';
import { ComplianceService, reportCacheKey } from '../../../worker/features/audit/compliance.service.ts';
import { Cache } from '../../../worker/platform/cache.ts';
import type { Clock } from '../../../worker/platform/clock.ts';
import type { Queryable } from '../../../worker/platform/db.ts';
import { testNow } from '../../support/clocked-app.ts';
import { sql, testDb } from '../../support/db.ts';
import { agentInput, BASE, call, createAgent, createOrg, json, type Org } from '../../support/worker.ts';

const bindings = env as unknown as Record<string, string>;
const redisConfigured = new Cache(
  bindings.UPSTASH_REDIS_REST_URL,
  bindings.UPSTASH_REDIS_REST_TOKEN,
  bindings.CACHE_KEY_PREFIX,
).enabled;

class MovableClock implements Clock {
  constructor(private ms: number) {}
  now = () => new Date(this.ms);
  advance(seconds: number) {
    this.ms += seconds * 1000;
  }
}

/** The real Worker app with a clock the test moves, called in-process with the real bindings. */
function clockedApp(clock: Clock) {
  const app = createApp({ clock });
  return async (path: string, token: string) => {
    const ctx = createExecutionContext();
    const res = await app.request(`${BASE}${path}`, { headers: { authorization: `Bearer ${token}` } }, env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
}

async function report(org: Org) {
  const res = await call('GET', '/v1/compliance/report', { token: org.api_key });
  expect(res.status).toBe(200);
  return json(res);
}

const section = (r: any, name: string) => r.sections.find((s: { name: string }) => s.name === name);

/** Gives every agent of the org a DID (the DID issue assigns one at creation; this keeps the test independent of it). */
async function ensureDids(org: Org) {
  await sql(
    `UPDATE agents SET did = 'did:web:idp.test:agents:' || agent_id WHERE organization_id = $1 AND did IS NULL`,
    [org.organization_id],
  );
}

async function issueCredential(org: Org, agentId: string, days?: number) {
  const res = await call('POST', `/v1/agents/${agentId}/credentials`, {
    token: org.api_key,
    body: days ? { expires_in_days: days } : {},
  });
  expect(res.status).toBe(201);
  return json(res);
}

describe('GET /v1/compliance/report: agent identity', () => {
  it('passes when every agent has a DID and valid credentials', async () => {
    const org = await createOrg('pro');
    const a = await createAgent(org, agentInput(1));
    await createAgent(org, agentInput(2));
    await issueCredential(org, a.agent_id, 90);
    await ensureDids(org);
    const r = await report(org);
    expect(r).toMatchObject({ organization_id: org.organization_id, overall_status: 'pass', from_cache: false });
    expect(Date.parse(r.generated_at)).not.toBeNaN();
    expect(r.sections.map((s: { name: string }) => s.name)).toEqual(['agent-identity', 'audit-trail']);
    const identity = section(r, 'agent-identity');
    expect(identity.status).toBe('pass');
    expect(identity.findings).toEqual([
      expect.objectContaining({ severity: 'info', code: 'agents_checked', count: 2 }),
    ]);
    expect(section(r, 'audit-trail')).toMatchObject({
      status: 'pass',
      findings: [expect.objectContaining({ code: 'audit_chain_verified', severity: 'info' })],
    });
  });

  it('fails naming the agent that has no DID', async () => {
    const org = await createOrg('pro');
    await createAgent(org, agentInput(1));
    const bare = await createAgent(org, agentInput(2));
    await ensureDids(org);
    await sql('UPDATE agents SET did = NULL WHERE agent_id = $1', [bare.agent_id]);
    const r = await report(org);
    expect(r.overall_status).toBe('fail');
    const identity = section(r, 'agent-identity');
    expect(identity.status).toBe('fail');
    const failing = identity.findings.filter((f: { severity: string }) => f.severity === 'fail');
    expect(failing).toEqual([expect.objectContaining({ code: 'agent_missing_did', agent_id: bare.agent_id })]);
    expect(section(r, 'audit-trail').status).toBe('pass');
  });

  it('fails naming an expired, unrevoked credential', async () => {
    const org = await createOrg('pro');
    const agent = await createAgent(org, agentInput(1));
    await ensureDids(org);
    const cred = await issueCredential(org, agent.agent_id, 30);
    const expiredAt = new Date(testNow().getTime() - 86_400_000).toISOString();
    await sql('UPDATE credentials SET expires_at = $2 WHERE credential_id = $1', [cred.credential_id, expiredAt]);
    const r = await report(org);
    expect(r.overall_status).toBe('fail');
    expect(section(r, 'agent-identity').findings).toContainEqual(
      expect.objectContaining({
        severity: 'fail',
        code: 'credential_expired',
        credential_id: cred.credential_id,
        agent_id: agent.agent_id,
        expires_at: expiredAt,
      }),
    );
  });

  it('ignores revoked credentials, expired or not', async () => {
    const org = await createOrg('pro');
    const agent = await createAgent(org, agentInput(1));
    await ensureDids(org);
    const cred = await issueCredential(org, agent.agent_id, 2);
    expect(
      (await call('DELETE', `/v1/agents/${agent.agent_id}/credentials/${cred.credential_id}`, { token: org.api_key }))
        .status,
    ).toBe(204);
    await sql("UPDATE credentials SET expires_at = now() - interval '1 day' WHERE credential_id = $1", [
      cred.credential_id,
    ]);
    expect(section(await report(org), 'agent-identity').status).toBe('pass');
  });

  it('warns about a credential expiring within 7 days', async () => {
    const org = await createOrg('pro');
    const agent = await createAgent(org, agentInput(1));
    await ensureDids(org);
    await issueCredential(org, agent.agent_id, 90);
    const soon = await issueCredential(org, agent.agent_id, 3);
    const r = await report(org);
    expect(r.overall_status).toBe('warn');
    const identity = section(r, 'agent-identity');
    expect(identity.status).toBe('warn');
    const flagged = identity.findings.filter((f: { severity: string }) => f.severity !== 'info');
    expect(flagged).toEqual([
      expect.objectContaining({
        severity: 'warn',
        code: 'credential_expiring',
        credential_id: soon.credential_id,
        expires_at: soon.expires_at,
      }),
    ]);
  });

  it('ignores decommissioned agents', async () => {
    const org = await createOrg('pro');
    await createAgent(org, agentInput(1));
    const gone = await createAgent(org, agentInput(2));
    const cred = await issueCredential(org, gone.agent_id, 3);
    expect((await call('DELETE', `/v1/agents/${gone.agent_id}`, { token: org.api_key })).status).toBe(200);
    await ensureDids(org);
    // The decommissioned agent has no DID and an expired credential: neither counts.
    await sql('UPDATE agents SET did = NULL WHERE agent_id = $1', [gone.agent_id]);
    await sql("UPDATE credentials SET expires_at = now() - interval '1 day' WHERE credential_id = $1", [
      cred.credential_id,
    ]);
    const r = await report(org);
    expect(r.overall_status).toBe('pass');
    expect(section(r, 'agent-identity').findings).toEqual([
      expect.objectContaining({ code: 'agents_checked', count: 1 }),
    ]);
  });

  it("never reports another tenant's agents", async () => {
    const a = await createOrg('pro');
    const b = await createOrg('pro');
    await createAgent(a, agentInput(1));
    await createAgent(b, agentInput(1));
    await ensureDids(b);
    await sql('UPDATE agents SET did = NULL WHERE organization_id = $1', [a.organization_id]);
    expect((await report(a)).overall_status).toBe('fail');
    const rb = await report(b);
    expect(rb.overall_status).toBe('pass');
    expect(JSON.stringify(rb)).not.toContain(a.organization_id);
  });
});

describe('compliance report caching', () => {
  it('serves the cached report within 300 s and rebuilds it after (moved clock)', async () => {
    const org = await createOrg('pro');
    await createAgent(org, agentInput(1));
    await ensureDids(org);
    const clock = new MovableClock(testNow().getTime());
    const get = clockedApp(clock);
    const first = await json(await get('/v1/compliance/report', org.api_key));
    expect(first.from_cache).toBe(false);

    // Something changes that the cached report does not yet show.
    await sql('UPDATE agents SET did = NULL WHERE organization_id = $1', [org.organization_id]);
    clock.advance(299);
    const second = await json(await get('/v1/compliance/report', org.api_key));
    clock.advance(1);
    const third = await json(await get('/v1/compliance/report', org.api_key));
    expect(third.from_cache).toBe(false);
    expect(third.overall_status).toBe('fail');
    expect(Date.parse(third.generated_at) - Date.parse(first.generated_at)).toBe(300_000);

    if (redisConfigured) {
      // With Redis (the Upstash bridge), the report within 300 s is the cached one, unchanged.
      expect(second).toEqual({ ...first, from_cache: true });
    } else {
      // Without Redis there is no cache: every report is built fresh and says so.
      expect(second.from_cache).toBe(false);
      expect(second.overall_status).toBe('fail');
    }
  });

  it('caches under compliance:report:<org> and judges freshness by the clock (any cache)', async () => {
    // A map standing in for Redis, so the cache logic is exercised with or without REDIS_URL.
    const store = new Map<string, { value: unknown; ttl: number }>();
    const cache = {
      getJson: async <T>(key: string) => store.get(key)?.value as T | undefined,
      setJson: async (key: string, value: unknown, ttl: number) => void store.set(key, { value, ttl }),
    };
    const org = await createOrg('pro');
    const clock = new MovableClock(Date.parse('2030-01-01T00:00:00Z'));
    const db = testDb();
    try {
      const service = new ComplianceService(db, cache, clock, new AuditVerificationService(db, clock));
      const first = await service.generateReport(org.organization_id);
      expect(first.from_cache).toBe(false);
      expect(store.get(reportCacheKey(org.organization_id))).toEqual({
        value: { ...first, from_cache: undefined },
        ttl: 300,
      });
      clock.advance(299);
      expect(await service.generateReport(org.organization_id)).toEqual({ ...first, from_cache: true });
      clock.advance(1);
      const rebuilt = await service.generateReport(org.organization_id);
      expect(rebuilt.from_cache).toBe(false);
      expect(rebuilt.generated_at).toBe('2030-01-01T00:05:00.000Z');
      // A clock moved back before the cached report's generation does not serve it either.
      clock.advance(-600);
      expect((await service.generateReport(org.organization_id)).from_cache).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('turns a failing section builder into a failed section, not an error, and does not cache it', async () => {
    const org = await createOrg('pro');
    const store = new Map<string, unknown>();
    const cache = {
      getJson: async <T>(key: string) => store.get(key) as T | undefined,
      setJson: async (key: string, value: unknown) => void store.set(key, value),
    };
    const clock = new MovableClock(testNow().getTime());
    const db = testDb();
    // Agent queries fail (as a lost connection would); the audit chain still verifies.
    const flaky: Queryable = {
      query: async <T>(text: string, params?: unknown[]) => {
        if (/FROM agents|FROM credentials/.test(text)) throw new Error('connection lost');
        return db.query<T>(text, params);
      },
    };
    try {
      const service = new ComplianceService(flaky, cache, clock, new AuditVerificationService(db, clock));
      const r = await service.generateReport(org.organization_id);
      expect(r.overall_status).toBe('fail');
      expect(section(r, 'agent-identity')).toEqual({
        name: 'agent-identity',
        status: 'fail',
        findings: [expect.objectContaining({ severity: 'fail', code: 'section_error' })],
      });
      expect(JSON.stringify(r)).not.toContain('connection lost');
      expect(section(r, 'audit-trail').status).toBe('pass');
      expect(store.size).toBe(0);
      // The audit-trail builder failing as well still yields a report.
      const broken = new ComplianceService(flaky, cache, clock, {
        verifyChain: async () => {
          throw new Error('boom');
        },
      } as unknown as AuditVerificationService);
      // (Another organization: the first report's full walk of this one would be reused for 300 s.)
      const r2 = await broken.generateReport((await createOrg('pro')).organization_id);
      expect(r2.sections.map((s: { status: string }) => s.status)).toEqual(['fail', 'fail']);
    } finally {
      await db.close();
    }
  });
});

describe('GET /v1/compliance/agent-cards', () => {
  it("exports AGNTCY cards for every agent that is not decommissioned, and only this tenant's", async () => {
    const org = await createOrg('pro');
    const other = await createOrg('pro');
    await createAgent(other, agentInput(9));
    const withDid = await createAgent(org, { ...agentInput(1), endpoint: 'https://a1.example.com/agent' });
    const withoutDid = await createAgent(org, agentInput(2));
    const gone = await createAgent(org, agentInput(3));
    expect((await call('DELETE', `/v1/agents/${gone.agent_id}`, { token: org.api_key })).status).toBe(200);
    await sql("UPDATE agents SET did = 'did:web:idp.test:agents:' || agent_id WHERE agent_id = $1", [withDid.agent_id]);
    await sql('UPDATE agents SET did = NULL WHERE agent_id = $1', [withoutDid.agent_id]);

    const res = await call('GET', '/v1/compliance/agent-cards', { token: org.api_key });
    expect(res.status).toBe(200);
    const { agent_cards } = await json(res);
    expect(agent_cards).toEqual([
      {
        id: `did:web:idp.test:agents:${withDid.agent_id}`,
        name: 'agent1@example.com',
        capabilities: ['search', 'summarize'],
        endpoint: 'https://a1.example.com/agent',
        created_at: withDid.created_at,
        agntcy_schema_version: '1.0',
      },
      {
        id: withoutDid.agent_id,
        name: 'agent2@example.com',
        capabilities: ['search', 'summarize'],
        endpoint: null,
        created_at: withoutDid.created_at,
        agntcy_schema_version: '1.0',
      },
    ]);
  });

  it('requires a tenant API key', async () => {
    expect((await call('GET', '/v1/compliance/agent-cards')).status).toBe(401);
    expect((await call('GET', '/v1/compliance/report')).status).toBe(401);
  });
});
