// Audit hash chain: the events API, verification against direct tampering in Postgres, checkpoints, isolation.
import { describe, expect, it } from 'vitest';
import { type AuditRow, computeAuditHash, GENESIS_HASH } from '../../../worker/features/audit/audit.service.ts';
import { sql, testDb } from '../../support/db.ts';
import { agentInput, call, createAgent, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

async function events(org: Org): Promise<AuditRow[]> {
  const out: AuditRow[] = [];
  let cursor: string | null = null;
  do {
    const res = await call('GET', `/v1/audit/events?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
      token: org.api_key,
    });
    expect(res.status).toBe(200);
    const page = await json(res);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

async function verify(org: Org, full = false) {
  const res = await call('GET', `/v1/audit/verify${full ? '?full=true' : ''}`, { token: org.api_key });
  expect(res.status).toBe(200);
  return json(res);
}

async function auditSection(org: Org) {
  const res = await call('GET', '/v1/compliance/report', { token: org.api_key });
  expect(res.status).toBe(200);
  const report = await json(res);
  return report.sections.find((s: { name: string }) => s.name === 'audit-trail');
}

/** An organization with a handful of events (organization.created, agents created, one updated). */
async function orgWithChain(): Promise<{ org: Org; chain: AuditRow[] }> {
  const org = await createOrg('pro');
  const agents = [];
  for (let i = 0; i < 3; i++) agents.push(await createAgent(org, agentInput(i)));
  const res = await call('PATCH', `/v1/agents/${agents[0].agent_id}`, {
    token: org.api_key,
    body: { owner: 'new-owner' },
  });
  expect(res.status).toBe(200);
  const chain = await events(org);
  expect(chain.length).toBeGreaterThanOrEqual(5);
  return { org, chain };
}

const where = 'organization_id = $1 AND seq = $2';

describe('GET /v1/audit/events', () => {
  it('lists the chain oldest first with every hashed field, and the hashes recompute', async () => {
    const { org, chain } = await orgWithChain();
    expect(chain.map((e) => e.seq)).toEqual(chain.map((_, i) => i + 1));
    expect(chain[0]).toMatchObject({ event_type: 'organization.created', actor: 'admin', prev_hash: GENESIS_HASH });
    expect(chain.filter((e) => e.event_type === 'agent.created')).toHaveLength(3);
    expect(chain.some((e) => e.event_type === 'agent.updated')).toBe(true);
    for (let i = 0; i < chain.length; i++) {
      const { hash, ...event } = chain[i]!;
      expect(event.organization_id).toBe(org.organization_id);
      // A client can check the chain itself from the documented formula.
      expect(await computeAuditHash(event)).toBe(hash);
      if (i > 0) expect(event.prev_hash).toBe(chain[i - 1]!.hash);
    }
  });

  it('paginates with an opaque cursor and rejects a bad one', async () => {
    const { org, chain } = await orgWithChain();
    const first = await json(await call('GET', '/v1/audit/events?limit=2', { token: org.api_key }));
    expect(first.data.map((e: AuditRow) => e.seq)).toEqual([1, 2]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await json(
      await call('GET', `/v1/audit/events?limit=2&cursor=${first.next_cursor}`, { token: org.api_key }),
    );
    expect(second.data.map((e: AuditRow) => e.seq)).toEqual([3, 4]);
    const all = await json(await call('GET', '/v1/audit/events?limit=100', { token: org.api_key }));
    expect(all.data).toHaveLength(chain.length);
    expect(all.next_cursor).toBeNull();
    for (const bad of ['nope', 'c2VxOi0x', '%%%']) {
      await expectProblem(
        await call('GET', `/v1/audit/events?cursor=${bad}`, { token: org.api_key }),
        400,
        'validation_failed',
      );
    }
    await expectProblem(
      await call('GET', '/v1/audit/events?limit=0', { token: org.api_key }),
      400,
      'validation_failed',
    );
  });

  it('is described in the OpenAPI document', async () => {
    const doc = await json(await call('GET', '/openapi.json'));
    for (const path of [
      '/v1/audit/events',
      '/v1/audit/verify',
      '/v1/compliance/report',
      '/v1/compliance/agent-cards',
    ]) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
  });

  it('requires a tenant API key', async () => {
    await expectProblem(await call('GET', '/v1/audit/events'), 401, 'unauthorized');
    await expectProblem(await call('GET', '/v1/audit/verify'), 401, 'unauthorized');
    const org = await createOrg();
    await expectProblem(
      await call('GET', '/v1/audit/verify?full=yes', { token: org.api_key }),
      400,
      'validation_failed',
    );
  });
});

describe('GET /v1/audit/verify', () => {
  it('verifies an intact chain', async () => {
    const { org, chain } = await orgWithChain();
    const v = await verify(org);
    expect(v).toMatchObject({
      verified: true,
      checked: chain.length,
      first_broken_seq: null,
      reason: null,
      full: true,
    });
    expect(v.head_seq).toBe(chain.length);
    expect(v.checkpoint_seq).toBe(chain.length);
    expect((await auditSection(org)).status).toBe('pass');
  });

  // Each case tampers with one organization's rows directly in Postgres, then expects the first broken seq.
  // `target` picks the row from the chain; the chain has no checkpoint yet, so a routine verification walks it all.
  const cases: Array<{
    name: string;
    target: (chain: AuditRow[]) => AuditRow;
    tamper: (org: Org, row: AuditRow, chain: AuditRow[]) => Promise<void>;
    brokenAt: (row: AuditRow) => number;
    reason: string;
  }> = [
    {
      name: 'an updated payload',
      target: (c) => c[2]!,
      tamper: async (org, row) => {
        await sql(`UPDATE audit_events SET payload = payload || '{"agent_type":"forged"}' WHERE ${where}`, [
          org.organization_id,
          row.seq,
        ]);
      },
      brokenAt: (r) => r.seq,
      reason: 'hash_mismatch',
    },
    {
      name: 'a changed actor',
      target: (c) => c[1]!,
      tamper: async (org, row) => {
        await sql(`UPDATE audit_events SET actor = 'admin' WHERE ${where}`, [org.organization_id, row.seq]);
      },
      brokenAt: (r) => r.seq,
      reason: 'hash_mismatch',
    },
    {
      name: 'a deleted row (a gap in seq)',
      target: (c) => c[2]!,
      tamper: async (org, row) => {
        await sql(`DELETE FROM audit_events WHERE ${where}`, [org.organization_id, row.seq]);
      },
      brokenAt: (r) => r.seq,
      reason: 'missing_event',
    },
    {
      name: 'two rows with swapped seq',
      target: (c) => c[2]!,
      tamper: async (org, row) => {
        const db = testDb();
        try {
          await db.tx(async (q) => {
            await q.query(`UPDATE audit_events SET seq = -1 WHERE ${where}`, [org.organization_id, row.seq]);
            await q.query(`UPDATE audit_events SET seq = $2 WHERE ${where.replace('$2', '$3')}`, [
              org.organization_id,
              row.seq,
              row.seq + 1,
            ]);
            await q.query(`UPDATE audit_events SET seq = $2 WHERE organization_id = $1 AND seq = -1`, [
              org.organization_id,
              row.seq + 1,
            ]);
          });
        } finally {
          await db.close();
        }
      },
      brokenAt: (r) => r.seq,
      reason: 'prev_hash_mismatch',
    },
    {
      name: 'an occurred_at moved by one microsecond',
      target: (c) => c[2]!,
      tamper: async (org, row) => {
        await sql(`UPDATE audit_events SET occurred_at = occurred_at + interval '1 microsecond' WHERE ${where}`, [
          org.organization_id,
          row.seq,
        ]);
      },
      brokenAt: (r) => r.seq,
      reason: 'hash_mismatch',
    },
    {
      name: 'an occurred_at moved by one millisecond',
      target: (c) => c[2]!,
      tamper: async (org, row) => {
        await sql(`UPDATE audit_events SET occurred_at = occurred_at + interval '1 millisecond' WHERE ${where}`, [
          org.organization_id,
          row.seq,
        ]);
      },
      brokenAt: (r) => r.seq,
      reason: 'hash_mismatch',
    },
    {
      name: 'one rewritten hash',
      target: (c) => c[2]!,
      tamper: async (org, row) => {
        await sql(`UPDATE audit_events SET hash = $3 WHERE ${where}`, [org.organization_id, row.seq, 'f'.repeat(64)]);
      },
      brokenAt: (r) => r.seq,
      reason: 'hash_mismatch',
    },
    {
      name: 'a changed prev_hash',
      target: (c) => c[3]!,
      tamper: async (org, row) => {
        await sql(`UPDATE audit_events SET prev_hash = $3 WHERE ${where}`, [
          org.organization_id,
          row.seq,
          'a'.repeat(64),
        ]);
      },
      brokenAt: (r) => r.seq,
      reason: 'prev_hash_mismatch',
    },
    {
      name: 'a row whose content and hash were rewritten consistently (the next link breaks)',
      target: (c) => c[2]!,
      tamper: async (org, row) => {
        const forged = { ...row, payload: { agent_type: 'forged' } };
        const { hash: _h, ...event } = forged;
        await sql(`UPDATE audit_events SET payload = $3, hash = $4 WHERE ${where}`, [
          org.organization_id,
          row.seq,
          JSON.stringify(forged.payload),
          await computeAuditHash(event),
        ]);
      },
      brokenAt: (r) => r.seq + 1,
      reason: 'prev_hash_mismatch',
    },
    {
      name: 'an inserted, correctly chained row after the head',
      target: (c) => c[c.length - 1]!,
      tamper: async (org, last) => {
        const event = {
          organization_id: org.organization_id,
          seq: last.seq + 1,
          event_id: crypto.randomUUID(),
          event_type: 'agent.created',
          actor: 'admin',
          subject: null,
          payload: {},
          occurred_at: new Date().toISOString(),
          prev_hash: last.hash,
        };
        await sql(
          `INSERT INTO audit_events (organization_id, seq, event_id, event_type, actor, subject, payload, occurred_at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [...Object.values({ ...event, payload: '{}' }), await computeAuditHash(event)],
        );
      },
      brokenAt: (r) => r.seq + 1,
      reason: 'unexpected_event',
    },
    {
      name: 'an inserted row before seq 1',
      target: (c) => c[0]!,
      tamper: async (org, first) => {
        await sql(
          `INSERT INTO audit_events (organization_id, seq, event_id, event_type, actor, subject, payload, occurred_at, prev_hash, hash)
           SELECT organization_id, 0, gen_random_uuid(), event_type, actor, subject, payload, occurred_at, prev_hash, hash
             FROM audit_events WHERE ${where}`,
          [org.organization_id, first.seq],
        );
      },
      brokenAt: () => 0,
      reason: 'unexpected_event',
    },
    {
      name: 'a deleted last row (truncated tail)',
      target: (c) => c[c.length - 1]!,
      tamper: async (org, row) => {
        await sql(`DELETE FROM audit_events WHERE ${where}`, [org.organization_id, row.seq]);
      },
      brokenAt: (r) => r.seq,
      reason: 'missing_event',
    },
    {
      name: 'a last row rewritten consistently (only the head disagrees)',
      target: (c) => c[c.length - 1]!,
      tamper: async (org, row) => {
        const { hash: _h, ...event } = { ...row, actor: 'system' };
        await sql(`UPDATE audit_events SET actor = 'system', hash = $3 WHERE ${where}`, [
          org.organization_id,
          row.seq,
          await computeAuditHash(event),
        ]);
      },
      brokenAt: (r) => r.seq,
      reason: 'head_mismatch',
    },
  ];

  for (const tc of cases) {
    it(`detects ${tc.name}`, async () => {
      const { org, chain } = await orgWithChain();
      const row = tc.target(chain);
      await tc.tamper(org, row, chain);
      for (const full of [false, true]) {
        const v = await verify(org, full);
        expect(v).toMatchObject({ verified: false, first_broken_seq: tc.brokenAt(row), reason: tc.reason, full: true });
        expect(v.checkpoint_seq).toBe(0);
      }
      const section = await auditSection(org);
      expect(section.status).toBe('fail');
      expect(section.findings).toContainEqual(
        expect.objectContaining({
          code: 'audit_chain_broken',
          severity: 'fail',
          seq: tc.brokenAt(row),
          reason: tc.reason,
        }),
      );
    });
  }
});

