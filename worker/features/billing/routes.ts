import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env.ts';
import { checkoutRoute, stripeWebhookRoute, subscriptionRoute } from './contract.ts';

export function billingRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'stripeSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'Stripe-Signature',
    description: 'Stripe webhook signature (t=...,v1=...) under STRIPE_WEBHOOK_SECRET',
  });

  app.openapi(checkoutRoute, async (c) => {
    const body = c.req.valid('json');
    const { 'idempotency-key': idempotencyKey } = c.req.valid('header');
    const result = await c.var.services.billing.createCheckoutSession(c.var.tenant.organizationId, {
      successUrl: body.success_url,
      cancelUrl: body.cancel_url,
      idempotencyKey,
    });
    return c.json(result, 200);
  });

  app.openapi(subscriptionRoute, async (c) => {
    return c.json(await c.var.services.billing.getSubscriptionStatus(c.var.tenant.organizationId), 200);
  });

  app.openapi(stripeWebhookRoute, async (c) => {
    // The exact bytes Stripe signed: read before anything parses the body.
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const outcome = await c.var.services.billing.handleWebhook(raw, c.req.header('stripe-signature'));
    return c.json(outcome, 200);
  });
}
