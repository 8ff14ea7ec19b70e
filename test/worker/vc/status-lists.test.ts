// The bitstring encoding (W3C Bitstring Status List) and the allocation of status entries.
import { describe, expect, it, vi } from 'vitest';
import { encodeStatusList, STATUS_LIST_BITS } from '../../../worker/features/vc/bitstring.ts';
import { withDb } from '../../support/clocked-app.ts';
import { bitAt, bodyText, decodeStatusList, verifyVcJwt } from '../../support/verify-signed.ts';
import { call, createAgent, createOrg } from '../../support/worker.ts';

vi.mock('cross-fetch', () => import('../../support/worker-fetch.ts'));

describe('encodeStatusList', () => {
  it('sets exactly the given bits, bit 0 being the most significant bit of the first byte', async () => {
    const bits = await decodeStatusList(await encodeStatusList(STATUS_LIST_BITS, [0, 9, STATUS_LIST_BITS - 1]));
    expect(bits.length).toBe(16_384);
    expect([bits[0], bits[1], bits[16_383]]).toEqual([0x80, 0x40, 0x01]);
    expect(bits.reduce((n, b) => n + (b.toString(2).match(/1/g)?.length ?? 0), 0)).toBe(3);
    for (const i of [0, 9, STATUS_LIST_BITS - 1]) expect(bitAt(bits, i)).toBe(1);
    expect(bitAt(bits, 1)).toBe(0);
  });

  it('compresses an empty list to a few dozen bytes and refuses indexes outside the list', async () => {
    expect((await encodeStatusList(STATUS_LIST_BITS, [])).length).toBeLessThan(200);
    await expect(encodeStatusList(STATUS_LIST_BITS, [STATUS_LIST_BITS])).rejects.toThrow(TypeError);
    await expect(encodeStatusList(STATUS_LIST_BITS, [-1])).rejects.toThrow(TypeError);
    await expect(encodeStatusList(12, [])).rejects.toThrow(TypeError);
  });
});

describe('status entry allocation', () => {
  it('opens a new list once the open ones hold a quarter of their bits', async () => {
    const org = await createOrg();
    const entryOf = async (agentId: string) => {
      const res = await call('GET', `/agents/${agentId}/credential`);
      expect(res.status).toBe(200);
      return (await verifyVcJwt(await bodyText(res))).credential.credentialStatus;
    };
    const before = await entryOf((await createAgent(org)).agent_id);
    await withDb((db) => db.query('UPDATE status_lists SET allocated = size_bits / 4'));
    const after = await entryOf((await createAgent(org)).agent_id);
    expect(after.statusListCredential).not.toBe(before.statusListCredential);
    const [list] = await withDb((db) =>
      db.query<{ size_bits: number; allocated: number }>(
        'SELECT size_bits, allocated FROM status_lists WHERE list_id = $1',
        [after.statusListCredential.split('/').pop()],
      ),
    );
    expect(list!.size_bits).toBe(STATUS_LIST_BITS);
    expect(list!.allocated).toBeGreaterThanOrEqual(1); // other test files may allocate in it too
    expect(Number(after.statusListIndex)).toBeLessThan(STATUS_LIST_BITS);
  });
});
