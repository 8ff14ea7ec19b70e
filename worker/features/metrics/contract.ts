import { createRoute, z } from '@hono/zod-openapi';
import { operatorAudience } from '../../http/audience.ts';
import { pick } from '../../http/schemas.ts';

export const MetricSampleSchema = z
  .object({
    name: z.string().openapi({ example: 'agentidp_limiter_calls_total' }),
    type: z.enum(['counter', 'gauge']),
    help: z.string(),
    labels: z.record(z.string(), z.string()),
    value: z.number(),
  })
  .openapi('MetricSample');

export const MetricsSchema = z
  .object({
    scope: z.literal('isolate').openapi({
      description:
        'Counters are those of the isolate that answered (see the README); `agentidp_webhook_deliveries` is read from Postgres and covers every isolate',
    }),
    isolate: z.object({ id: z.string(), started_at: z.string() }),
    samples: z.array(MetricSampleSchema),
  })
  .openapi('Metrics');

export const metricsRoute = createRoute({
  method: 'get',
  path: '/v1/admin/metrics',
  tags: ['admin'],
  summary: 'Operator metrics: requests, limiter calls and leases, database connections, webhook deliveries',
  description:
    'JSON by default; the Prometheus text format (version 0.0.4) with `Accept: text/plain`. Each sample of the text format carries an `isolate` label.',
  ...operatorAudience,
  responses: {
    200: {
      description: 'The metrics',
      content: {
        'application/json': { schema: MetricsSchema },
        'text/plain': {
          schema: z
            .string()
            .openapi({ example: 'agentidp_limiter_calls_total{method="lease",mode="background",isolate="…"} 3' }),
        },
      },
    },
    ...pick(401),
  },
});
