import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import {
  AgentId,
  Identifier,
  jsonBody,
  jsonResponse,
  pick,
  SafeString,
  tenantProblems,
  Uuid,
} from '../../http/schemas.ts';

const tags = ['Delegations'];
const disabled = ' Answers 404 when `A2A_ENABLED=false`.';

export const CreateDelegationBody = z
  .object({
    delegator_id: AgentId.openapi({ description: 'An active agent of this tenant' }),
    delegatee_id: AgentId.openapi({ description: 'An active agent (of any tenant)' }),
    scope: Identifier(2048).openapi({
      description: 'Space-separated; a subset of the delegator’s capabilities',
      example: 'search',
    }),
    expires_in: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .openapi({ description: 'Seconds; default 300, capped by node-oidc’s DELEGATION_MAX_TTL_SECONDS' }),
  })
  .strict()
  .openapi('CreateDelegation');

export const VerifyDelegationBody = z
  .object({ token: SafeString(8192).min(1), delegatee_id: AgentId })
  .strict()
  .openapi('VerifyDelegation');

const CreatedDelegation = z
  .object({
    chain_id: z.string().uuid(),
    token: z.string().openapi({ description: 'ES256 JWT signed by node-oidc (`act.sub` = delegatee)' }),
    expires_at: z.string(),
  })
  .openapi('CreatedDelegation');

export const VerifiedDelegationSchema = z
  .object({
    valid: z.literal(true),
    chain_id: z.string().uuid(),
    delegator_id: z.string().uuid().openapi({ description: 'The agent that made this hop of the delegation' }),
    delegatee_id: z.string().uuid(),
    subject_id: z
      .string()
      .uuid()
      .openapi({ description: 'The original subject (`sub`): the first delegator of the chain' }),
    scope: z.string(),
    depth: z.number().int().openapi({ description: '1 for a direct delegation' }),
    expires_at: z.string(),
  })
  .openapi('VerifiedDelegation');
export type VerifiedDelegation = z.infer<typeof VerifiedDelegationSchema>;

const RevokedDelegation = z
  .object({ chain_id: z.string().uuid(), status: z.literal('revoked'), revoked_at: z.string() })
  .openapi('RevokedDelegation');

export const createDelegationRoute = createRoute({
  method: 'post',
  path: '/v1/delegations',
  tags,
  ...tenantAudience,
  summary: 'Delegate part of an agent’s capabilities to another agent',
  description: `Signs a delegation token with node-oidc’s keys and records the chain. Emits \`delegation.created\`.${disabled}`,
  request: jsonBody(CreateDelegationBody),
  responses: {
    201: jsonResponse(CreatedDelegation, 'Delegation created'),
    ...tenantProblems,
    ...pick(409, 503),
  },
});

export const verifyDelegationRoute = createRoute({
  method: 'post',
  path: '/v1/delegations/verify',
  tags,
  ...tenantAudience,
  summary: 'Verify a delegation token for its delegatee',
  description:
    'Checks node-oidc’s signature, expiry, that `act.sub` is `delegatee_id`, and that the chain and every chain it derives from ' +
    'are active (read on every call: a revocation applies to the next verification). Answers only a tenant party to the chain ' +
    '(one of its agents is the subject, a delegator or the delegatee); any other tenant gets the answer of a token not on record ' +
    '(`unknown_chain`). 401 `delegation_invalid` with `reason` ' +
    `(\`malformed\`, \`signature\`, \`expired\`, \`delegatee_mismatch\`, \`revoked\`, \`unknown_chain\`).${disabled}`,
  request: jsonBody(VerifyDelegationBody),
  responses: {
    200: jsonResponse(VerifiedDelegationSchema, 'The delegation is valid'),
    ...tenantProblems,
    ...pick(503),
  },
});

export const revokeDelegationRoute = createRoute({
  method: 'post',
  path: '/v1/delegations/{chain_id}/revoke',
  tags,
  ...tenantAudience,
  summary: 'Revoke a delegation and every delegation derived from it',
  description: `Only the delegator’s tenant (another tenant gets 404). Idempotent. Emits \`delegation.revoked\`.${disabled}`,
  request: { params: z.object({ chain_id: Uuid }) },
  responses: {
    200: jsonResponse(RevokedDelegation, 'Revoked'),
    ...tenantProblems,
  },
});
