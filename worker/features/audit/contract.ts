import { createRoute, z } from '@hono/zod-openapi';
import { LimitQuery, jsonResponse, tenantProblems } from '../../http/schemas.ts';
import { tenantAudience } from '../../http/audience.ts';

export const AuditEventSchema = z
  .object({
    organization_id: z.string().uuid(),
    seq: z.number().int().openapi({ description: 'Position in the chain, 1, 2, 3... without gaps' }),
    event_id: z.string().uuid(),
    event_type: z.string().openapi({ example: 'agent.created' }),
    actor: z.string().openapi({ description: '`admin`, `api_key:<key id>`, `stripe` or `system`' }),
    subject: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
    occurred_at: z.string(),
    prev_hash: z.string().openapi({ description: 'hash of the previous event (64 zeros for seq 1)' }),
    hash: z.string().openapi({
      description:
        'hex SHA-256 of prev_hash + "\\n" + the canonical JSON (keys sorted, no whitespace) of the event without prev_hash and hash',
    }),
  })
  .openapi('AuditEvent');

export const AuditEventListSchema = z
  .object({ data: z.array(AuditEventSchema), next_cursor: z.string().nullable() })
  .openapi('AuditEventList');

export const ChainVerificationSchema = z
  .object({
    verified: z.boolean(),
    checked: z.number().int().openapi({ description: 'events recomputed by this verification' }),
    first_broken_seq: z.number().int().nullable(),
    reason: z
      .enum(['missing_event', 'unexpected_event', 'prev_hash_mismatch', 'hash_mismatch', 'head_mismatch', 'checkpoint_mismatch'])
      .nullable(),
    full: z.boolean().openapi({ description: 'whether the walk started at seq 1' }),
    from_seq: z.number().int(),
    head_seq: z.number().int(),
    checkpoint_seq: z.number().int().openapi({ description: 'last verified seq kept for the next routine verification' }),
  })
  .openapi('ChainVerification');

const base = { tags: ['audit'], ...tenantAudience };

export const listAuditEventsRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/audit/events',
  summary: "The tenant's audit events, oldest first",
  request: { query: z.object({ limit: LimitQuery.optional(), cursor: z.string().max(200).optional() }) },
  responses: { 200: jsonResponse(AuditEventListSchema, 'A page of audit events'), ...tenantProblems },
});

export const verifyAuditChainRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/audit/verify',
  summary: "Verify the tenant's audit hash chain",
  description:
    'A routine verification re-checks the last verified event (the checkpoint) and walks only the events after it; ' +
    'a change below the checkpoint is found only with `full=true`, which re-walks the whole chain. Once a break has ' +
    'been found, routine verifications walk the whole chain until a full walk finds it intact.',
  request: { query: z.object({ full: z.enum(['true', 'false']).optional() }) },
  responses: { 200: jsonResponse(ChainVerificationSchema, 'The verification'), ...tenantProblems },
});
