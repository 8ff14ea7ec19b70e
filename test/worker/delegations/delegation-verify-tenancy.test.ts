// POST /v1/delegations/verify answers only a tenant that is party to the chain: it owns the chain (its agent
// delegated), owns a chain it derives from, or owns the delegatee. Anyone else gets exactly the answer an
// unknown token gets.
import { describe, expect, it } from 'vitest';
import { sql } from '../../support/db.ts';
import { type Agent, agent, exchange, JWT_TOKEN_TYPE, verifyCall } from '../../support/delegation.ts';
import { call, createOrg, json, type Org } from '../../support/worker.ts';

async function delegation(org: Org, from: Agent, to: Agent) {
  const res = await call('POST', '/v1/delegations', {
    token: org.api_key,
    body: { delegator_id: from.agentId, delegatee_id: to.agentId, scope: 'search' },
  });
  if (res.status !== 201) throw new Error(`delegate: ${res.status} ${await res.text()}`);
  return json<{ chain_id: string; token: string }>(res);
}

/** The status, WWW-Authenticate and body of a verification, to compare answers byte for byte. */
async function answer(org: Org, token: string, delegatee: Agent | string) {
  const res = await verifyCall(org, token, typeof delegatee === 'string' ? delegatee : delegatee.agentId);
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    auth: res.headers.get('www-authenticate'),
    body: await res.text(),
  };
}

/** What a well-signed token whose chain is not on record gets. */
async function unknownTokenAnswer(org: Org) {
  const [p, q] = [await agent(org), await agent(org)];
  const d = await delegation(org, p, q);
  await sql('DELETE FROM delegation_chains WHERE chain_id = $1', [d.chain_id]);
  return answer(org, d.token, q);
}

describe('POST /v1/delegations/verify across tenants', () => {
  it("answers another tenant's chain exactly as an unknown token, whatever delegatee is named", async () => {
    const [org, outsider] = [await createOrg(), await createOrg()];
    const [a, b] = [await agent(org), await agent(org)];
    const d = await delegation(org, a, b);
    expect((await verifyCall(org, d.token, b.agentId)).status).toBe(200);

    const unknown = await unknownTokenAnswer(outsider);
    expect(unknown.status).toBe(401);
    expect(JSON.parse(unknown.body)).toMatchObject({ code: 'delegation_invalid', reason: 'unknown_chain' });
    expect(await answer(outsider, d.token, b)).toEqual(unknown);
    // Naming another delegatee does not tell the outsider anything more.
    expect(await answer(outsider, d.token, a)).toEqual(unknown);
    expect(await answer(outsider, d.token, crypto.randomUUID())).toEqual(unknown);
    // Nor does revocation.
    await call('POST', `/v1/delegations/${d.chain_id}/revoke`, { token: org.api_key });
    expect(await answer(outsider, d.token, b)).toEqual(unknown);
  });

  it('answers every tenant party to a chain across tenants, and no other', async () => {
    const [one, two, three, outsider] = [await createOrg(), await createOrg(), await createOrg(), await createOrg()];
    const [a, x, y] = [await agent(one), await agent(two), await agent(three)];
    // one's agent delegates to two's agent, which delegates on to three's agent.
    const first = await delegation(one, a, x);
    const second = await exchange(x, {
      subject_token: first.token,
      subject_token_type: JWT_TOKEN_TYPE,
      audience: y.agentId,
    });

    expect((await verifyCall(two, first.token, x.agentId)).status).toBe(200); // the delegatee's tenant
    for (const party of [one, two, three]) {
      const res = await verifyCall(party, second.access_token, y.agentId);
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({
        valid: true,
        delegator_id: x.agentId,
        delegatee_id: y.agentId,
        subject_id: a.agentId,
        depth: 2,
      });
    }
    const unknown = await unknownTokenAnswer(outsider);
    expect(await answer(outsider, second.access_token, y)).toEqual(unknown);
    expect(await answer(outsider, first.token, x)).toEqual(unknown);
    expect(await answer(three, first.token, x)).toEqual(await unknownTokenAnswer(three));
  });
});
