import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../worker/platform/clock.ts';
import { clockedApp } from '../../support/clocked-app.ts';
import { createOrg, expectProblem } from '../../support/worker.ts';

/** db_queries of the request-log line for the response's request id. */
function queriesOf(lines: string[], res: Response): number {
  const id = res.headers.get('x-request-id');
  const line = lines
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return {};
      }
    })
    .find((l) => l.request_id === id);
  return line?.db_queries;
}

describe('tenant API-key cache (API_KEY_CACHE_SECONDS)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('serves a repeated key without a database round trip and still checks the key', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(' ')));
    const org = await createOrg();
    const call = clockedApp(systemClock, { API_KEY_CACHE_SECONDS: '10', LOG_REQUESTS: 'true' });
    // A key's first use records last_used_at (one more query); measure after it.
    await clockedApp(systemClock, { API_KEY_CACHE_SECONDS: '0' })('GET', '/v1/agents?limit=1', { token: org.api_key });
    // GET /v1/tier reads the tier from Postgres; compare first and second request.
    const first = await call('GET', '/v1/agents?limit=1', { token: org.api_key });
    const second = await call('GET', '/v1/agents?limit=1', { token: org.api_key });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(queriesOf(lines, second)).toBe(queriesOf(lines, first) - 1);
    // A wrong secret under a cached key id is still refused.
    const wrong = org.api_key.slice(0, -4) + (org.api_key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await expectProblem(await call('GET', '/v1/agents', { token: wrong }), 401, 'unauthorized');
  });
});
