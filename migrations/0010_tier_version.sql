-- A counter bumped by every tier change. The TenantLimiter Durable Object (one per organization) keeps the
-- newest (tier, tier_version) it has been told: by TierService once a change has committed, and by every
-- counted request, which passes the tier it read with its API key. The limiter therefore applies a change
-- at once in every isolate, and a lost notice is corrected by the next request that read the row afresh.
ALTER TABLE organizations ADD COLUMN tier_version bigint NOT NULL DEFAULT 0;
