import { AppError } from '../../platform/errors.ts';
import { Stripe } from './stripe.ts';
import type { SubscriptionSnapshot } from './stripe-event-applier.ts';
import { SubscriptionShape } from './stripe-objects.ts';

/**
 * The subscription as Stripe has it now (`GET /v1/subscriptions/{id}`), for events whose order cannot be
 * trusted. A subscription Stripe does not know is `{ found: false }`. Throws `billing_provider_error` (502)
 * when Stripe fails or answers something that is not a subscription: the webhook then answers 502 and
 * Stripe delivers the event again later.
 */
export async function fetchSubscription(stripe: Stripe, subscriptionId: string): Promise<SubscriptionSnapshot> {
  let raw: unknown;
  try {
    raw = await stripe.subscriptions.retrieve(subscriptionId);
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError && (err.statusCode === 404 || err.code === 'resource_missing'))
      return { found: false };
    if (err instanceof Stripe.errors.StripeError) {
      console.error(
        JSON.stringify({
          level: 'error',
          msg: 'stripe subscription fetch failed',
          type: err.type,
          status: err.statusCode,
          request_id: err.requestId,
        }),
      );
      throw new AppError('billing_provider_error', 'The payment provider could not be asked for the subscription');
    }
    throw err;
  }
  const parsed = SubscriptionShape.safeParse(raw);
  if (!parsed.success)
    throw new AppError('billing_provider_error', 'The payment provider answered something that is not a subscription');
  return { found: true, subscription: parsed.data };
}
