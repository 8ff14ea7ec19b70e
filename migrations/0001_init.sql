-- Tenants, their API keys, agents, agent credentials and the per-organization audit hash chain.

CREATE TABLE organizations (
  organization_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL,
  tier              text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'enterprise')),
  tier_updated_at   timestamptz,
  -- Head of the audit hash chain; updated in the same transaction as each appended event.
  audit_head_seq    bigint NOT NULL DEFAULT 0,
  audit_head_hash   text NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Tenant API keys: `aidp_<key_id>_<secret>`. Only the SHA-256 of the whole key is kept.
CREATE TABLE api_keys (
  key_id            text PRIMARY KEY,
  organization_id   uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE,
  key_hash          text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  revoked_at        timestamptz
);
CREATE INDEX api_keys_org_idx ON api_keys (organization_id);

CREATE TABLE agents (
  agent_id          uuid PRIMARY KEY,
  organization_id   uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE,
  email             text NOT NULL,
  owner             text NOT NULL,
  agent_type        text NOT NULL,
  capabilities      jsonb NOT NULL DEFAULT '[]',
  endpoint          text,
  version           text,
  deployment_env    text,
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'decommissioned')),
  did               text,
  did_created_at    timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  decommissioned_at timestamptz
);
CREATE INDEX agents_org_created_idx ON agents (organization_id, created_at DESC, agent_id DESC);

-- Client secrets for the client_credentials grant. Only the SHA-256 of the secret is kept (the secret is
-- 256 random bits, so a fast hash is as strong as a slow one).
CREATE TABLE credentials (
  credential_id     uuid PRIMARY KEY,
  organization_id   uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE,
  agent_id          uuid NOT NULL REFERENCES agents(agent_id) ON DELETE CASCADE,
  secret_hash       text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz,
  revoked_at        timestamptz
);
CREATE INDEX credentials_agent_idx ON credentials (agent_id, created_at DESC);
CREATE INDEX credentials_org_idx ON credentials (organization_id);

-- Append-only, per-organization hash chain: hash = SHA-256(prev_hash || canonical(event)).
CREATE TABLE audit_events (
  organization_id   uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE,
  seq               bigint NOT NULL,
  event_id          uuid NOT NULL,
  event_type        text NOT NULL,
  actor             text NOT NULL,
  subject           text,
  payload           jsonb NOT NULL DEFAULT '{}',
  occurred_at       timestamptz NOT NULL,
  prev_hash         text NOT NULL,
  hash              text NOT NULL,
  PRIMARY KEY (organization_id, seq)
);
