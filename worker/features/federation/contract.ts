import { createRoute, z } from '@hono/zod-openapi';
import { operatorAudience, tenantAudience } from '../../http/audience.ts';
import { jsonBody, jsonResponse, pick, SafeString, Text, Timestamp, tenantProblems, Uuid } from '../../http/schemas.ts';

const name = Text(200);
// Matched byte for byte against `iss`, so no trimming: surrounding whitespace is refused instead.
const issuer = SafeString(2048)
  .min(1)
  .refine((s) => s.trim() === s, 'must not start or end with whitespace');
// Checked by the outbound URL policy in the service (400 federation_partner_invalid).
const jwksUri = SafeString(2048).min(1);
const allowedOrganizations = z
  .array(Uuid)
  .max(1000)
  .openapi({ description: 'Organizations this partner may issue tokens for; empty = any' });
const audiences = z
  .array(SafeString(2048).min(1))
  .max(100)
  .openapi({ description: "When non-empty, a token's aud must contain one" });
const organizationClaim = z
  .string()
  .regex(/^[A-Za-z0-9_:.\-/]{1,100}$/, 'must be a claim name')
  .openapi({ description: 'The claim naming the organization a token is for', example: 'organization_id' });
const expiresAt = Timestamp.nullable();

export const CreatePartnerBody = z
  .object({
    name,
    issuer,
    jwks_uri: jwksUri,
    allowed_organizations: allowedOrganizations.optional(),
    audiences: audiences.optional(),
    organization_claim: organizationClaim.optional(),
    expires_at: expiresAt.optional(),
  })
  .strict()
  .openapi('CreateFederationPartner');

export const PatchPartnerBody = z
  .object({
    name,
    jwks_uri: jwksUri,
    allowed_organizations: allowedOrganizations,
    audiences,
    organization_claim: organizationClaim,
    status: z.enum(['active', 'suspended']),
    expires_at: expiresAt,
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required')
  .openapi('PatchFederationPartner');

export const PartnerSchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    issuer: z.string(),
    jwks_uri: z.string(),
    allowed_organizations: z.array(z.string()),
    audiences: z.array(z.string()),
    organization_claim: z.string(),
    status: z.enum(['active', 'suspended', 'expired']),
    created_at: z.string(),
    updated_at: z.string(),
    expires_at: z.string().nullable(),
  })
  .openapi('FederationPartner');
export type Partner = z.infer<typeof PartnerSchema>;

export const PartnerParams = z.object({ id: Uuid.openapi({ param: { name: 'id', in: 'path' } }) });

export const VerifyBody = z
  .object({ token: SafeString(1_048_576) })
  .strict()
  .openapi('FederationVerifyRequest');

export const VerifiedSchema = z
  .object({
    valid: z.literal(true),
    issuer: z.string(),
    subject: z.string().nullable(),
    organization_id: z.string(),
    claims: z.record(z.string(), z.unknown()),
  })
  .openapi('FederationVerifyResult');
export type VerifiedToken = z.infer<typeof VerifiedSchema>;

const admin = { tags: ['federation'], ...operatorAudience };

export const createPartnerRoute = createRoute({
  ...admin,
  method: 'post',
  path: '/v1/federation/partners',
  summary: 'Register a federation partner (fetches and validates its JWKS)',
  request: jsonBody(CreatePartnerBody),
  responses: { 201: jsonResponse(PartnerSchema, 'Registered'), ...pick(400, 401, 409, 413) },
});

export const listPartnersRoute = createRoute({
  ...admin,
  method: 'get',
  path: '/v1/federation/partners',
  summary: 'List federation partners, newest first',
  responses: { 200: jsonResponse(z.object({ data: z.array(PartnerSchema) }), 'Partners'), ...pick(401) },
});

export const getPartnerRoute = createRoute({
  ...admin,
  method: 'get',
  path: '/v1/federation/partners/{id}',
  summary: 'Get a federation partner',
  request: { params: PartnerParams },
  responses: { 200: jsonResponse(PartnerSchema, 'Partner'), ...pick(400, 401, 404) },
});

export const patchPartnerRoute = createRoute({
  ...admin,
  method: 'patch',
  path: '/v1/federation/partners/{id}',
  summary: 'Update a federation partner',
  request: { params: PartnerParams, ...jsonBody(PatchPartnerBody) },
  responses: { 200: jsonResponse(PartnerSchema, 'Updated'), ...pick(400, 401, 404, 413) },
});

export const deletePartnerRoute = createRoute({
  ...admin,
  method: 'delete',
  path: '/v1/federation/partners/{id}',
  summary: 'Delete a federation partner and its cached keys',
  request: { params: PartnerParams },
  responses: { 204: { description: 'Deleted' }, ...pick(400, 401, 404) },
});

export const verifyRoute = createRoute({
  tags: ['federation'],
  ...tenantAudience,
  method: 'post',
  path: '/v1/federation/verify',
  summary: "Verify a token issued by a federation partner for this tenant's organization",
  description:
    '401 `federation_verification_failed` with a `reason`: malformed, alg_not_allowed, unknown_issuer, partner_suspended, ' +
    'partner_expired, key_not_found, signature_invalid, expired, not_yet_valid, audience_mismatch, organization_not_allowed, ' +
    'token_too_large. The token must be issued for the calling organization.',
  request: jsonBody(VerifyBody),
  responses: { 200: jsonResponse(VerifiedSchema, 'Valid'), ...tenantProblems },
});
