import { createApp } from './app.ts';

export { TenantLimiter } from '../durable-objects/tenant-limiter.do.ts';

const app = createApp();

export default app;
