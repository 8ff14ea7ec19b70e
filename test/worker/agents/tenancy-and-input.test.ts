import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sql } from '../../support/db.ts';
import { agentInput, call, createAgent, createOrg, expectProblem, json } from '../../support/worker.ts';

describe('tenant isolation', () => {
  it("makes another tenant's agent and credentials a 404 on every route", async () => {
    const a = await createOrg();
    const b = await createOrg();
    const agent = await createAgent(a);
    const cred = await json(await call('POST', `/v1/agents/${agent.agent_id}/credentials`, { token: a.api_key }));
    const id = agent.agent_id;
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/v1/agents/${id}`],
      ['PATCH', `/v1/agents/${id}`, { owner: 'mallory' }],
      ['DELETE', `/v1/agents/${id}`],
      ['POST', `/v1/agents/${id}/credentials`, {}],
      ['GET', `/v1/agents/${id}/credentials`],
      ['DELETE', `/v1/agents/${id}/credentials/${cred.credential_id}`],
    ];
    for (const [method, path, body] of attempts) {
      await expectProblem(await call(method, path, { token: b.api_key, body }), 404, 'not_found');
    }
    // Nothing changed for the owner.
    const still = await json(await call('GET', `/v1/agents/${id}`, { token: a.api_key }));
    expect(still.status).toBe('active');
    expect(still.owner).toBe(agent.owner);
    const creds = await json(await call('GET', `/v1/agents/${id}/credentials`, { token: a.api_key }));
    expect(creds.data.map((c: { status: string }) => c.status)).toEqual(['active']);
  });

  it('never mixes tenants in lists', async () => {
    const a = await createOrg();
    const b = await createOrg();
    await createAgent(a, agentInput(1));
    await createAgent(b, agentInput(2));
    const listA = await json(await call('GET', '/v1/agents', { token: a.api_key }));
    const listB = await json(await call('GET', '/v1/agents', { token: b.api_key }));
    expect(listA.data.every((x: { organization_id: string }) => x.organization_id === a.organization_id)).toBe(true);
    expect(listB.data.every((x: { organization_id: string }) => x.organization_id === b.organization_id)).toBe(true);
    expect(listA.data).toHaveLength(1);
    expect(listB.data).toHaveLength(1);
  });
});

describe('bad input never yields a 500', () => {
  it('malformed JSON', async () => {
    const org = await createOrg();
    await expectProblem(
      await call('POST', '/v1/agents', { token: org.api_key, rawBody: '{"email": ' }),
      400,
      'malformed_json',
    );
  });

  it('wrong types and missing fields list the offending fields', async () => {
    const org = await createOrg();
    const p = await expectProblem(
      await call('POST', '/v1/agents', {
        token: org.api_key,
        body: { ...agentInput(), capabilities: 'search', email: 7 },
      }),
      400,
      'validation_failed',
    );
    const paths = p.errors.map((e: { path: string }) => e.path);
    expect(paths).toContain('capabilities');
    expect(paths).toContain('email');
    const missing = await expectProblem(
      await call('POST', '/v1/agents', { token: org.api_key, body: {} }),
      400,
      'validation_failed',
    );
    expect(missing.errors.map((e: { path: string }) => e.path)).toEqual(
      expect.arrayContaining(['email', 'owner', 'agent_type']),
    );
  });

  it('unknown fields', async () => {
    const org = await createOrg();
    await expectProblem(
      await call('POST', '/v1/agents', { token: org.api_key, body: { ...agentInput(), is_admin: true } }),
      400,
      'validation_failed',
    );
    const agent = await createAgent(org);
    await expectProblem(
      await call('PATCH', `/v1/agents/${agent.agent_id}`, {
        token: org.api_key,
        body: { organization_id: crypto.randomUUID() },
      }),
      400,
      'validation_failed',
    );
    await expectProblem(
      await call('PATCH', `/v1/agents/${agent.agent_id}`, { token: org.api_key, body: {} }),
      400,
      'validation_failed',
    );
  });

  it('a non-UUID id', async () => {
    const org = await createOrg();
    const paths = [
      '/v1/agents/not-a-uuid',
      "/v1/agents/1'%20OR%20'1'='1",
      `/v1/agents/${crypto.randomUUID()}/credentials/xyz`,
    ];
    for (const path of paths) {
      const method = path.endsWith('xyz') ? 'DELETE' : 'GET';
      await expectProblem(await call(method, path, { token: org.api_key }), 400, 'validation_failed');
    }
  });

  it('an unknown agent id', async () => {
    const org = await createOrg();
    await expectProblem(
      await call('GET', `/v1/agents/${crypto.randomUUID()}`, { token: org.api_key }),
      404,
      'not_found',
    );
  });

  it('a body over 1 MiB', async () => {
    const org = await createOrg();
    const big = JSON.stringify({ ...agentInput(), owner: 'x'.repeat(1024 * 1024 + 10) });
    await expectProblem(
      await call('POST', '/v1/agents', { token: org.api_key, rawBody: big }),
      413,
      'payload_too_large',
    );
  });

  it('a missing, malformed or wrong key', async () => {
    const org = await createOrg();
    await expectProblem(await call('GET', '/v1/agents'), 401, 'unauthorized');
    await expectProblem(
      await call('GET', '/v1/agents', { headers: { authorization: 'Basic abc' } }),
      401,
      'unauthorized',
    );
    await expectProblem(await call('GET', '/v1/agents', { token: 'garbage' }), 401, 'unauthorized');
    const wrong = org.api_key.slice(0, -4) + (org.api_key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await expectProblem(await call('GET', '/v1/agents', { token: wrong }), 401, 'unauthorized');
  });

  it('an unknown route is a problem+json 404', async () => {
    await expectProblem(await call('GET', '/nope'), 404, 'not_found');
  });
});

describe('secrets', () => {
  let lines: string[] = [];
  beforeEach(() => {
    lines = [];
    for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '));
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it('API keys and client secrets appear in one response each and nowhere in the database or logs', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const cred = await json(await call('POST', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key }));
    // Exercise reads that could echo them.
    const bodies = [
      await (await call('GET', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key })).text(),
      await (await call('GET', `/v1/agents/${agent.agent_id}`, { token: org.api_key })).text(),
      await (await call('GET', '/v1/agents', { token: org.api_key })).text(),
    ];
    for (const secret of [org.api_key, cred.client_secret]) {
      for (const body of bodies) expect(body).not.toContain(secret);
      for (const line of lines) expect(line).not.toContain(secret);
      const hits = await sql<{ n: string }>(
        `SELECT count(*) AS n FROM (
           SELECT key_hash AS v FROM api_keys UNION ALL SELECT key_id FROM api_keys
           UNION ALL SELECT secret_hash FROM credentials
           UNION ALL SELECT payload::text FROM audit_events WHERE organization_id = $2
           UNION ALL SELECT name FROM organizations WHERE organization_id = $2
         ) s WHERE position($1 in v) > 0`,
        [secret, org.organization_id],
      );
      expect(Number(hits[0]!.n)).toBe(0);
    }
    // Only hashes are stored.
    const [row] = await sql<{ secret_hash: string }>('SELECT secret_hash FROM credentials WHERE credential_id = $1', [
      cred.credential_id,
    ]);
    expect(row!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
