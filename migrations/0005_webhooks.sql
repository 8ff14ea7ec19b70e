-- Webhook subscriptions (signing secrets encrypted at rest) and their deliveries: an outbox that the
-- WebhookDispatcher Durable Objects drain. A delivery row is written in the same transaction as the change
-- it announces, so an event is never lost and never sent for a change that rolled back.

CREATE TABLE webhook_subscriptions (
  id                          uuid PRIMARY KEY,
  organization_id             uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE,
  name                        text NOT NULL,
  url                         text NOT NULL,
  -- Event types as a JSON array of strings, e.g. ["agent.created"].
  events                      jsonb NOT NULL,
  -- Encryptor envelope (AES-256-GCM, `v1.<kid>.<iv>.<ct>`) of the `whsec_...` secret; never plaintext.
  secret_ciphertext           text NOT NULL,
  -- The secret before the last rotation keeps signing (alongside the new one) until this expiry.
  previous_secret_ciphertext  text,
  previous_secret_expires_at  timestamptz,
  active                      boolean NOT NULL DEFAULT true,
  -- Consecutive failed attempts; reset by a success.
  failure_count               integer NOT NULL DEFAULT 0,
  -- Start of the current run of failures; 5 days of nothing but failures disables the subscription.
  first_failure_at            timestamptz,
  -- Why the system disabled it (`endpoint_gone`, `failing_for_5_days`); null when active or disabled by hand.
  disabled_reason             text,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_org_idx ON webhook_subscriptions (organization_id, created_at DESC, id DESC);

CREATE TABLE webhook_deliveries (
  id                uuid PRIMARY KEY,
  subscription_id   uuid NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
  organization_id   uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE,
  -- The event's id; sent as `webhook-id`, the same on every attempt (receivers deduplicate on it).
  event_id          uuid NOT NULL,
  event_type        text NOT NULL,
  -- The Standard Webhooks payload `{ type, timestamp, data }`.
  payload           jsonb NOT NULL,
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead_letter')),
  http_status_code  integer,
  attempt_count     integer NOT NULL DEFAULT 0,
  -- When the next attempt is due (pending/failed); null once delivered or dead-lettered.
  next_retry_at     timestamptz,
  delivered_at      timestamptz,
  last_error        text,
  -- Claim of an attempt in flight: only the holder of lease_token may record its outcome, and nobody else
  -- may send the row before lease_expires_at (so two dispatchers never send the same attempt).
  lease_token       uuid,
  lease_expires_at  timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subscription_id, event_id)
);
-- Due deliveries of one subscription (the dispatcher's claim) and overdue ones of all (the cron sweep).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (subscription_id, next_retry_at)
  WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_overdue_idx ON webhook_deliveries (next_retry_at)
  WHERE status IN ('pending', 'failed');
-- Per-subscription listing, newest first.
CREATE INDEX webhook_deliveries_sub_created_idx ON webhook_deliveries (subscription_id, created_at DESC, id DESC);
