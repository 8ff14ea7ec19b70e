-- did:web key material: one P-256 key per agent (more once keys rotate) and the instance's own key.
-- Private keys are never stored in plaintext: `private_key_ref` is, by `custody`,
--   'local': an AES-256-GCM envelope (`v1.<kid>.<iv>.<ct>`, worker/lib/crypto.ts) of the private JWK under ENCRYPTION_KEY;
--   'vault': the AES-256-GCM envelope of the Vault path that node-oidc stores the key under.

CREATE TABLE agent_did_keys (
  kid               text PRIMARY KEY,                 -- RFC 7638 JWK thumbprint (SHA-256, base64url)
  agent_id          uuid NOT NULL REFERENCES agents(agent_id) ON DELETE CASCADE,
  organization_id   uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE,
  public_key_jwk    jsonb NOT NULL CHECK (NOT (public_key_jwk ? 'd')),
  key_type          text NOT NULL DEFAULT 'EC' CHECK (key_type = 'EC'),
  curve             text NOT NULL DEFAULT 'P-256' CHECK (curve = 'P-256'),
  custody           text NOT NULL CHECK (custody IN ('local', 'vault')),
  private_key_ref   text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_did_keys_agent_idx ON agent_did_keys (agent_id, created_at);
CREATE INDEX agent_did_keys_org_idx ON agent_did_keys (organization_id);

-- Keys of the instance itself (did:web:<DID_WEB_DOMAIN>), one row per purpose, created on first use with
-- INSERT ... ON CONFLICT DO NOTHING so that concurrent first requests agree on one key.
CREATE TABLE instance_keys (
  purpose           text PRIMARY KEY CHECK (purpose IN ('did')),
  kid               text NOT NULL UNIQUE,
  public_key_jwk    jsonb NOT NULL CHECK (NOT (public_key_jwk ? 'd')),
  custody           text NOT NULL CHECK (custody IN ('local', 'vault')),
  private_key_ref   text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
