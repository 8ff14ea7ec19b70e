import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import {
  AgentId,
  CursorQuery,
  Identifier,
  jsonBody,
  jsonResponse,
  LimitQuery,
  pick,
  SafeString,
  Text,
  tenantProblems,
  Uuid,
} from '../../http/schemas.ts';

const capability = Identifier(100);

export const AgentInputSchema = z
  .object({
    email: Text(320).email(),
    owner: Text(200),
    agent_type: Identifier(64),
    capabilities: z.array(capability).max(100),
    endpoint: SafeString(2048)
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
      .nullable()
      .optional(),
    version: Identifier(64).nullable().optional(),
    deployment_env: Identifier(64).nullable().optional(),
  })
  .strict();

export const CreateAgentBody = AgentInputSchema.openapi('CreateAgent');
export const PatchAgentBody = AgentInputSchema.partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required')
  .openapi('PatchAgent');

export const AgentSchema = z
  .object({
    agent_id: z.string().uuid(),
    organization_id: z.string().uuid(),
    email: z.string(),
    owner: z.string(),
    agent_type: z.string(),
    capabilities: z.array(z.string()),
    endpoint: z.string().nullable(),
    version: z.string().nullable(),
    deployment_env: z.string().nullable(),
    status: z.enum(['active', 'suspended', 'decommissioned']),
    did: z.string().nullable(),
    did_created_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Agent');
export type Agent = z.infer<typeof AgentSchema>;

export const AgentListSchema = z
  .object({ data: z.array(AgentSchema), next_cursor: z.string().nullable() })
  .openapi('AgentList');

export const AgentParams = z.object({ agent_id: AgentId.openapi({ param: { name: 'agent_id', in: 'path' } }) });
export const CredentialParams = AgentParams.extend({
  credential_id: Uuid.openapi({ param: { name: 'credential_id', in: 'path' } }),
});

export const CreateCredentialBody = z
  .object({ expires_in_days: z.number().int().min(1).max(3650).optional() })
  .strict()
  .openapi('CreateCredential');

export const IssuedCredentialSchema = z
  .object({
    credential_id: z.string().uuid(),
    client_id: z.string().uuid(),
    client_secret: z.string().openapi({ description: 'Shown once.' }),
    expires_at: z.string().nullable(),
  })
  .openapi('IssuedCredential');
export type IssuedCredential = z.infer<typeof IssuedCredentialSchema>;

export const CredentialSchema = z
  .object({
    credential_id: z.string().uuid(),
    client_id: z.string().uuid(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    status: z.enum(['active', 'expired', 'revoked']),
  })
  .openapi('Credential');
export type Credential = z.infer<typeof CredentialSchema>;

const base = { tags: ['agents'], ...tenantAudience };

export const createAgentRoute = createRoute({
  ...base,
  method: 'post',
  path: '/v1/agents',
  summary: 'Register an agent (creates its did:web identity)',
  request: jsonBody(CreateAgentBody),
  responses: { 201: jsonResponse(AgentSchema, 'Created'), ...tenantProblems },
});

export const listAgentsRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/agents',
  summary: 'List agents, newest first',
  request: { query: z.object({ limit: LimitQuery.optional(), cursor: CursorQuery.optional() }) },
  responses: { 200: jsonResponse(AgentListSchema, 'A page of agents'), ...tenantProblems },
});

export const getAgentRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/agents/{agent_id}',
  summary: 'Get an agent',
  request: { params: AgentParams },
  responses: { 200: jsonResponse(AgentSchema, 'The agent'), ...tenantProblems },
});

export const patchAgentRoute = createRoute({
  ...base,
  method: 'patch',
  path: '/v1/agents/{agent_id}',
  summary: 'Update an agent',
  request: { params: AgentParams, ...jsonBody(PatchAgentBody) },
  responses: { 200: jsonResponse(AgentSchema, 'Updated'), ...tenantProblems, ...pick(409) },
});

export const deleteAgentRoute = createRoute({
  ...base,
  method: 'delete',
  path: '/v1/agents/{agent_id}',
  summary: 'Decommission an agent (its DID document becomes deactivated)',
  description:
    'Idempotent. In the same transaction, revokes the agent’s live credentials and every live delegation chain in which it is ' +
    'delegator or delegatee (in any tenant), with every chain derived from them. Access tokens already issued stay valid until they expire.',
  request: { params: AgentParams },
  responses: { 200: jsonResponse(AgentSchema, 'Decommissioned'), ...tenantProblems },
});

export const createCredentialRoute = createRoute({
  ...base,
  method: 'post',
  path: '/v1/agents/{agent_id}/credentials',
  summary: 'Issue a client secret for the agent',
  request: {
    params: AgentParams,
    body: { required: false, content: { 'application/json': { schema: CreateCredentialBody } } },
  },
  responses: {
    201: jsonResponse(IssuedCredentialSchema, 'Issued; the secret is shown once'),
    ...tenantProblems,
    ...pick(409),
  },
});

export const listCredentialsRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/agents/{agent_id}/credentials',
  summary: "List an agent's credentials (no secrets)",
  request: { params: AgentParams },
  responses: { 200: jsonResponse(z.object({ data: z.array(CredentialSchema) }), 'Credentials'), ...tenantProblems },
});

export const revokeCredentialRoute = createRoute({
  ...base,
  method: 'delete',
  path: '/v1/agents/{agent_id}/credentials/{credential_id}',
  summary: 'Revoke a credential',
  request: { params: CredentialParams },
  responses: { 204: { description: 'Revoked' }, ...tenantProblems },
});
