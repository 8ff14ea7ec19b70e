// The Worker the tests call through `exports.default` runs on the suite's clock (test/support/test-clock.ts):
// under TEST_NOW (npm run test:instants) its "today" is the instant's, not the machine's.
import { expect, it } from 'vitest';
import { testNow } from '../../support/clocked-app.ts';
import { call, createOrg, json } from '../../support/worker.ts';

const utcMidnightAfter = (d: Date) => `${new Date(d.getTime() + 86_400_000).toISOString().slice(0, 10)}T00:00:00.000Z`;

it("resets the daily counters at the next UTC midnight of the suite's clock", async () => {
  const org = await createOrg();
  const before = testNow();
  const body = await json(await call('GET', '/v1/tier', { token: org.api_key }));
  // Read on both sides of the request: a run at 23:59:59 may cross midnight in between.
  expect([utcMidnightAfter(before), utcMidnightAfter(testNow())]).toContain(body.reset_at);
});