describe('verification checkpoints', () => {
  it('walks only new events after a checkpoint; tampering below it needs full=true, and then stays reported', async () => {
    const { org, chain } = await orgWithChain();
    const n = chain.length;
    const first = await verify(org);
    expect(first).toMatchObject({ verified: true, full: true, checked: n, checkpoint_seq: n });

    await createAgent(org, agentInput(9));
    await createAgent(org, agentInput(10));
    const m = (await events(org)).length;
    expect(m).toBeGreaterThanOrEqual(n + 2);
    const routine = await verify(org);
    // Re-checks the checkpointed event and walks the new ones.
    expect(routine).toMatchObject({
      verified: true,
      full: false,
      from_seq: n,
      checked: m - n + 1,
      head_seq: m,
      checkpoint_seq: m,
    });

    // Tamper below the checkpoint: a routine verification does not walk there (the documented trade-off)...
    const target = chain[1]!;
    await sql(`UPDATE audit_events SET subject = 'forged' WHERE ${where}`, [org.organization_id, target.seq]);
    expect(await verify(org)).toMatchObject({ verified: true, full: false, checked: 1 });
    // ...a full walk does,
    expect(await verify(org, true)).toMatchObject({
      verified: false,
      full: true,
      first_broken_seq: target.seq,
      reason: 'hash_mismatch',
    });
    // and from then on routine verifications (and the report) walk everything and keep failing.
    expect(await verify(org)).toMatchObject({ verified: false, full: true, first_broken_seq: target.seq });
    expect((await auditSection(org)).status).toBe('fail');

    // Restoring the row and a full walk that finds the chain intact clears the break.
    await sql(`UPDATE audit_events SET subject = $3 WHERE ${where}`, [org.organization_id, target.seq, target.subject]);
    expect(await verify(org)).toMatchObject({ verified: true, full: true, checked: m });
    expect(await verify(org)).toMatchObject({ verified: true, full: false, checked: 1, checkpoint_seq: m });
  });

  it('re-checks the checkpointed event itself on a routine verification', async () => {
    const { org, chain } = await orgWithChain();
    await verify(org);
    const last = chain[chain.length - 1]!;
    await sql(`UPDATE audit_events SET payload = '{"x":1}' WHERE ${where}`, [org.organization_id, last.seq]);
    expect(await verify(org)).toMatchObject({
      verified: false,
      full: false,
      first_broken_seq: last.seq,
      reason: 'hash_mismatch',
    });
  });

  it('catches a chain re-forged below the checkpoint with full=true (checkpoint_mismatch)', async () => {
    const { org, chain } = await orgWithChain();
    await verify(org);
    // Rewrite the whole chain consistently from seq 2 and move the head: every link and hash is valid again.
    let prev = chain[0]!.hash;
    for (const row of chain.slice(1)) {
      const { hash: _h, ...event } = { ...row, actor: 'system', prev_hash: prev };
      prev = await computeAuditHash(event);
      await sql(`UPDATE audit_events SET actor = 'system', prev_hash = $3, hash = $4 WHERE ${where}`, [
        org.organization_id,
        row.seq,
        event.prev_hash,
        prev,
      ]);
    }
    await sql('UPDATE organizations SET audit_head_hash = $2 WHERE organization_id = $1', [org.organization_id, prev]);
    const last = chain[chain.length - 1]!.seq;
    // Only the hash remembered at the checkpoint disagrees.
    expect(await verify(org, true)).toMatchObject({
      verified: false,
      first_broken_seq: last,
      reason: 'checkpoint_mismatch',
    });
  });

  it('treats a head moved back below the checkpoint as a truncated chain', async () => {
    const { org, chain } = await orgWithChain();
    await verify(org);
    const keep = chain[2]!;
    await sql('DELETE FROM audit_events WHERE organization_id = $1 AND seq > $2', [org.organization_id, keep.seq]);
    await sql('UPDATE organizations SET audit_head_seq = $2, audit_head_hash = $3 WHERE organization_id = $1', [
      org.organization_id,
      keep.seq,
      keep.hash,
    ]);
    expect(await verify(org)).toMatchObject({
      verified: false,
      first_broken_seq: keep.seq + 1,
      reason: 'missing_event',
    });
    // A full walk finds the remaining events intact, but not the chain shorter than one already verified.
    expect(await verify(org, true)).toMatchObject({
      verified: false,
      first_broken_seq: keep.seq + 1,
      reason: 'missing_event',
    });
  });
});

