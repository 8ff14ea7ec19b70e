-- Audit chain verification checkpoints: one row per organization.
--
-- `verified_seq`/`verified_hash` is the last event a verification walked and found intact (it then equalled the
-- organization's chain head). A routine verification re-checks that event and walks only the events after it;
-- `?full=true` walks from seq 1 and also checks that the event at `verified_seq` still has `verified_hash`.
--
-- `broken_seq` is sticky: once any verification finds the chain broken, routine verifications walk the whole
-- chain again (instead of starting at the checkpoint) until a full walk finds it intact. Without it, tampering
-- found by a full walk below the checkpoint would be hidden by the next routine verification.
CREATE TABLE audit_checkpoints (
  organization_id   uuid PRIMARY KEY REFERENCES organizations(organization_id) ON DELETE CASCADE,
  verified_seq      bigint NOT NULL DEFAULT 0,
  verified_hash     text NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
  verified_at       timestamptz,
  broken_seq        bigint,
  broken_reason     text,
  broken_at         timestamptz
);
