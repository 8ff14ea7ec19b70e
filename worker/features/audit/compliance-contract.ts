import { createRoute, z } from '@hono/zod-openapi';
import { jsonResponse, tenantProblems } from '../../http/schemas.ts';
import { tenantAudience } from '../../http/audience.ts';

const Status = z.enum(['pass', 'warn', 'fail']);

export const ComplianceFindingSchema = z
  .object({
    severity: z.enum(['fail', 'warn', 'info']),
    code: z.string().openapi({ example: 'agent_missing_did' }),
    message: z.string(),
    agent_id: z.string().optional(),
    credential_id: z.string().optional(),
    expires_at: z.string().optional(),
    seq: z.number().int().optional(),
    reason: z.string().optional(),
    count: z.number().int().optional(),
  })
  .openapi('ComplianceFinding');

export const ComplianceReportSchema = z
  .object({
    organization_id: z.string().uuid(),
    generated_at: z.string(),
    overall_status: Status,
    from_cache: z.boolean(),
    sections: z.array(
      z.object({ name: z.enum(['agent-identity', 'audit-trail']), status: Status, findings: z.array(ComplianceFindingSchema) }),
    ),
  })
  .openapi('ComplianceReport');

export const ComplianceAgentCardSchema = z
  .object({
    id: z.string().openapi({ description: "the agent's DID, or its id when it has none" }),
    name: z.string(),
    capabilities: z.array(z.string()),
    endpoint: z.string().nullable(),
    created_at: z.string(),
    agntcy_schema_version: z.literal('1.0'),
  })
  .openapi('ComplianceAgentCard');

const base = { tags: ['compliance'], ...tenantAudience };

export const complianceReportRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/compliance/report',
  summary: 'AGNTCY compliance report (agent identity, audit trail); cached for 300 s',
  responses: { 200: jsonResponse(ComplianceReportSchema, 'The report'), ...tenantProblems },
});

export const complianceAgentCardsRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/compliance/agent-cards',
  summary: 'AGNTCY export cards of every agent that is not decommissioned',
  responses: {
    200: jsonResponse(z.object({ agent_cards: z.array(ComplianceAgentCardSchema) }), 'The agent cards'),
    ...tenantProblems,
  },
});
