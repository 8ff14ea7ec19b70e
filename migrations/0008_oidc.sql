-- oidc-provider's storage (node-oidc/src/adapter.ts): one row per stored model instance (sessions,
-- interactions, grants, opaque tokens, replay detection, ...). Agent access tokens are JWTs and are not
-- stored; clients are not stored here either (they are the agents and their credentials).
-- `payload` is oidc-provider's own JSON; the other columns are the lookups its adapter contract needs.

CREATE TABLE oidc_payloads (
  model        text NOT NULL,                 -- oidc-provider model name: 'Session', 'Grant', 'AccessToken', ...
  id           text NOT NULL,
  payload      jsonb NOT NULL,
  grant_id     text,                          -- revokeByGrantId
  user_code    text,                          -- findByUserCode (device flow)
  uid          text,                          -- findByUid (sessions)
  expires_at   timestamptz,                   -- rows past it are invisible and swept
  consumed_at  timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX oidc_payloads_grant_idx ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_payloads_uid_idx ON oidc_payloads (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_payloads_user_code_idx ON oidc_payloads (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX oidc_payloads_expires_idx ON oidc_payloads (expires_at) WHERE expires_at IS NOT NULL;
