-- The tier an organization's subscription pays for (the checkout's target tier, the subscription's
-- metadata, or its price), so a subscription that recovers (past_due → active) grants it again without the
-- checkout event. Null when unknown (a subscription opened without a target tier).
ALTER TABLE tenant_subscriptions ADD COLUMN tier text CHECK (tier IN ('free', 'pro', 'enterprise'));
