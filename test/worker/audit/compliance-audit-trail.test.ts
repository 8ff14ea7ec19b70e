// The compliance report's audit-trail check is a full walk of the hash chain: tampering below the last
// verification checkpoint (which GET /v1/audit/verify's routine mode cannot see) fails the next report,
// naming the seq. A walk is reused for the report's 300 s, never longer.
import { describe, expect, it } from 'vitest';
import { AuditVerificationService } from '../../../worker/features/audit/audit-verification.service.ts';
import { ComplianceService } from '../../../worker/features/audit/compliance.service.ts';
import { clockedApp, MovableClock } from '../../support/clocked-app.ts';
import { sql, testDb } from '../../support/db.ts';
import { agentInput, call, createAgent, createOrg, json, type Org } from '../../support/worker.ts';

const where = 'organization_id = $1 AND seq = $2';

/** An organization with a chain of at least 6 events, verified once (the checkpoint is at its head). */
async function checkpointedOrg(): Promise<{ org: Org; head: number }> {
  const org = await createOrg('pro');
  for (let i = 0; i < 3; i++) await createAgent(org, agentInput(i));
  const first = await json(await call('GET', '/v1/audit/verify', { token: org.api_key }));
  await createAgent(org, agentInput(9));
  const second = await json(await call('GET', '/v1/audit/verify', { token: org.api_key }));
  expect(second).toMatchObject({ verified: true, full: false, checkpoint_seq: second.head_seq });
  expect(second.head_seq).toBeGreaterThan(first.head_seq);
  return { org, head: second.head_seq };
}

const auditTrail = (report: any) => report.sections.find((s: { name: string }) => s.name === 'audit-trail');

const tampers: Array<{ name: string; reason: string; tamper: (orgId: string, seq: number) => Promise<void> }> = [
  {
    name: 'changed',
    reason: 'hash_mismatch',
    tamper: (orgId, seq) =>
      sql(`UPDATE audit_events SET payload = payload || '{"forged":true}' WHERE ${where}`, [orgId, seq]).then(
        () => undefined,
      ),
  },
  {
    name: 'deleted',
    reason: 'missing_event',
    tamper: (orgId, seq) => sql(`DELETE FROM audit_events WHERE ${where}`, [orgId, seq]).then(() => undefined),
  },
  {
    name: 'swapped with the next one',
    reason: 'prev_hash_mismatch',
    tamper: async (orgId, seq) => {
      const db = testDb();
      try {
        await db.tx(async (q) => {
          await q.query(`UPDATE audit_events SET seq = -1 WHERE ${where}`, [orgId, seq]);
          await q.query(`UPDATE audit_events SET seq = $2 WHERE ${where.replace('$2', '$3')}`, [orgId, seq, seq + 1]);
          await q.query('UPDATE audit_events SET seq = $2 WHERE organization_id = $1 AND seq = -1', [orgId, seq + 1]);
        });
      } finally {
        await db.close();
      }
    },
  },
];

describe('compliance report: audit-trail is a full walk of the chain', () => {
  for (const t of tampers) {
    it(`fails the next report for an event below the checkpoint that was ${t.name}, naming its seq`, async () => {
      const { org, head } = await checkpointedOrg();
      await t.tamper(org.organization_id, 2);
      // The routine verification starts at the checkpoint and does not see it (its documented limit)...
      expect(await json(await call('GET', '/v1/audit/verify', { token: org.api_key }))).toMatchObject({
        verified: true,
        full: false,
      });
      // ...the report walks everything.
      const report = await json(await call('GET', '/v1/compliance/report', { token: org.api_key }));
      expect(report.overall_status).toBe('fail');
      const section = auditTrail(report);
      expect(section.status).toBe('fail');
      expect(section.findings).toEqual([
        expect.objectContaining({
          severity: 'fail',
          code: 'audit_chain_broken',
          seq: 2,
          reason: t.reason,
          walked_at: report.generated_at,
        }),
      ]);
      expect(section.findings[0].message).toContain('seq 2');
      // From now on the routine verification walks everything too, and fails.
      expect(await json(await call('GET', '/v1/audit/verify', { token: org.api_key }))).toMatchObject({
        verified: false,
        full: true,
        first_broken_seq: 2,
      });
      expect(head).toBeGreaterThan(3);
    });
  }

  it('says when the full walk ran and how many events it covered; reuses it within 300 s, walks again at 300 s (moved clock)', async () => {
    const { org, head } = await checkpointedOrg();
    const t0 = Date.now();
    const clock = new MovableClock(new Date(t0).toISOString());
    const get = clockedApp(clock);
    const report = async () => json(await get('GET', '/v1/compliance/report', { token: org.api_key }));

    const first = await report();
    expect(auditTrail(first)).toEqual({
      name: 'audit-trail',
      status: 'pass',
      findings: [
        expect.objectContaining({
          code: 'audit_chain_verified',
          seq: head,
          count: head,
          walked_at: new Date(t0).toISOString(),
        }),
      ],
    });
    expect(auditTrail(first).findings[0].message).toContain(`all ${head} events`);

    await tampers[0]!.tamper(org.organization_id, 2);
    clock.set(new Date(t0 + 299_000).toISOString());
    // Within the report's 300 s (from the Redis report cache, or from the stored walk without Redis).
    const cached = await report();
    expect(auditTrail(cached).status).toBe('pass');
    expect(auditTrail(cached).findings[0].walked_at).toBe(new Date(t0).toISOString());

    clock.set(new Date(t0 + 300_000).toISOString());
    const next = await report();
    expect(next.from_cache).toBe(false);
    expect(auditTrail(next).findings).toEqual([
      expect.objectContaining({ code: 'audit_chain_broken', seq: 2, walked_at: new Date(t0 + 300_000).toISOString() }),
    ]);
  });
});

