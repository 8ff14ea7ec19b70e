import { createRoute, z } from '@hono/zod-openapi';
import { operatorAudience } from '../../http/audience.ts';
import { jsonBody, jsonResponse, pick, Text } from '../../http/schemas.ts';
import { TIER_NAMES } from '../tiers/tiers.ts';

export const CreateOrganizationBody = z
  .object({
    name: Text(200),
    tier: z.enum(TIER_NAMES).optional(),
  })
  .strict()
  .openapi('CreateOrganization');

export const CreatedOrganizationSchema = z
  .object({
    organization_id: z.string().uuid(),
    name: z.string(),
    tier: z.enum(TIER_NAMES),
    api_key: z.string().openapi({ description: 'Shown once; store it now.' }),
  })
  .openapi('CreatedOrganization');
export type CreatedOrganization = z.infer<typeof CreatedOrganizationSchema>;

export const createOrganizationRoute = createRoute({
  method: 'post',
  path: '/v1/admin/organizations',
  tags: ['admin'],
  summary: 'Create an organization (tenant) and its API key',
  ...operatorAudience,
  request: jsonBody(CreateOrganizationBody),
  responses: {
    201: jsonResponse(CreatedOrganizationSchema, 'Created; the API key is shown once'),
    ...pick(400, 401, 413),
  },
});
