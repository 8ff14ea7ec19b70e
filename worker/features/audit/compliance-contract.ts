import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import { jsonResponse, tenantProblems } from '../../http/schemas.ts';
import { AGNTCY_SCHEMA_VERSION } from './compliance.service.ts';

const Status = z.enum(['pass', 'warn', 'fail']);

export const ComplianceFindingSchema = z
  .object({
    severity: z.enum(['fail', 'warn', 'info']),
    // Stable, machine-readable: `agent_missing_did`, `credential_expired`, `credential_expiring`,
    // `audit_chain_broken`, `audit_chain_verified`, `agents_checked`, `findings_truncated`, `section_error`.
    code: z.string().openapi({ example: 'agent_missing_did' }),
    message: z.string(),
    agent_id: z.string().optional(),
    credential_id: z.string().optional(),
    expires_at: z.string().optional(),
    seq: z.number().int().optional(),
    reason: z.string().optional(),
    count: z.number().int().optional(),
    walked_at: z.string().optional().openapi({
      description:
        'audit-trail findings: when the full walk of the hash chain they report started (it re-hashes every event)',
    }),
  })
  .openapi('ComplianceFinding');
export type ComplianceFinding = z.infer<typeof ComplianceFindingSchema>;

export const ComplianceReportSchema = z
  .object({
    organization_id: z.string().uuid(),
    generated_at: z.string(),
    overall_status: Status,
    from_cache: z.boolean(),
    sections: z.array(
      z.object({
        name: z.enum(['agent-identity', 'audit-trail']),
        status: Status,
        findings: z.array(ComplianceFindingSchema),
      }),
    ),
  })
  .openapi('ComplianceReport');
export type ComplianceReport = z.infer<typeof ComplianceReportSchema>;
export type ComplianceSection = ComplianceReport['sections'][number];
export type ComplianceStatus = ComplianceReport['overall_status'];

export const ComplianceAgentCardSchema = z
  .object({
    id: z.string().openapi({ description: "the agent's DID, or its id when it has none" }),
    // The agent's email, as on its public agent card.
    name: z.string(),
    capabilities: z.array(z.string()),
    endpoint: z.string().nullable(),
    created_at: z.string(),
    agntcy_schema_version: z.literal(AGNTCY_SCHEMA_VERSION),
  })
  .openapi('ComplianceAgentCard');
export type ComplianceAgentCard = z.infer<typeof ComplianceAgentCardSchema>;

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
