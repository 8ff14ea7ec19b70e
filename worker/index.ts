import { createApp } from './app.ts';
import { scheduled } from './scheduled.ts';

export { NodeOidcContainer } from '../durable-objects/node-oidc.container.ts';
export { TenantLimiter } from '../durable-objects/tenant-limiter.do.ts';
export { WebhookDispatcher } from '../durable-objects/webhook-dispatcher.do.ts';

const app = createApp();

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
