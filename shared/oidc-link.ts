// Headers the Worker and node-oidc exchange over their private link; the Worker never passes a client's
// copy of these on, and strips node-oidc's before answering.

/** Set on every request the Worker's public /oidc/* proxy forwards; node-oidc's /internal/* refuses such requests. */
export const PUBLIC_PROXY_HEADER = 'x-agentidp-public-proxy';

/**
 * Set by the Worker on a token request it has counted against the agent's tenant: the agent id it counted.
 * node-oidc authenticates no other client for that request, so no spelling or parsing difference between
 * the two can yield an uncounted token.
 */
export const COUNTED_CLIENT_HEADER = 'x-agentidp-counted-client';

/**
 * Set by node-oidc on a successful token exchange: the chain row the Worker must record (with its audit
 * event and webhook outbox row, in one transaction) before the token is handed out. Until that row exists
 * the token verifies nowhere and cannot be exchanged onward.
 */
export const DELEGATION_RECORD_HEADER = 'x-agentidp-delegation-record';

/** A delegation chain row as node-oidc asks the Worker to record it (migrations/0009_delegations.sql). */
export interface DelegationRecord {
  chain_id: string;
  /** The delegator's organization: the chain's owner. */
  organization_id: string;
  parent_chain_id: string | null;
  depth: number;
  subject_id: string;
  delegator_id: string;
  delegatee_id: string;
  scope: string;
  /** ISO 8601, the token's `exp`. */
  expires_at: string;
  token_jti: string;
}
