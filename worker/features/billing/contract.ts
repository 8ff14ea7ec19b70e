import { createRoute, z } from '@hono/zod-openapi';
import { tenantAudience } from '../../http/audience.ts';
import { jsonBody, jsonResponse, ProblemSchema, pick, SafeString, tenantProblems } from '../../http/schemas.ts';
import { CheckoutSchema, IdempotencyHeaders } from '../tiers/contract.ts';

const redirectUrl = SafeString(2048).refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

export const CheckoutBody = z
  .object({
    success_url: redirectUrl.optional().openapi({ description: 'Default: STRIPE_SUCCESS_URL' }),
    cancel_url: redirectUrl.optional().openapi({ description: 'Default: STRIPE_CANCEL_URL' }),
  })
  .strict()
  .openapi('BillingCheckout');

export const SubscriptionSchema = z
  .object({
    status: z.string().openapi({ description: 'Stripe subscription status, or "free" when there never was one' }),
    current_period_end: z.string().nullable(),
    stripe_subscription_id: z.string().nullable(),
  })
  .openapi('BillingSubscription');
export type SubscriptionStatus = z.infer<typeof SubscriptionSchema>;

/** What a webhook delivery did: `applied` its effects, was a `duplicate` of a handled event, or was `ignored`. */
export const WebhookOutcomeSchema = z
  .object({
    received: z.literal(true),
    event_id: z.string(),
    outcome: z.enum(['applied', 'duplicate', 'ignored']),
    reason: z.string().optional(),
  })
  .openapi('StripeWebhookOutcome');
export type WebhookOutcome = z.infer<typeof WebhookOutcomeSchema>;

const providerProblem = {
  502: { description: 'Stripe failed', content: { 'application/problem+json': { schema: ProblemSchema } } },
} as const;

const base = { tags: ['billing'] };

export const checkoutRoute = createRoute({
  ...base,
  ...tenantAudience,
  method: 'post',
  path: '/v1/billing/checkout',
  summary: 'Open a Stripe Checkout Session for a subscription',
  request: { ...jsonBody(CheckoutBody), headers: IdempotencyHeaders },
  responses: {
    200: jsonResponse(CheckoutSchema, 'Checkout session'),
    ...tenantProblems,
    ...pick(409, 503),
    ...providerProblem,
  },
});

export const subscriptionRoute = createRoute({
  ...base,
  ...tenantAudience,
  method: 'get',
  path: '/v1/billing/subscription',
  summary: "The tenant's subscription state",
  responses: { 200: jsonResponse(SubscriptionSchema, 'Subscription'), ...tenantProblems },
});

// No request schema on purpose: the signature covers the exact raw bytes, which a JSON validator would consume.
export const stripeWebhookRoute = createRoute({
  ...base,
  security: [{ stripeSignature: [] }],
  method: 'post',
  path: '/v1/billing/stripe-webhook',
  summary: 'Stripe webhook endpoint (signed with Stripe-Signature; idempotent by event id)',
  description:
    'Verifies Stripe-Signature over the raw body (300 s tolerance). 200 when the event was applied, ignored or ' +
    'already handled; 400 `stripe_signature_invalid` (with `reason`) on a missing, bad or stale signature.',
  responses: { 200: jsonResponse(WebhookOutcomeSchema, 'Handled'), ...pick(400, 413, 503) },
});
