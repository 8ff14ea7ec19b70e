import { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './env.ts';
import { adminRoutes } from './features/agents/admin-routes.ts';
import { agentRoutes } from './features/agents/routes.ts';
import { analyticsRoutes } from './features/analytics/routes.ts';
import { apiKeyRoutes } from './features/api-keys/routes.ts';
import { complianceRoutes } from './features/audit/compliance-routes.ts';
import { auditRoutes } from './features/audit/routes.ts';
import { billingRoutes } from './features/billing/routes.ts';
import { delegationRoutes } from './features/delegations/routes.ts';
import { didRoutes } from './features/did/routes.ts';
import { federationRoutes } from './features/federation/routes.ts';
import { healthRoutes } from './features/health/routes.ts';
import { metricsRoutes } from './features/metrics/routes.ts';
import { oidcRoutes } from './features/oidc/routes.ts';
import { tierRoutes } from './features/tiers/routes.ts';
import { publishTierChanges } from './features/tiers/tier-publish.ts';
import { vcRoutes } from './features/vc/routes.ts';
import { webhookRoutes } from './features/webhooks/routes.ts';
import { kickWebhooks } from './features/webhooks/webhook-kick.ts';
import { deps } from './http/deps.ts';
import { AppError, problem, toProblemResponse, zodFieldErrors } from './http/errors.ts';
import { requestLog } from './http/request-log.ts';
import type { Clock } from './platform/clock.ts';
import { ConfigError } from './platform/config.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface AppOptions {
  clock?: Clock;
  /** Settle held usage on an idle timer (default on); tests that hold leases across calls turn it off. */
  idleTimer?: boolean;
}

/** Builds the Worker's Hono app: middleware order, error mapping, routes and the OpenAPI document. */
export function createApp(options: AppOptions = {}): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new AppError('validation_failed', 'Request validation failed', {
          errors: zodFieldErrors(result.error),
        });
      }
    },
  });

  app.use('*', requestLog());
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new AppError('payload_too_large', 'Request body exceeds 1 MiB');
      },
    }),
  );
  app.use('*', deps({ clock: options.clock, idleTimer: options.idleTimer }));
  app.use('*', kickWebhooks());
  app.use('*', publishTierChanges());

  healthRoutes(app);
  adminRoutes(app);
  metricsRoutes(app);
  agentRoutes(app);
  didRoutes(app);
  vcRoutes(app);
  webhookRoutes(app);
  analyticsRoutes(app);
  tierRoutes(app);
  auditRoutes(app);
  complianceRoutes(app);
  oidcRoutes(app);
  federationRoutes(app);
  billingRoutes(app);
  delegationRoutes(app);
  apiKeyRoutes(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'tenantApiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'The API key returned when the organization was created',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The operator ADMIN_TOKEN',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'AgentIdP', version: '0.1.0', description: 'Identity provider for AI agents at the edge.' },
  });

  app.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'AgentIdP API reference' }));

  app.notFound((c) => problem('not_found', `No route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    if (err instanceof ConfigError) {
      console.error(JSON.stringify({ level: 'error', msg: err.message }));
      return problem('misconfigured', err.message);
    }
    return toProblemResponse(err, c);
  });
  return app;
}
