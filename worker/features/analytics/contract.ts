import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import { jsonResponse, tenantProblems } from '../../http/schemas.ts';

/** Largest `days` accepted before clamping; anything above is a client bug and answers 400. */
export const MAX_DAYS_INPUT = 365;

const DaysQuery = z
  .string()
  .regex(/^\d{1,9}$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().min(0).max(MAX_DAYS_INPUT, `must be at most ${MAX_DAYS_INPUT}`))
  .openapi({
    param: { name: 'days', in: 'query' },
    type: 'integer',
    minimum: 0,
    maximum: MAX_DAYS_INPUT,
    description: 'Days to cover, today included; clamped to 1..90. Default 30.',
    example: 30,
  });

export const TokenTrendSchema = z
  .object({
    days: z.number().int(),
    series: z.array(z.object({ date: z.string().openapi({ example: '2026-01-31' }), count: z.number().int() })),
  })
  .openapi('TokenTrend');
export type TokenTrend = z.infer<typeof TokenTrendSchema>;

export const ActivityHeatmapSchema = z
  .object({
    cells: z.array(
      z.object({
        day_of_week: z.number().int().min(0).max(6).openapi({ description: '0 = Sunday' }),
        hour: z.number().int().min(0).max(23).openapi({ description: 'UTC hour' }),
        count: z.number().int(),
      }),
    ),
  })
  .openapi('ActivityHeatmap');
export type ActivityHeatmap = z.infer<typeof ActivityHeatmapSchema>;

export const AgentUsageSchema = z
  .object({
    month: z.string().openapi({ example: '2026-01' }),
    agents: z.array(z.object({ agent_id: z.string().uuid(), name: z.string(), token_count: z.number().int() })),
  })
  .openapi('AgentUsage');
export type AgentUsage = z.infer<typeof AgentUsageSchema>;

const base = { tags: ['analytics'], ...tenantAudience };

export const tokenTrendRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/analytics/tokens',
  summary: 'Tokens issued per UTC day, zero-filled, ascending',
  request: { query: z.object({ days: DaysQuery.optional() }) },
  responses: { 200: jsonResponse(TokenTrendSchema, 'Daily token counts'), ...tenantProblems },
});

export const agentActivityRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/analytics/agent-activity',
  summary: 'Agent activity over the last 30 days by day of week and UTC hour (168 cells)',
  responses: { 200: jsonResponse(ActivityHeatmapSchema, 'Heatmap cells'), ...tenantProblems },
});

export const agentUsageRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/analytics/agent-usage',
  summary: 'Tokens issued per agent this UTC calendar month, descending (decommissioned agents excluded)',
  responses: { 200: jsonResponse(AgentUsageSchema, 'Per-agent usage'), ...tenantProblems },
});
