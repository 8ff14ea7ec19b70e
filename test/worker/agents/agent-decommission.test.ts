// Decommissioning an agent ends everything that speaks for it: its credentials and every delegation chain
// in which it is the delegator or the delegatee (and all chains derived from those), in the same
// transaction as the decommission itself. Access tokens already issued live until they expire.
import { describe, expect, it } from 'vitest';
import { sql } from '../../support/db.ts';
import {
  type Agent,
  accessToken,
  agent,
  exchange,
  JWT_TOKEN_TYPE,
  oauthError,
  verifyCall,
} from '../../support/delegation.ts';
import { tokenRequest } from '../../support/oidc.ts';
import { createWebhook, receiver } from '../../support/webhooks.ts';
import { call, createOrg, expectProblem, json, type Org } from '../../support/worker.ts';

async function delegation(org: Org, from: Agent, to: Agent) {
  const res = await call('POST', '/v1/delegations', {
    token: org.api_key,
    body: { delegator_id: from.agentId, delegatee_id: to.agentId, scope: 'search' },
  });
  if (res.status !== 201) throw new Error(`delegate: ${res.status} ${await res.text()}`);
  return json<{ chain_id: string; token: string }>(res);
}

const decommission = (org: Org, a: Agent) => call('DELETE', `/v1/agents/${a.agentId}`, { token: org.api_key });

async function reason(org: Org, token: string, delegatee: Agent) {
  return (await expectProblem(await verifyCall(org, token, delegatee.agentId), 401, 'delegation_invalid')).reason;
}

describe('DELETE /v1/agents/{id} cascades', () => {
  it('revokes every credential of the agent, listed as revoked and refused at /oidc/token', async () => {
    const org = await createOrg();
    const a = await agent(org);
    const second = await call('POST', `/v1/agents/${a.agentId}/credentials`, { token: org.api_key, body: {} });
    const other = (await json(second)).client_secret as string;
    expect((await decommission(org, a)).status).toBe(200);

    const listed = await json(await call('GET', `/v1/agents/${a.agentId}/credentials`, { token: org.api_key }));
    expect(listed.data).toHaveLength(2);
    for (const c of listed.data) expect(c).toMatchObject({ status: 'revoked', revoked_at: expect.any(String) });
    for (const secret of [a.secret, other]) expect((await tokenRequest(a.agentId, secret)).status).toBe(401);
  });

  it('ends delegations the agent made: verify answers revoked and the token cannot be exchanged onward', async () => {
    const org = await createOrg();
    const [a, b, c] = [await agent(org), await agent(org), await agent(org)];
    const made = await delegation(org, a, b);
    const hop1 = await exchange(a, { subject_token: await accessToken(a), audience: b.agentId });
    const hop2 = await exchange(b, {
      subject_token: hop1.access_token,
      subject_token_type: JWT_TOKEN_TYPE,
      audience: c.agentId,
    });
    expect((await verifyCall(org, made.token, b.agentId)).status).toBe(200);

    expect((await decommission(org, a)).status).toBe(200);
    expect(await reason(org, made.token, b)).toBe('revoked');
    expect(await reason(org, hop1.access_token, b)).toBe('revoked');
    expect(await reason(org, hop2.access_token, c)).toBe('revoked');
    for (const token of [made.token, hop1.access_token]) {
      expect(
        await oauthError(
          exchange(b, { subject_token: token, subject_token_type: JWT_TOKEN_TYPE, audience: c.agentId }),
        ),
      ).toMatchObject({
        error: 'invalid_grant',
      });
    }
    // The chain rows say so too, derived ones included.
    const rows = await sql<{ status: string }>('SELECT status FROM delegation_chains WHERE subject_id = $1', [
      a.agentId,
    ]);
    expect(rows.map((r) => r.status)).toEqual(['revoked', 'revoked', 'revoked']);
  });

  it('ends delegations made to the agent, and what it delegated further', async () => {
    const org = await createOrg();
    const [a, b, c] = [await agent(org), await agent(org), await agent(org)];
    const toB = await delegation(org, a, b);
    const hop1 = await exchange(a, { subject_token: await accessToken(a), audience: b.agentId });
    const hop2 = await exchange(b, {
      subject_token: hop1.access_token,
      subject_token_type: JWT_TOKEN_TYPE,
      audience: c.agentId,
    });
    const aToC = await delegation(org, a, c);

    expect((await decommission(org, b)).status).toBe(200);
    expect(await reason(org, toB.token, b)).toBe('revoked');
    expect(await reason(org, hop1.access_token, b)).toBe('revoked');
    expect(await reason(org, hop2.access_token, c)).toBe('revoked');
    expect(
      await oauthError(
        exchange(c, { subject_token: hop2.access_token, subject_token_type: JWT_TOKEN_TYPE, audience: a.agentId }),
      ),
    ).toMatchObject({
      error: 'invalid_grant',
    });
    // A chain the agent is not part of stays valid.
    expect((await verifyCall(org, aToC.token, c.agentId)).status).toBe(200);
  });

  it("ends another tenant's delegation to the agent, and records it in that tenant's audit trail and webhooks", async () => {
    const [org, other] = [await createOrg(), await createOrg()];
    const [a, x] = [await agent(org), await agent(other)];
    const hook = await createWebhook(org, receiver('cascade').url, ['delegation.revoked']);
    const d = await delegation(org, a, x);
    expect((await verifyCall(other, d.token, x.agentId)).status).toBe(200);

    expect((await decommission(other, x)).status).toBe(200);
    expect(await reason(org, d.token, x)).toBe('revoked');

    const revoked = await sql<{ actor: string; payload: Record<string, unknown> }>(
      `SELECT actor, payload FROM audit_events WHERE organization_id = $1 AND event_type = 'delegation.revoked' AND subject = $2`,
      [org.organization_id, d.chain_id],
    );
    expect(revoked).toEqual([
      { actor: 'system', payload: { reason: 'agent_decommissioned', agent_id: x.agentId, descendants_revoked: [] } },
    ]);
    const outbox = await sql<{ payload: { data: Record<string, unknown> } }>(
      `SELECT payload FROM webhook_deliveries WHERE subscription_id = $1 AND event_type = 'delegation.revoked'`,
      [hook.id],
    );
    expect(outbox.map((r) => r.payload.data)).toEqual([
      expect.objectContaining({ chain_id: d.chain_id, reason: 'agent_decommissioned' }),
    ]);
    // The decommissioning tenant's own event says what the cascade ended.
    const [own] = await sql<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM audit_events WHERE organization_id = $1 AND event_type = 'agent.decommissioned' AND subject = $2`,
      [other.organization_id, x.agentId],
    );
    expect(own!.payload).toEqual({ credentials_revoked: 1, delegations_revoked: [d.chain_id] });
    for (const o of [org, other])
      expect(await json(await call('GET', '/v1/audit/verify', { token: o.api_key }))).toMatchObject({ verified: true });
  });

  it('is idempotent and leaves nothing to revoke the second time', async () => {
    const org = await createOrg();
    const [a, b] = [await agent(org), await agent(org)];
    await delegation(org, a, b);
    expect((await decommission(org, a)).status).toBe(200);
    expect((await decommission(org, a)).status).toBe(200);
    const events = await sql<{ event_type: string }>(
      `SELECT event_type FROM audit_events WHERE organization_id = $1 AND event_type IN ('agent.decommissioned', 'delegation.revoked', 'credential.revoked') ORDER BY seq`,
      [org.organization_id],
    );
    expect(events.map((e) => e.event_type)).toEqual([
      'delegation.revoked',
      'credential.revoked',
      'agent.decommissioned',
    ]);
  });
});
