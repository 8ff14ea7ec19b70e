import { describe, expect, it } from 'vitest';
import { call, json } from '../../support/worker.ts';

describe('GET /healthz', () => {
  it('reports the database and cache', async () => {
    const res = await call('GET', '/healthz');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.checks.database).toBe('ok');
    expect(['ok', 'disabled']).toContain(body.checks.cache);
  });
});
