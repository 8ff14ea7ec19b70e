import type { Deps } from '../env.ts';
import { AuditService } from './audit.service.ts';
import { OrganizationService } from './organization.service.ts';
import { AgentService, type AgentHooks } from './agent.service.ts';
import { CredentialService } from './credential.service.ts';
import { UsageLimiterService } from './usage-limiter.service.ts';

/**
 * The request's services, wired from its Deps. Built lazily: a route pays only for what it uses.
 * This is the one place where services learn about each other (hooks, events).
 */
export function createServices(d: Deps) {
  const memo = new Map<string, unknown>();
  const once = <T>(name: string, make: () => T): T => {
    if (!memo.has(name)) memo.set(name, make());
    return memo.get(name) as T;
  };
  const s = {
    get audit() {
      return once('audit', () => new AuditService(d.clock));
    },
    get organizations() {
      return once('organizations', () => new OrganizationService(d.db, s.audit));
    },
    get limiter() {
      return once('limiter', () => new UsageLimiterService(d.env.TENANT_LIMITER, d.clock));
    },
    get agentHooks(): AgentHooks {
      return once(
        'agentHooks',
        (): AgentHooks => ({
          // Tier quota (tier issue): lock the organization row and enforce max_agents.
          beforeCreate: async () => undefined,
          // Identity material (DID issue): key pair, agent_did_keys row, agents.did.
          afterCreate: async () => ({}),
          // After commit: DID cache invalidation (DID issue), analytics (tier/analytics issue).
          afterCommit: async () => undefined,
        }),
      );
    },
    get agents() {
      return once('agents', () => new AgentService(d.db, s.audit, s.agentHooks));
    },
    get credentials() {
      return once('credentials', () => new CredentialService(d.db, s.audit, d.clock));
    },
  };
  return s;
}

export type Services = ReturnType<typeof createServices>;
