import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, agentInput, call, createAgent, createOrg, expectProblem, json } from '../../support/worker.ts';

describe('organizations (operator)', () => {
  it('creates an organization and shows its API key once', async () => {
    const res = await call('POST', '/v1/admin/organizations', {
      token: ADMIN_TOKEN,
      body: { name: 'Acme', tier: 'pro' },
    });
    expect(res.status).toBe(201);
    const org = await json(res);
    expect(org).toMatchObject({ name: 'Acme', tier: 'pro' });
    expect(org.organization_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(org.api_key).toMatch(/^aidp_[\w-]{12}_[\w-]{43}$/);
  });

  it('defaults to the free tier', async () => {
    const org = await createOrg();
    expect(org.tier).toBe('free');
  });

  it('requires the admin token', async () => {
    await expectProblem(await call('POST', '/v1/admin/organizations', { body: { name: 'x' } }), 401, 'unauthorized');
    await expectProblem(
      await call('POST', '/v1/admin/organizations', { token: 'wrong-token-wrong-token', body: { name: 'x' } }),
      401,
      'unauthorized',
    );
    const org = await createOrg();
    await expectProblem(
      await call('POST', '/v1/admin/organizations', { token: org.api_key, body: { name: 'x' } }),
      401,
      'unauthorized',
    );
  });

  it('validates the body', async () => {
    const bad = [{}, { name: '' }, { name: 'x', tier: 'platinum' }, { name: 'x', extra: 1 }, { name: 42 }];
    for (const body of bad) {
      const p = await expectProblem(
        await call('POST', '/v1/admin/organizations', { token: ADMIN_TOKEN, body }),
        400,
        'validation_failed',
      );
      expect(p.errors.length).toBeGreaterThan(0);
    }
  });
});

describe('agents', () => {
  it('creates, reads, lists, updates and decommissions an agent', async () => {
    const org = await createOrg();
    const created = await createAgent(org, {
      ...agentInput(1),
      endpoint: 'https://agent.example.com',
      version: '1.2.0',
    });
    expect(created).toMatchObject({
      organization_id: org.organization_id,
      email: 'agent1@example.com',
      owner: 'team-1',
      agent_type: 'assistant',
      capabilities: ['search', 'summarize'],
      endpoint: 'https://agent.example.com',
      version: '1.2.0',
      status: 'active',
    });

    const got = await json(await call('GET', `/v1/agents/${created.agent_id}`, { token: org.api_key }));
    expect(got).toEqual(created);

    const patched = await call('PATCH', `/v1/agents/${created.agent_id}`, {
      token: org.api_key,
      body: { owner: 'team-x', capabilities: ['plan'] },
    });
    expect(patched.status).toBe(200);
    expect(await json(patched)).toMatchObject({ owner: 'team-x', capabilities: ['plan'], email: 'agent1@example.com' });

    const del = await call('DELETE', `/v1/agents/${created.agent_id}`, { token: org.api_key });
    expect(del.status).toBe(200);
    expect((await json(del)).status).toBe('decommissioned');

    // Decommissioning is idempotent; changing a decommissioned agent is a conflict.
    expect((await call('DELETE', `/v1/agents/${created.agent_id}`, { token: org.api_key })).status).toBe(200);
    await expectProblem(
      await call('PATCH', `/v1/agents/${created.agent_id}`, { token: org.api_key, body: { owner: 'y' } }),
      409,
      'agent_not_active',
    );
    await expectProblem(
      await call('POST', `/v1/agents/${created.agent_id}/credentials`, { token: org.api_key, body: {} }),
      409,
      'agent_not_active',
    );
  });

  it('paginates newest first with a cursor', async () => {
    const org = await createOrg('pro');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createAgent(org, agentInput(i))).agent_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await json(await call('GET', `/v1/agents${q}`, { token: org.api_key }));
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((a: { agent_id: string }) => a.agent_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('rejects bad list parameters', async () => {
    const org = await createOrg();
    for (const q of ['?limit=0', '?limit=101', '?limit=abc', '?cursor=%%%', '?cursor=bm9wZQ']) {
      await expectProblem(await call('GET', `/v1/agents${q}`, { token: org.api_key }), 400, 'validation_failed');
    }
  });
});

describe('credentials', () => {
  it('issues a secret once, lists without it, and revokes', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const res = await call('POST', `/v1/agents/${agent.agent_id}/credentials`, {
      token: org.api_key,
      body: { expires_in_days: 30 },
    });
    expect(res.status).toBe(201);
    const cred = await json(res);
    expect(cred.client_id).toBe(agent.agent_id);
    expect(cred.client_secret).toMatch(/^aidp_cs_[\w-]{43}$/);
    const days = (Date.parse(cred.expires_at) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    const listRes = await call('GET', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key });
    const listText = await listRes.text();
    expect(listText).not.toContain(cred.client_secret);
    const list = JSON.parse(listText);
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ credential_id: cred.credential_id, status: 'active', revoked_at: null });

    const del = await call('DELETE', `/v1/agents/${agent.agent_id}/credentials/${cred.credential_id}`, {
      token: org.api_key,
    });
    expect(del.status).toBe(204);
    const after = await json(await call('GET', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key }));
    expect(after.data[0].status).toBe('revoked');
  });

  it('accepts a request without a body and applies the default lifetime', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const res = await call('POST', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key });
    expect(res.status).toBe(201);
    const cred = await json(res);
    expect(Math.round((Date.parse(cred.expires_at) - Date.now()) / 86_400_000)).toBe(90);
  });

  it('validates expires_in_days', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    for (const body of [
      { expires_in_days: 0 },
      { expires_in_days: 1.5 },
      { expires_in_days: '3' },
      { expires_in_days: 99999 },
    ]) {
      await expectProblem(
        await call('POST', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key, body }),
        400,
        'validation_failed',
      );
    }
  });

  it('404s an unknown credential', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    await expectProblem(
      await call('DELETE', `/v1/agents/${agent.agent_id}/credentials/${crypto.randomUUID()}`, { token: org.api_key }),
      404,
      'not_found',
    );
  });
});
