-- Tenant API keys get a lifecycle (GET/POST /v1/api-keys, DELETE /v1/api-keys/{id}): a label to tell keys
-- apart, and when each last authenticated a request (written at most once a minute per key), so a tenant can
-- see that a key is no longer used before revoking it.
ALTER TABLE api_keys ADD COLUMN name text;
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
