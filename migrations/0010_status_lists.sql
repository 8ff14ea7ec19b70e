-- Revocation status of agent identity credentials (W3C Bitstring Status List v1.0). Each status list is one
-- signed credential served at GET /status/<list_id>: a bitstring of `size_bits` bits (16 KiB, the
-- specification's minimum for herd privacy) where bit i is 1 when the credential holding index i is revoked.
--
-- An agent gets one entry (list and index) the first time its credential is issued; every credential issued
-- to it later (after an update) carries the same entry. Indexes are drawn at random, so an index says nothing
-- about when an agent was registered; a list takes new entries until `allocated` reaches a quarter of its bits
-- (keeping a random draw cheap), then a new list is opened. Decommissioning an agent sets `revoked_at` in the
-- decommission's transaction.

CREATE TABLE status_lists (
  list_id           uuid PRIMARY KEY,
  purpose           text NOT NULL DEFAULT 'revocation' CHECK (purpose = 'revocation'),
  size_bits         integer NOT NULL CHECK (size_bits >= 131072 AND size_bits % 8 = 0),
  allocated         integer NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= size_bits),
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_lists_open_idx ON status_lists (purpose, created_at);

CREATE TABLE agent_status_entries (
  agent_id          uuid PRIMARY KEY REFERENCES agents(agent_id) ON DELETE CASCADE,
  list_id           uuid NOT NULL REFERENCES status_lists(list_id),
  status_index      integer NOT NULL CHECK (status_index >= 0),
  created_at        timestamptz NOT NULL DEFAULT now(),
  revoked_at        timestamptz,
  UNIQUE (list_id, status_index)
);
-- Building a list reads only its revoked entries.
CREATE INDEX agent_status_entries_revoked_idx ON agent_status_entries (list_id) WHERE revoked_at IS NOT NULL;