describe('compliance report: the stored full walk (with or without a report cache)', () => {
  /** The report service over the real database, with no report cache (as without Redis) unless given one. */
  async function withService<T>(
    clock: MovableClock,
    fn: (s: ComplianceService, walks: () => number, verifier: AuditVerificationService) => Promise<T>,
    cache = { getJson: async () => undefined, setJson: async () => undefined } as any,
  ): Promise<T> {
    const db = testDb();
    let full = 0;
    const verifier = new AuditVerificationService(db, clock);
    const counting = {
      verifyChain: (id: string, o?: { full?: boolean }) => {
        if (o?.full) full++;
        return verifier.verifyChain(id, o);
      },
    };
    try {
      return await fn(new ComplianceService(db, cache, clock, counting), () => full, verifier);
    } finally {
      await db.close();
    }
  }

  it('walks at most once per 300 s, and never reports a walk older than that from a later cached report', async () => {
    const org = await createOrg('pro');
    const t0 = Date.parse('2031-03-01T00:00:00.000Z');
    const clock = new MovableClock(new Date(t0).toISOString());
    const store = new Map<string, unknown>();
    const cache = {
      getJson: async (k: string) => store.get(k),
      setJson: async (k: string, v: unknown) => void store.set(k, v),
    };
    await withService(
      clock,
      async (service, walks) => {
        await service.generateReport(org.organization_id);
        expect(walks()).toBe(1);
        // The report cache loses the report (evicted, or no Redis): the walk is reused, with its own time.
        store.clear();
        clock.set(new Date(t0 + 200_000).toISOString());
        const rebuilt = await service.generateReport(org.organization_id);
        expect(rebuilt.from_cache).toBe(false);
        expect(auditTrail(rebuilt).findings[0].walked_at).toBe(new Date(t0).toISOString());
        expect(walks()).toBe(1);
        // 300 s after the walk, that cached report is stale although it was generated 100 s ago.
        clock.set(new Date(t0 + 300_000).toISOString());
        const fresh = await service.generateReport(org.organization_id);
        expect(fresh.from_cache).toBe(false);
        expect(walks()).toBe(2);
        expect(auditTrail(fresh).findings[0].walked_at).toBe(new Date(t0 + 300_000).toISOString());
      },
      cache,
    );
  });

  it('walks again when a verification has found a break since the stored intact walk', async () => {
    const { org, head } = await checkpointedOrg();
    const clock = new MovableClock(new Date().toISOString());
    await withService(clock, async (service, walks, verifier) => {
      expect(auditTrail(await service.generateReport(org.organization_id)).status).toBe('pass');
      // The checkpointed event itself is changed: a routine verification sees that and records the break.
      await sql(`UPDATE audit_events SET actor = 'forged' WHERE ${where}`, [org.organization_id, head]);
      expect(await verifier.verifyChain(org.organization_id)).toMatchObject({
        verified: false,
        first_broken_seq: head,
      });
      const report = await service.generateReport(org.organization_id);
      expect(walks()).toBe(2);
      expect(auditTrail(report).findings).toEqual([
        expect.objectContaining({ code: 'audit_chain_broken', seq: head, reason: 'hash_mismatch' }),
      ]);
    });
  });
});
