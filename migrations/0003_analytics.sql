-- Usage analytics: one counter per organization, UTC date, UTC hour and metric, upserted by AnalyticsService
-- (INSERT ... ON CONFLICT DO UPDATE SET count = count + n). Metrics: `token_issued` (tenant-wide) and
-- `agent:<agent_id>:<metric>` with metric created, updated, decommissioned, credential_issued, token_issued.
-- The tier columns (organizations.tier, tier_updated_at) are in 0001_init.sql.

CREATE TABLE analytics_events (
  organization_id   uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE,
  date              date NOT NULL,
  hour              smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
  metric_type       text NOT NULL CHECK (length(metric_type) BETWEEN 1 AND 200),
  count             bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
  -- The upsert key. Its order also serves the token trend: one tenant, one metric, a date range.
  PRIMARY KEY (organization_id, metric_type, date, hour)
);

-- The activity heatmap (last 30 days) and the per-agent monthly usage: one tenant's agent rows in a date
-- range. Partial, so tenant-wide metrics do not widen it; `count` is left out of every index so that the
-- upsert's update can stay a heap-only (HOT) update.
CREATE INDEX analytics_events_agent_date_idx ON analytics_events (organization_id, date)
  WHERE metric_type LIKE 'agent:%';
