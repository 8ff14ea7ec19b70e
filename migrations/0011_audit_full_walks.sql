-- The last full walk of each organization's audit chain made for the compliance report: every event
-- re-hashed from seq 1, whatever the verification checkpoint says. A report built within 300 s of that walk
-- (the report's cache lifetime) reuses it; an older one walks the chain again. GET /v1/audit/verify neither
-- reads nor writes this table: its routine mode starts at the checkpoint and would hide changes below it.
CREATE TABLE audit_full_walks (
  organization_id  uuid PRIMARY KEY REFERENCES organizations(organization_id) ON DELETE CASCADE,
  walked_at        timestamptz NOT NULL,  -- when the walk started
  head_seq         bigint NOT NULL,       -- the chain head it walked to
  checked          bigint NOT NULL,       -- events re-hashed (up to the first break)
  broken_seq       bigint,                -- the first broken seq; null when the chain was intact
  broken_reason    text
);
