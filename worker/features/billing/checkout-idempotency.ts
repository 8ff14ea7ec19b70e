// Idempotency keys for Checkout Session creation. Stripe keys are account-wide, so every key is scoped to
// the organization; a key replayed within 24 h returns the first session instead of opening another.
import { sha256Hex } from '../../platform/crypto.ts';

/** Requests without an `Idempotency-Key` header are deduplicated within windows of this length. */
export const CHECKOUT_DEDUP_WINDOW_MS = 10 * 60_000;

export interface CheckoutRequest {
  organizationId: string;
  /** `upgrade:<tier>` or `subscription`. */
  purpose: string;
  price: string;
  successUrl: string;
  cancelUrl: string;
}

/**
 * The Stripe idempotency key of one checkout request.
 *
 * - With a client `Idempotency-Key`: organization + purpose + the client's key. Replaying it returns the same
 *   session; reusing it with other parameters makes Stripe answer an idempotency error (→ 409).
 * - Without one: organization + every parameter + the current `CHECKOUT_DEDUP_WINDOW_MS` window, so a retried
 *   or double-clicked request inside the window gets the first session back. A retry that straddles a window
 *   boundary opens a second session; an unpaid session simply expires at Stripe.
 */
export async function checkoutIdempotencyKey(req: CheckoutRequest, nowMs: number, clientKey?: string): Promise<string> {
  const material = clientKey
    ? ['client', req.purpose, clientKey]
    : [
        'derived',
        req.purpose,
        req.price,
        req.successUrl,
        req.cancelUrl,
        String(Math.floor(nowMs / CHECKOUT_DEDUP_WINDOW_MS)),
      ];
  const digest = await sha256Hex(material.join('\n'));
  return `agentidp-checkout-${req.organizationId}-${digest.slice(0, 40)}`;
}
