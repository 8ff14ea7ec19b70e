-- Federation partners: external identity providers whose tokens tenants can verify at /v1/federation/verify.
-- Operator-owned (not tenant data): `allowed_organizations` restricts which tenants a partner may issue
-- tokens for (empty = any tenant). The partner's public keys live in caches only (Redis
-- `federation:jwks:<issuer>` and isolate memory), never here.

CREATE TABLE federation_partners (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                  text NOT NULL,
  -- Matched exactly against a token's `iss`.
  issuer                text NOT NULL UNIQUE,
  jwks_uri              text NOT NULL,
  allowed_organizations uuid[] NOT NULL DEFAULT '{}',
  -- When non-empty, a token's `aud` must contain one of these.
  audiences             text[] NOT NULL DEFAULT '{}',
  -- The claim that names the organization a token was issued for.
  organization_claim    text NOT NULL DEFAULT 'organization_id',
  status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'expired')),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  expires_at            timestamptz
);

-- Listing is newest first.
CREATE INDEX federation_partners_created_idx ON federation_partners (created_at DESC, id DESC);
-- "Mark expired when read" touches only active partners that have an expiry.
CREATE INDEX federation_partners_expiry_idx ON federation_partners (expires_at)
  WHERE status = 'active' AND expires_at IS NOT NULL;
