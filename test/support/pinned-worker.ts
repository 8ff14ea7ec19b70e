// The Worker as deployed (worker/index.ts), with its clock set by the suite (test-clock.ts): what the
// workerd tests call through `exports.default` and what the browser tests serve when TEST_NOW is set.
// Durable Objects and the cron handler are the deployed ones; they read the real time where they do.
import { env } from 'cloudflare:workers';
import { createApp } from '../../worker/app.ts';
import deployed from '../../worker/index.ts';
import { CLOCK_OFFSET_VAR, offsetClock, parseOffset } from './test-clock.ts';

export * from '../../worker/index.ts';

const app = createApp({
  clock: offsetClock(parseOffset((env as unknown as Record<string, unknown>)[CLOCK_OFFSET_VAR])),
});

export default { ...deployed, fetch: app.fetch } satisfies ExportedHandler<Env>;
