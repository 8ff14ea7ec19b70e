import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import { jsonBody, jsonResponse, pick, SafeString, Text, tenantProblems, Uuid } from '../../http/schemas.ts';
import { WEBHOOK_EVENT_TYPES } from './webhook-events.ts';

const EventType = SafeString(100).openapi({ enum: [...WEBHOOK_EVENT_TYPES], example: 'agent.created' });
// Event names are checked by the service (one `validation_failed` listing the unknown ones).
const Events = z
  .array(EventType)
  .min(1, 'must not be empty')
  .max(WEBHOOK_EVENT_TYPES.length * 2);
const Url = SafeString(2048).openapi({
  description: '`https://` to a public host (private, loopback, link-local and metadata addresses are refused)',
  example: 'https://hooks.example.com/agentidp',
});
const Name = Text(200);

export const CreateWebhookBody = z.object({ name: Name, url: Url, events: Events }).strict().openapi('CreateWebhook');

export const PatchWebhookBody = z
  .object({ name: Name, url: Url, events: Events, active: z.boolean() })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required')
  .openapi('PatchWebhook');

export const WebhookSchema = z
  .object({
    id: z.string().uuid(),
    organization_id: z.string().uuid(),
    name: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    active: z.boolean(),
    failure_count: z.number().int().openapi({ description: 'Consecutive failed attempts' }),
    disabled_reason: z
      .string()
      .nullable()
      .openapi({ description: '`endpoint_gone` (the receiver answered 410) or `failing_for_5_days`' }),
    previous_secret_expires_at: z
      .string()
      .nullable()
      .openapi({ description: 'Until then the previous secret also signs' }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Webhook');

export const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({ description: '`whsec_` + base64 signing secret. Shown once.' }),
}).openapi('CreatedWebhook');

export const RotatedSecretSchema = z
  .object({
    secret: z.string().openapi({ description: 'The new signing secret. Shown once.' }),
    previous_secret_expires_at: z
      .string()
      .openapi({ description: 'The old secret signs alongside the new one until then' }),
  })
  .openapi('RotatedWebhookSecret');

export const WebhookSecretsSchema = z
  .object({
    secret: z.string().openapi({ description: 'The current `whsec_` signing secret' }),
    previous_secret: z
      .string()
      .optional()
      .openapi({ description: 'The secret the last rotation replaced, while it still signs' }),
    previous_expires_at: z
      .string()
      .optional()
      .openapi({ description: 'Until then deliveries are signed with both secrets' }),
  })
  .openapi('WebhookSecrets');

export const DeliverySchema = z
  .object({
    id: z.string().uuid(),
    event_id: z.string().uuid().openapi({ description: 'Sent as `webhook-id`; the same on every attempt' }),
    event_type: z.string(),
    status: z.enum(['pending', 'delivered', 'failed', 'dead_letter']),
    http_status_code: z.number().int().nullable(),
    attempt_count: z.number().int(),
    next_retry_at: z.string().nullable(),
    delivered_at: z.string().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('WebhookDelivery');
export type WebhookDelivery = z.infer<typeof DeliverySchema>;

export const WebhookParams = z.object({ id: Uuid.openapi({ param: { name: 'id', in: 'path' } }) });

const Page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50).optional(),
  offset: z.coerce.number().int().min(0).max(100_000).default(0).optional(),
});

const base = { tags: ['webhooks'], ...tenantAudience };

export const createWebhookRoute = createRoute({
  ...base,
  method: 'post',
  path: '/v1/webhooks',
  summary: 'Subscribe a URL to events (returns the signing secret once)',
  description:
    'At most `max_webhook_subscriptions` per organization (GET /v1/tier; 429 `tier_limit_exceeded`), and one subscription per ' +
    '(url, set of events) pair (409 `conflict` with `existing_id`).',
  request: jsonBody(CreateWebhookBody),
  responses: { 201: jsonResponse(CreatedWebhookSchema, 'Created'), ...tenantProblems, ...pick(409) },
});

export const listWebhooksRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/webhooks',
  summary: 'List webhook subscriptions, newest first',
  request: { query: Page },
  responses: { 200: jsonResponse(z.object({ data: z.array(WebhookSchema) }), 'Subscriptions'), ...tenantProblems },
});

export const getWebhookRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/webhooks/{id}',
  summary: 'Get a webhook subscription',
  request: { params: WebhookParams },
  responses: { 200: jsonResponse(WebhookSchema, 'The subscription'), ...tenantProblems },
});

export const patchWebhookRoute = createRoute({
  ...base,
  method: 'patch',
  path: '/v1/webhooks/{id}',
  summary: 'Update a webhook subscription (re-activating clears its failure streak)',
  request: { params: WebhookParams, ...jsonBody(PatchWebhookBody) },
  responses: { 200: jsonResponse(WebhookSchema, 'Updated'), ...tenantProblems, ...pick(409) },
});

export const deleteWebhookRoute = createRoute({
  ...base,
  method: 'delete',
  path: '/v1/webhooks/{id}',
  summary: 'Delete a webhook subscription and its deliveries',
  request: { params: WebhookParams },
  responses: { 204: { description: 'Deleted' }, ...tenantProblems },
});

export const rotateWebhookSecretRoute = createRoute({
  ...base,
  method: 'post',
  path: '/v1/webhooks/{id}/rotate-secret',
  summary: 'Replace the signing secret; the old one keeps signing for 24 hours',
  request: { params: WebhookParams },
  responses: { 200: jsonResponse(RotatedSecretSchema, 'The new secret'), ...tenantProblems },
});

export const getWebhookSecretRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/webhooks/{id}/secret',
  summary: 'Read the signing secret (and the previous one during a rotation overlap); audited as webhook.secret_read',
  request: { params: WebhookParams },
  responses: { 200: jsonResponse(WebhookSecretsSchema, 'The signing secrets'), ...tenantProblems },
});

export const listDeliveriesRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/webhooks/{id}/deliveries',
  summary: 'Delivery history of a subscription, newest first',
  request: { params: WebhookParams, query: Page },
  responses: { 200: jsonResponse(z.object({ data: z.array(DeliverySchema) }), 'Deliveries'), ...tenantProblems },
});
