import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import { CursorQuery, jsonResponse, LimitQuery, tenantProblems } from '../../http/schemas.ts';

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
export type AuditEvent = z.infer<typeof AuditEventSchema>;

export const AuditEventListSchema = z
  .object({ data: z.array(AuditEventSchema), next_cursor: z.string().nullable() })
  .openapi('AuditEventList');
export type AuditEventPage = z.infer<typeof AuditEventListSchema>;

/**
 * Why a chain failed verification, at `first_broken_seq`:
 * - `missing_event`: no event at this seq although later ones (or the head) say there should be one (a deleted row);
 * - `unexpected_event`: an event where none belongs, below seq 1 or past the organization's head (an inserted row);
 * - `prev_hash_mismatch`: the event's prev_hash is not the previous event's hash;
 * - `hash_mismatch`: the event's stored hash is not the hash of its contents (a changed, moved or re-hashed row);
 * - `head_mismatch`: the last event's hash is not the organization's recorded head hash (a rewritten or truncated tail);
 * - `checkpoint_mismatch`: the event at the checkpoint no longer has the hash it had when it was verified.
 */
const ChainBreakReasonSchema = z.enum([
  'missing_event',
  'unexpected_event',
  'prev_hash_mismatch',
  'hash_mismatch',
  'head_mismatch',
  'checkpoint_mismatch',
]);
export type ChainBreakReason = z.infer<typeof ChainBreakReasonSchema>;

export const ChainVerificationSchema = z
  .object({
    verified: z.boolean(),
    checked: z.number().int().openapi({ description: 'events recomputed by this verification' }),
    // Lowest seq at which the stored chain differs from a valid one; null when verified.
    first_broken_seq: z.number().int().nullable(),
    reason: ChainBreakReasonSchema.nullable(),
    // True when the walk started at seq 1 (asked for, or forced by a missing or broken checkpoint).
    full: z.boolean().openapi({ description: 'whether the walk started at seq 1' }),
    // First seq this walk recomputed.
    from_seq: z.number().int(),
    // The organization's chain head when the verification started.
    head_seq: z.number().int(),
    checkpoint_seq: z
      .number()
      .int()
      .openapi({ description: 'last verified seq kept for the next routine verification' }),
  })
  .openapi('ChainVerification');
export type ChainVerification = z.infer<typeof ChainVerificationSchema>;

const base = { tags: ['audit'], ...tenantAudience };

export const listAuditEventsRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/audit/events',
  summary: "The tenant's audit events, oldest first",
  request: { query: z.object({ limit: LimitQuery.optional(), cursor: CursorQuery.optional() }) },
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
