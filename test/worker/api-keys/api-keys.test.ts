// Tenant API keys have a lifecycle: list, create (shown once), revoke (204), never the last active key
// (409), audited; a revoked key stops working at once in the isolate that revoked it and within
// API_KEY_CACHE_SECONDS everywhere else.
import { describe, expect, it } from 'vitest';
import { clockedApp, MovableClock } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import { call, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

const keyIdOf = (key: string) => key.split('_')[1]!;

async function newKey(
  org: Org,
  token = org.api_key,
  name?: string,
): Promise<{ id: string; api_key: string; prefix: string; name: string | null }> {
  const res = await call('POST', '/v1/api-keys', { token, body: name === undefined ? {} : { name } });
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${await res.text()}`);
  return json(res);
}

const list = async (token: string) =>
  (await json(await call('GET', '/v1/api-keys', { token }))).data as Array<Record<string, unknown>>;

const auditOf = (orgId: string) =>
  sql<{ event_type: string; actor: string; subject: string }>(
    `SELECT event_type, actor, subject FROM audit_events WHERE organization_id = $1 AND event_type LIKE 'api_key.%' ORDER BY seq`,
    [orgId],
  );

describe('API key lifecycle', () => {
  it('lists the first key without its secret, creates a second one shown once, audits it', async () => {
    const org = await createOrg();
    const [first] = await list(org.api_key);
    expect(first).toMatchObject({ id: keyIdOf(org.api_key), status: 'active', revoked_at: null, name: null });
    expect(org.api_key.startsWith(`${first!.prefix}_`)).toBe(true);

    const created = await newKey(org, org.api_key, 'ci deploy');
    expect(created).toMatchObject({ name: 'ci deploy', prefix: `aidp_${created.id}` });
    expect((await call('GET', '/v1/agents', { token: created.api_key })).status).toBe(200);

    const listed = await list(created.api_key);
    expect(listed.map((k) => k.id).sort()).toEqual([first!.id, created.id].sort());
    const text = JSON.stringify(listed);
    expect(text).not.toContain(created.api_key);
    expect(text).not.toContain(org.api_key);
    const [stored] = await sql<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE key_id = $1', [created.id]);
    expect(stored!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await auditOf(org.organization_id)).toEqual([
      { event_type: 'api_key.created', actor: `api_key:${first!.id}`, subject: created.id },
    ]);
  });

  it('revokes a key: 204, refused at once, listed as revoked, audited; revoking again changes nothing', async () => {
    const org = await createOrg();
    const second = await newKey(org);
    const res = await call('DELETE', `/v1/api-keys/${second.id}`, { token: org.api_key });
    expect(res.status).toBe(204);
    await expectProblem(await call('GET', '/v1/agents', { token: second.api_key }), 401, 'unauthorized');
    const revoked = (await list(org.api_key)).find((k) => k.id === second.id)!;
    expect(revoked.status).toBe('revoked');
    expect(typeof revoked.revoked_at).toBe('string');
    expect((await call('DELETE', `/v1/api-keys/${second.id}`, { token: org.api_key })).status).toBe(204);
    expect((await auditOf(org.organization_id)).map((e) => e.event_type)).toEqual([
      'api_key.created',
      'api_key.revoked',
    ]);
  });

  it('never leaves an organization without an active key: the last one is a 409', async () => {
    const org = await createOrg();
    await expectProblem(
      await call('DELETE', `/v1/api-keys/${keyIdOf(org.api_key)}`, { token: org.api_key }),
      409,
      'last_active_key',
    );
    // With a second key, a key may revoke itself; the one left then cannot be revoked.
    const second = await newKey(org);
    expect((await call('DELETE', `/v1/api-keys/${keyIdOf(org.api_key)}`, { token: org.api_key })).status).toBe(204);
    await expectProblem(await call('GET', '/v1/agents', { token: org.api_key }), 401, 'unauthorized');
    await expectProblem(
      await call('DELETE', `/v1/api-keys/${second.id}`, { token: second.api_key }),
      409,
      'last_active_key',
    );
    expect((await call('GET', '/v1/agents', { token: second.api_key })).status).toBe(200);
  });

  it('two concurrent revocations of the last two keys leave one active key', async () => {
    const org = await createOrg();
    const second = await newKey(org);
    const [a, b] = await Promise.all([
      call('DELETE', `/v1/api-keys/${second.id}`, { token: org.api_key }),
      call('DELETE', `/v1/api-keys/${keyIdOf(org.api_key)}`, { token: second.api_key }),
    ]);
    expect([a.status, b.status]).toContain(204);
    expect([a.status, b.status].every((s) => [204, 401, 409].includes(s))).toBe(true);
    const [{ n }] = (await sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM api_keys WHERE organization_id = $1 AND revoked_at IS NULL',
      [org.organization_id],
    )) as [{ n: number }];
    expect(Number(n)).toBe(1);
  });

  it("another tenant's key is a 404, a malformed id a 400", async () => {
    const a = await createOrg();
    const b = await createOrg();
    const bSecond = await newKey(b);
    await expectProblem(await call('DELETE', `/v1/api-keys/${bSecond.id}`, { token: a.api_key }), 404, 'not_found');
    expect((await call('GET', '/v1/agents', { token: bSecond.api_key })).status).toBe(200);
    expect((await list(a.api_key)).map((k) => k.id)).toEqual([keyIdOf(a.api_key)]);
    await expectProblem(
      await call('DELETE', '/v1/api-keys/not-a-key-id!', { token: a.api_key }),
      400,
      'validation_failed',
    );
  });

  it('caps active keys per organization', async () => {
    const org = await createOrg();
    for (let i = 1; i < 10; i++) await newKey(org);
    await expectProblem(await call('POST', '/v1/api-keys', { token: org.api_key }), 409, 'api_key_limit_reached');
  });

  it('records when a key was last used', async () => {
    const org = await createOrg();
    const key = await newKey(org);
    expect((await list(org.api_key)).find((k) => k.id === key.id)!.last_used_at).toBeNull();
    const app = clockedApp(new MovableClock('2026-03-01T10:00:00Z'));
    expect((await app('GET', '/v1/tier', { token: key.api_key })).status).toBe(200);
    expect((await list(org.api_key)).find((k) => k.id === key.id)!.last_used_at).toBe('2026-03-01T10:00:00.000Z');
  });
});

describe('revocation across isolates (API_KEY_CACHE_SECONDS)', () => {
  it('a key revoked elsewhere keeps working here only until its cache entry expires', async () => {
    const org = await createOrg();
    const key = await newKey(org);
    const clock = new MovableClock('2026-03-01T10:00:00Z');
    const app = clockedApp(clock, { API_KEY_CACHE_SECONDS: '30' });
    expect((await app('GET', '/v1/tier', { token: key.api_key })).status).toBe(200);
    // Another isolate revokes it: this isolate's cache is not told.
    await sql('UPDATE api_keys SET revoked_at = now() WHERE key_id = $1', [key.id]);
    clock.set('2026-03-01T10:00:29Z');
    expect((await app('GET', '/v1/tier', { token: key.api_key })).status).toBe(200);
    clock.set('2026-03-01T10:00:30Z');
    await expectProblem(await app('GET', '/v1/tier', { token: key.api_key }), 401, 'unauthorized');
  });

  it('the isolate that revokes a key refuses it on the next request, cache or not', async () => {
    const org = await createOrg();
    const key = await newKey(org);
    const app = clockedApp(new MovableClock('2026-03-01T10:00:00Z'), { API_KEY_CACHE_SECONDS: '300' });
    expect((await app('GET', '/v1/tier', { token: key.api_key })).status).toBe(200);
    expect((await app('DELETE', `/v1/api-keys/${key.id}`, { token: org.api_key })).status).toBe(204);
    await expectProblem(await app('GET', '/v1/tier', { token: key.api_key }), 401, 'unauthorized');
  });
});
