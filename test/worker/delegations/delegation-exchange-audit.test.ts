// A token exchange records its chain row, its `delegation.created` audit event and its webhook outbox row
// in one transaction, before the token is handed out: a failure of any part leaves none of them, and no
// token the chain row would make valid.

import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { createApp } from '../../../worker/app.ts';
import { bindings, MovableClock } from '../../support/clocked-app.ts';
import { sql } from '../../support/db.ts';
import {
  ACCESS_TOKEN_TYPE,
  type Agent,
  accessToken,
  agent,
  exchange,
  TOKEN_EXCHANGE,
  verifyCall,
} from '../../support/delegation.ts';
import { ISSUER, inProcessWorker } from '../../support/oidc.ts';
import { createWebhook, receiver } from '../../support/webhooks.ts';
import { call, createOrg, json } from '../../support/worker.ts';

const NOW = '2026-05-20T10:00:00.000Z';

function exchangeForm(as: Agent, subjectToken: string, audience: string): Request {
  return new Request(`${ISSUER}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${btoa(`${as.agentId}:${encodeURIComponent(as.secret)}`)}`,
    },
    body: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience,
      scope: 'search',
    }).toString(),
  });
}

const chainsOf = (delegator: Agent) =>
  sql<{ chain_id: string }>('SELECT chain_id FROM delegation_chains WHERE delegator_id = $1', [delegator.agentId]);

describe('token exchange and its audit event', () => {
  it('has committed the chain, its audit event and its webhook outbox row when the response arrives, whatever happens after', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const hook = await createWebhook(org, receiver('exchange').url, ['delegation.created']);
    // Work handed to waitUntil is never awaited here: the request's context is simply dropped.
    const app = createApp({ clock: new MovableClock(NOW) });
    const res = await app.fetch(exchangeForm(a, await accessToken(a), b.agentId), bindings, createExecutionContext());
    expect(res.status).toBe(200);
    const body = await json(res);
    const chainId = body.delegation_chain_id as string;

    const [row] = await chainsOf(a);
    expect(row!.chain_id).toBe(chainId);
    const audit = await sql<{ actor: string; payload: Record<string, unknown> }>(
      `SELECT actor, payload FROM audit_events WHERE organization_id = $1 AND event_type = 'delegation.created' AND subject = $2`,
      [org.organization_id, chainId],
    );
    expect(audit).toEqual([
      {
        actor: `agent:${a.agentId}`,
        payload: expect.objectContaining({
          chain_id: chainId,
          parent_chain_id: null,
          delegator_id: a.agentId,
          delegatee_id: b.agentId,
          scope: 'search',
        }),
      },
    ]);
    const outbox = await sql('SELECT 1 FROM webhook_deliveries WHERE subscription_id = $1 AND event_type = $2', [
      hook.id,
      'delegation.created',
    ]);
    expect(outbox).toHaveLength(1);
    expect(await json(await call('GET', '/v1/audit/verify', { token: org.api_key }))).toMatchObject({ verified: true });
    // Internal bookkeeping never reaches the client.
    expect([...res.headers.keys()].filter((h) => h.startsWith('x-agentidp'))).toEqual([]);
  });

  it('issues no token and records no chain when the audit event cannot be written', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    const own = await accessToken(a);
    const worker = inProcessWorker({ clock: new MovableClock(NOW) });
    const limiter = (bindings.TENANT_LIMITER as DurableObjectNamespace<TenantLimiter>).getByName(org.organization_id);
    const fn = `refuse_audit_${org.organization_id.replaceAll('-', '')}`;
    // Audit writes of this organization fail, as a lost connection or a full disk would make them.
    await sql(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.organization_id = '${org.organization_id}' THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER ${fn} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    let res: Response;
    try {
      res = await worker(exchangeForm(a, own, b.agentId));
    } finally {
      await sql(`DROP TRIGGER ${fn} ON audit_events`);
      await sql(`DROP FUNCTION ${fn}()`);
    }
    expect(res.status).toBe(503);
    expect(await json(res)).toMatchObject({ error: 'temporarily_unavailable' });
    expect(await chainsOf(a)).toEqual([]);
    expect((await limiter.usage(Date.parse(NOW))).tokens).toBe(0);

    // With the audit trail back, the same exchange succeeds and verifies.
    const ok = await exchange(a, { subject_token: own, audience: b.agentId, scope: 'search' }, worker);
    expect((await verifyCall(org, ok.access_token, b.agentId)).status).toBe(200);
    expect(await chainsOf(a)).toHaveLength(1);
  });
});
