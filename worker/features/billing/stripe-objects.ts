// The parts of Stripe's objects that billing reads. Webhook payloads are rendered in the API version of the
// webhook endpoint, which need not be the SDK's, so they are parsed loosely here rather than trusted as
// `Stripe.*` types: a field that moved between versions (`current_period_end`) is read from either place.
import { z } from 'zod';

const expandable = z.union([z.string(), z.object({ id: z.string() }).passthrough()]);
const metadata = z.record(z.string(), z.string()).nullish();

/** The envelope of every event; a signed body that is not one of these is refused. */
export const StripeEventShape = z
  .object({
    // Stored and logged: only the characters Stripe's ids and type names are made of (no NUL, no spaces).
    id: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
    type: z.string().regex(/^[A-Za-z0-9_.]{1,255}$/),
    created: z.number().int().nonnegative(),
    data: z.object({ object: z.record(z.string(), z.unknown()) }).passthrough(),
  })
  .passthrough();
export type StripeEventEnvelope = z.infer<typeof StripeEventShape>;

export const CheckoutSessionShape = z
  .object({
    id: z.string(),
    client_reference_id: z.string().nullish(),
    metadata,
    payment_status: z.string().nullish(),
    customer: expandable.nullish(),
    subscription: expandable.nullish(),
  })
  .passthrough();
export type CheckoutSessionObject = z.infer<typeof CheckoutSessionShape>;

export const SubscriptionShape = z
  .object({
    id: z.string(),
    status: z.string().min(1),
    customer: expandable.nullish(),
    metadata,
    // API versions before 2025-03-31 carry the period on the subscription, later ones on each item.
    current_period_end: z.number().nullish(),
    items: z
      .object({
        data: z.array(
          z.object({ current_period_end: z.number().nullish(), price: expandable.nullish() }).passthrough(),
        ),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();
export type SubscriptionObject = z.infer<typeof SubscriptionShape>;

/** The id of an expandable field (`"cus_1"` or `{ id: "cus_1", ... }`). */
export const idOf = (v: z.infer<typeof expandable> | null | undefined): string | null =>
  v == null ? null : typeof v === 'string' ? v : v.id;

/** The price ids of the subscription's items. */
export const priceIdsOf = (sub: SubscriptionObject): string[] =>
  (sub.items?.data ?? []).map((i) => idOf(i.price)).filter((p): p is string => p !== null);

/** End of the current period as ISO 8601: the latest item's period end, else the subscription's own (older APIs). */
export function periodEndOf(sub: SubscriptionObject): string | null {
  const ends = (sub.items?.data ?? [])
    .map((i) => i.current_period_end)
    .filter((n): n is number => typeof n === 'number');
  const seconds = ends.length > 0 ? Math.max(...ends) : sub.current_period_end;
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Organization ids are UUIDs; anything else in metadata cannot name one (and must not reach a uuid column). */
export const isOrganizationId = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
