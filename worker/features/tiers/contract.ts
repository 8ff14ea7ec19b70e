import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import { jsonBody, jsonResponse, pick, tenantProblems } from '../../http/schemas.ts';
import { TIER_NAMES } from './tiers.ts';

const limit = z.number().int().nullable().openapi({ description: 'null: unlimited' });

export const TierStatusSchema = z
  .object({
    tier: z.enum(TIER_NAMES),
    limits: z.object({
      max_agents: limit,
      max_calls_per_day: limit,
      max_tokens_per_day: limit,
      max_webhook_subscriptions: limit,
      max_webhook_deliveries_per_day: limit.openapi({
        description: 'Delivery attempts, retries included; null: unlimited',
      }),
    }),
    usage: z.object({
      agents: z.number().int(),
      calls_today: z.number().int(),
      tokens_today: z.number().int(),
      webhook_subscriptions: z.number().int(),
      webhook_deliveries_today: z.number().int(),
    }),
    reset_at: z.string().openapi({ description: 'Next UTC midnight, when the daily counters reset' }),
  })
  .openapi('TierStatus');
export type TierStatus = z.infer<typeof TierStatusSchema>;

export const UpgradeBody = z
  .object({ target_tier: z.enum(TIER_NAMES) })
  .strict()
  .openapi('TierUpgrade');

export const CheckoutSchema = z.object({ checkout_url: z.string().url() }).openapi('Checkout');

/**
 * Optional client key for opening a Stripe Checkout Session (here and POST /v1/billing/checkout). Without one,
 * identical requests within a 10-minute window get the same session (services/billing/checkout-idempotency.ts).
 */
export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Retrying with the same key returns the same checkout session' }),
});

const base = { tags: ['tier'], ...tenantAudience };

export const getTierRoute = createRoute({
  ...base,
  method: 'get',
  path: '/v1/tier',
  summary: "The tenant's tier, its limits, today's usage and the reset time",
  responses: { 200: jsonResponse(TierStatusSchema, 'Tier status'), ...tenantProblems },
});

export const upgradeTierRoute = createRoute({
  ...base,
  method: 'post',
  path: '/v1/tier/upgrade',
  summary: 'Start an upgrade to a strictly higher tier (Stripe Checkout)',
  request: { ...jsonBody(UpgradeBody), headers: IdempotencyHeaders },
  responses: { 200: jsonResponse(CheckoutSchema, 'Checkout session'), ...tenantProblems, ...pick(409, 503) },
});
