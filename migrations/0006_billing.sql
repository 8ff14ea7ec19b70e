-- Stripe billing: processed webhook events (idempotency) and each organization's subscription state.

-- One row per Stripe event id that has been handled. It is inserted (ON CONFLICT DO NOTHING) in the same
-- transaction as the event's effects, so an event is applied at most once however often Stripe delivers it,
-- and a delivery that failed half-way leaves no row and is applied in full by the retry.
CREATE TABLE stripe_events (
  id                text PRIMARY KEY,            -- Stripe's event id (evt_...)
  type              text NOT NULL,
  created           bigint NOT NULL,             -- Stripe's `created`, Unix seconds
  organization_id   uuid,                        -- the organization it concerned, when one was found
  outcome           text NOT NULL DEFAULT 'applied', -- applied | ignored:<reason>
  processed_at      timestamptz NOT NULL DEFAULT now()
);

-- The organization's Stripe subscription as last reported. Events arrive unordered: one whose `created` is
-- older than `last_event_created` is ignored, so the newest state wins.
CREATE TABLE tenant_subscriptions (
  organization_id         uuid PRIMARY KEY REFERENCES organizations(organization_id) ON DELETE CASCADE,
  status                  text NOT NULL,         -- Stripe's subscription status (active, past_due, canceled, ...)
  stripe_customer_id      text,
  stripe_subscription_id  text,
  current_period_end      timestamptz,
  last_event_created      bigint NOT NULL,       -- `created` of the event that produced this state
  updated_at              timestamptz NOT NULL DEFAULT now()
);

-- Subscription events that carry no organization in their metadata are matched by these.
CREATE INDEX tenant_subscriptions_subscription_idx ON tenant_subscriptions (stripe_subscription_id);
CREATE INDEX tenant_subscriptions_customer_idx ON tenant_subscriptions (stripe_customer_id);
