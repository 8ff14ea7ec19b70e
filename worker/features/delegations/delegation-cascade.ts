import type { Clock } from '../../platform/clock.ts';
import type { Queryable } from '../../platform/db.ts';
import type { EventAnnouncer } from '../agents/agent.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { lockLiveChainsOfAgent, lockOrganizations, revokeWithDescendants } from './delegation-chains.ts';

export interface CascadeDeps {
  audit: AuditService;
  events: EventAnnouncer;
  clock: Clock;
}

/**
 * Ends every live delegation chain in which the agent is the delegator or the delegatee, in any
 * organization, with every chain derived from them. Runs inside the agent's decommission transaction, with
 * the agent's row locked (so no new chain can name it until the decommission commits). Each chain ended
 * directly gets a `delegation.revoked` audit event and webhook event in the organization that owns it,
 * with `reason: "agent_decommissioned"`; the actor is the decommission's actor in the agent's own
 * organization and `system` in another. Answers the ids of all chains revoked.
 */
export async function endDelegationsOfAgent(
  q: Queryable,
  deps: CascadeDeps,
  agent: { agent_id: string; organization_id: string },
  actor: string,
): Promise<string[]> {
  const revokedAt = deps.clock.now().toISOString();
  const chains = await lockLiveChainsOfAgent(q, agent.agent_id, revokedAt);
  if (chains.length === 0) return [];
  // Every organization whose audit chain this transaction appends to, locked in one order before any append.
  await lockOrganizations(q, [agent.organization_id, ...chains.map((c) => c.organization_id)]);
  const revoked: string[] = [];
  for (const chain of chains) {
    // Shallowest first: a chain derived from one revoked earlier in this loop is already revoked.
    if (revoked.includes(chain.chain_id)) continue;
    const ids = await revokeWithDescendants(q, chain.chain_id, revokedAt);
    revoked.push(...ids);
    const descendants = ids.filter((id) => id !== chain.chain_id);
    const details = { reason: 'agent_decommissioned', agent_id: agent.agent_id, descendants_revoked: descendants };
    await deps.audit.append(q, chain.organization_id, {
      event_type: 'delegation.revoked',
      actor: chain.organization_id === agent.organization_id ? actor : 'system',
      subject: chain.chain_id,
      payload: details,
    });
    await deps.events.announce(q, chain.organization_id, 'delegation.revoked', {
      chain_id: chain.chain_id,
      revoked_at: revokedAt,
      ...details,
    });
  }
  return revoked;
}
