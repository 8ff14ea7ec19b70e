// How long a revocation can stay unseen: a status list is served (by any cache layer, and by clients honouring
// its Cache-Control) for at most STATUS_LIST_CACHE_SECONDS (60 s by default) after it was built. Time is the
// injected clock; nothing sleeps. This file has its own isolate memory and Redis namespace, so the moved clock
// touches no other test.
import { describe, expect, it, vi } from 'vitest';
import { clockedApp, MovableClock, testNow, withDb } from '../../support/clocked-app.ts';
import { bitAt, bodyText, decodeStatusList, verifyVcJwt } from '../../support/verify-signed.ts';
import { call, createAgent, createOrg } from '../../support/worker.ts';

vi.mock('cross-fetch', () => import('../../support/worker-fetch.ts'));

const at = (t0: number, seconds: number) => new Date(t0 + seconds * 1000).toISOString();

async function setup() {
  const t0 = Math.floor(testNow().getTime() / 1000) * 1000; // the suite's clock (TEST_NOW), on a whole second
  const clock = new MovableClock(new Date(t0).toISOString());
  // Its own Redis namespace: other test files (on the system clock) fill the same list's Redis entry.
  const app = clockedApp(clock, { CACHE_KEY_PREFIX: `clocked-${crypto.randomUUID()}:` });
  const org = await createOrg();
  const agent = await createAgent(org);
  const res = await app('GET', `/agents/${agent.agent_id}/credential`);
  expect(res.status).toBe(200);
  const { credential } = await verifyVcJwt(await bodyText(res));
  const status = credential.credentialStatus;
  const listPath = new URL(status.statusListCredential).pathname;
  /** The agent's bit and the max-age the list was served with, at the clock's time. */
  const read = async () => {
    const list = await app('GET', listPath);
    expect(list.status).toBe(200);
    const maxAge = Number(/max-age=(\d+)/.exec(list.headers.get('cache-control')!)![1]);
    const { credential: body } = await verifyVcJwt(await bodyText(list));
    return {
      bit: bitAt(await decodeStatusList(body.credentialSubject.encodedList), Number(status.statusListIndex)),
      maxAge,
    };
  };
  return { t0, clock, app, org, agent, read };
}

describe('status list cache time', () => {
  it('shows a revocation made elsewhere no later than STATUS_LIST_CACHE_SECONDS after the cached list was built', async () => {
    const { t0, clock, agent, read } = await setup();
    expect(await read()).toEqual({ bit: 0, maxAge: 60 });

    // A decommission whose cache invalidation never reached this isolate (another isolate's, or a lost one).
    await withDb((db) =>
      db.query('UPDATE agent_status_entries SET revoked_at = now() WHERE agent_id = $1', [agent.agent_id]),
    );

    clock.set(at(t0, 1));
    expect(await read()).toEqual({ bit: 0, maxAge: 59 }); // the cached list, and clients are told it has 59 s left
    clock.set(at(t0, 59.5));
    const late = await read();
    if (late.bit === 0) expect(late.maxAge).toBe(0); // still the old list only if nobody may keep it any longer
    clock.set(at(t0, 60));
    expect((await read()).bit).toBe(1);
  });

  it('shows a decommission through the API at once in this isolate', async () => {
    const { t0, clock, app, org, agent, read } = await setup();
    expect((await read()).bit).toBe(0);
    clock.set(at(t0, 2));
    expect((await app('DELETE', `/v1/agents/${agent.agent_id}`, { token: org.api_key })).status).toBe(200);
    expect(await read()).toEqual({ bit: 1, maxAge: 60 });
    expect((await call('GET', `/agents/${agent.agent_id}/credential`)).status).toBe(410);
  });
});