describe('audit chain isolation and concurrency', () => {
  it("never shows one tenant's tampering in another tenant's verification, report or events", async () => {
    const a = await orgWithChain();
    const b = await orgWithChain();
    await sql(`DELETE FROM audit_events WHERE ${where}`, [a.org.organization_id, 2]);
    await sql(`UPDATE audit_events SET payload = '{}' WHERE ${where}`, [a.org.organization_id, 3]);
    expect(await verify(a.org, true)).toMatchObject({ verified: false, first_broken_seq: 2 });
    expect(await verify(b.org, true)).toMatchObject({ verified: true, checked: b.chain.length });
    expect(await verify(b.org)).toMatchObject({ verified: true });
    expect((await auditSection(b.org)).status).toBe('pass');
    expect((await auditSection(a.org)).status).toBe('fail');
    const bEvents = await events(b.org);
    expect(bEvents.every((e) => e.organization_id === b.org.organization_id)).toBe(true);
    expect(bEvents).toEqual(b.chain);
  });

  it('verifies consistently while events are being appended', async () => {
    const { org } = await orgWithChain();
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => createAgent(org, agentInput(i)).then(() => undefined)),
      verify(org),
      verify(org, true),
      verify(org),
    ]);
    for (const v of results.filter(Boolean)) expect(v).toMatchObject({ verified: true, first_broken_seq: null });
    const chain = await events(org);
    expect(await verify(org, true)).toMatchObject({ verified: true, checked: chain.length, head_seq: chain.length });
    expect(await verify(org)).toMatchObject({ verified: true, checkpoint_seq: chain.length });
  });

  it('keeps a gapless, verifiable chain under 50 concurrent agent creations in one organization', async () => {
    const org = await createOrg('pro');
    const created = await Promise.all(Array.from({ length: 50 }, (_, i) => createAgent(org, agentInput(i))));
    expect(new Set(created.map((a) => a.agent_id)).size).toBe(50);
    const chain = await events(org);
    expect(chain.map((e) => e.seq)).toEqual(chain.map((_, i) => i + 1));
    expect(chain[0]!.event_type).toBe('organization.created');
    const agentEvents = chain.filter((e) => e.event_type === 'agent.created');
    expect(agentEvents).toHaveLength(50);
    expect(new Set(agentEvents.map((e) => e.subject))).toEqual(new Set(created.map((a) => a.agent_id)));
    expect(await verify(org, true)).toMatchObject({
      verified: true,
      checked: chain.length,
      head_seq: chain.length,
      first_broken_seq: null,
    });
  });
});
