-- Agent-to-agent delegation chains (issue 10). One row per delegation token issued, by the token exchange
-- grant at /oidc/token (node-oidc/src/delegation.ts) or by POST /v1/delegations (the Worker). A nested
-- delegation points at the chain it was derived from; a token is valid only while its row and every
-- ancestor row are active and unexpired. The token itself is a bearer credential and is not stored: only
-- its `jti`.

CREATE TABLE delegation_chains (
  chain_id         uuid PRIMARY KEY,
  organization_id  uuid NOT NULL REFERENCES organizations(organization_id) ON DELETE CASCADE, -- the delegator's tenant
  parent_chain_id  uuid REFERENCES delegation_chains(chain_id) ON DELETE CASCADE,
  depth            integer NOT NULL CHECK (depth >= 1),          -- 1 for a first hop
  subject_id       uuid NOT NULL,                                -- the original subject (token `sub`)
  delegator_id     uuid NOT NULL REFERENCES agents(agent_id) ON DELETE CASCADE,
  delegatee_id     uuid NOT NULL REFERENCES agents(agent_id) ON DELETE CASCADE,
  scope            text NOT NULL,
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  revoked_at       timestamptz,
  token_jti        text NOT NULL UNIQUE
);
CREATE INDEX delegation_chains_parent_idx ON delegation_chains (parent_chain_id) WHERE parent_chain_id IS NOT NULL;
CREATE INDEX delegation_chains_org_idx ON delegation_chains (organization_id, created_at);
