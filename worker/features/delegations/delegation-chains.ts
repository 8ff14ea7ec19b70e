import type { Queryable } from '../../platform/db.ts';

// Queries over delegation_chains (migrations/0009_delegations.sql) shared by creation, exchange recording,
// verification, revocation and the decommission cascade.
//
// Lock order, for every transaction that touches chains: agent rows, then chain rows, then organization
// rows (each audit append locks its organization's row). A transaction that adds a chain under a parent
// locks the parent and all its ancestors FOR SHARE; one that revokes locks the chains it revokes from FOR
// UPDATE before it walks their descendants, so the walk sees every child committed before it.

export interface ChainRow {
  chain_id: string;
  organization_id: string;
  parent_chain_id: string | null;
  depth: number;
  subject_id: string;
  delegator_id: string;
  delegatee_id: string;
  scope: string;
  status: string;
  expires_at: string;
  revoked_at: string | null;
  token_jti: string;
  /** The organization of the chain's delegatee agent (null if that agent row is gone). */
  delegatee_organization_id: string | null;
}

/** The chain and every chain it derives from, itself first (deepest first); empty when unknown. */
export async function chainWithAncestors(q: Queryable, chainId: string): Promise<ChainRow[]> {
  return q.query<ChainRow>(
    `WITH RECURSIVE up AS (
       SELECT * FROM delegation_chains WHERE chain_id = $1
       UNION ALL
       SELECT d.* FROM delegation_chains d JOIN up ON d.chain_id = up.parent_chain_id
     )
     SELECT up.*, a.organization_id AS delegatee_organization_id
     FROM up LEFT JOIN agents a ON a.agent_id = up.delegatee_id
     ORDER BY up.depth DESC`,
    [chainId],
  );
}

/** Locks the given chain rows FOR SHARE (a child is being added under them); answers their current state. */
export async function shareLockChains(
  q: Queryable,
  chainIds: string[],
): Promise<Array<Pick<ChainRow, 'chain_id' | 'status' | 'expires_at'>>> {
  return q.query(
    'SELECT chain_id, status, expires_at FROM delegation_chains WHERE chain_id = ANY($1::uuid[]) ORDER BY chain_id FOR SHARE',
    [chainIds],
  );
}

/**
 * Revokes the chain and every active chain derived from it; answers the ids revoked (the chain itself
 * first when it was still active). The caller holds the chain's row lock.
 */
export async function revokeWithDescendants(q: Queryable, chainId: string, revokedAt: string): Promise<string[]> {
  const rows = await q.query<{ chain_id: string; depth: number }>(
    `WITH RECURSIVE down AS (
       SELECT chain_id FROM delegation_chains WHERE chain_id = $1
       UNION
       SELECT d.chain_id FROM delegation_chains d JOIN down ON d.parent_chain_id = down.chain_id
     )
     UPDATE delegation_chains SET status = 'revoked', revoked_at = $2
     WHERE chain_id IN (SELECT chain_id FROM down) AND status = 'active'
     RETURNING chain_id, depth`,
    [chainId, revokedAt],
  );
  return rows.sort((a, b) => a.depth - b.depth || (a.chain_id < b.chain_id ? -1 : 1)).map((r) => r.chain_id);
}

/**
 * The live chains in which the agent is delegator or delegatee, in any organization, locked FOR UPDATE,
 * shallowest first.
 */
export async function lockLiveChainsOfAgent(
  q: Queryable,
  agentId: string,
  now: string,
): Promise<Array<Pick<ChainRow, 'chain_id' | 'organization_id' | 'depth'>>> {
  return q.query(
    `SELECT chain_id, organization_id, depth FROM delegation_chains
     WHERE (delegator_id = $1 OR delegatee_id = $1) AND status = 'active' AND expires_at > $2
     ORDER BY depth, chain_id FOR UPDATE`,
    [agentId, now],
  );
}

/** Locks organization rows in one fixed order, so transactions that append to several audit chains cannot deadlock. */
export async function lockOrganizations(q: Queryable, organizationIds: string[]): Promise<void> {
  await q.query(
    'SELECT 1 FROM organizations WHERE organization_id = ANY($1::uuid[]) ORDER BY organization_id FOR UPDATE',
    [[...new Set(organizationIds)]],
  );
}
