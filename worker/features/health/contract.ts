import { createRoute, z } from '@hono/zod-openapi';
import { jsonResponse } from '../../http/schemas.ts';

export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    checks: z.object({
      database: z.enum(['ok', 'error']),
      cache: z.enum(['ok', 'disabled', 'error']),
      oidc: z.enum(['ok', 'error', 'disabled']),
    }),
  })
  .openapi('Health');

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['public'],
  summary: 'Liveness and dependency checks',
  responses: {
    200: jsonResponse(HealthSchema, 'All required dependencies answer'),
    503: jsonResponse(HealthSchema, 'The database does not answer'),
  },
});

export const livenessRoute = createRoute({
  method: 'get',
  path: '/livez',
  tags: ['public'],
  summary: 'Liveness: answers without touching any dependency',
  responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'The Worker runs') },
});
