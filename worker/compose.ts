import type { Bindings, Deps } from './env.ts';
import { type AgentHooks, AgentService } from './features/agents/agent.service.ts';
import { CredentialService } from './features/agents/credential.service.ts';
import { OrganizationService } from './features/agents/organization.service.ts';
import { AnalyticsService } from './features/analytics/analytics.service.ts';
import { ApiKeyService } from './features/api-keys/api-key.service.ts';
import { AuditService } from './features/audit/audit.service.ts';
import { AuditVerificationService } from './features/audit/audit-verification.service.ts';
import { ComplianceService } from './features/audit/compliance.service.ts';
import { BillingService, billingSettings } from './features/billing/billing.service.ts';
import { createStripeClient } from './features/billing/stripe.ts';
import { DelegationService } from './features/delegations/delegation.service.ts';
import { endDelegationsOfAgent } from './features/delegations/delegation-cascade.ts';
import { AgentCardService } from './features/did/agent-card.service.ts';
import { DidService } from './features/did/did.service.ts';
import { type KeyCustodies, LocalKeyCustody, VaultKeyCustody } from './features/did/key-custody/index.ts';
import { FederationService } from './features/federation/federation.service.ts';
import { MetricsService } from './features/metrics/metrics.service.ts';
import { NodeOidc, secretCustodyMode } from './features/oidc/node-oidc.ts';
import { OidcTokenService } from './features/oidc/oidc-token.service.ts';
import { TierService } from './features/tiers/tier.service.ts';
import { UsageLimiterService } from './features/tiers/usage-limiter.service.ts';
import { AgentCredentialService } from './features/vc/agent-credential.service.ts';
import { StatusListService } from './features/vc/status-list.service.ts';
import { EventService } from './features/webhooks/event.service.ts';
import { WebhookService } from './features/webhooks/webhook.service.ts';
import { WebhookDeliveryService } from './features/webhooks/webhook-delivery.service.ts';
import { WebhookSecretsService } from './features/webhooks/webhook-secrets.service.ts';
import { Cache } from './platform/cache.ts';
import { type Clock, systemClock } from './platform/clock.ts';
import { loadConfig } from './platform/config.ts';
import { Encryptor, parseEncryptionKeys } from './platform/crypto.ts';
import { Db } from './platform/db.ts';
import { AppError } from './platform/errors.ts';

export interface DepsOptions {
  /** Replaces the system clock (tests). */
  clock?: Clock;
  /** Keeps work alive after the caller returns (a request's or a Durable Object's ctx.waitUntil). */
  waitUntil: (p: Promise<unknown>) => void;
}

/**
 * The dependencies of one unit of work (a request, an alarm, a cron run), from the bindings: configuration
 * (parsed once per env object), the Postgres access (opened on the first query), the cache and the clock.
 */
export function createDeps(bindings: Env, { clock = systemClock, waitUntil }: DepsOptions): Deps {
  // Secrets and optional variables are not in wrangler.toml, so they are not in `Env`; config validates them.
  const env = bindings as Bindings;
  const config = loadConfig(env);
  return {
    config,
    db: new Db(config.DATABASE_URL, config.NEON_WS_PROXY),
    cache: new Cache(config.UPSTASH_REDIS_REST_URL, config.UPSTASH_REDIS_REST_TOKEN, config.CACHE_KEY_PREFIX),
    clock,
    env,
    waitUntil,
  };
}

/**
 * Runs `fn` with freshly wired services outside a request (Durable Object alarms, the cron sweep) and closes
 * the database afterwards. Requests get theirs from the `deps` middleware.
 */
export async function withServices<T>(env: Env, options: DepsOptions, fn: (s: Services) => Promise<T>): Promise<T> {
  const d = createDeps(env, options);
  try {
    return await fn(createServices(d));
  } finally {
    options.waitUntil(d.db.close());
  }
}

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
    /** The unit of work's Postgres access (for the few callers that query directly, like the cron sweep). */
    get db() {
      return d.db;
    },
    get audit() {
      return once('audit', () => new AuditService(d.clock));
    },
    get organizations() {
      return once('organizations', () => new OrganizationService(d.db, s.audit));
    },
    /** Tenant API keys: authentication (isolate cache, API_KEY_CACHE_SECONDS) and their lifecycle. */
    get apiKeys() {
      return once(
        'apiKeys',
        () =>
          new ApiKeyService(d.db, s.audit, d.clock, {
            cacheSeconds: d.config.API_KEY_CACHE_SECONDS,
            waitUntil: d.waitUntil,
          }),
      );
    },
    get limiter() {
      return once(
        'limiter',
        () =>
          new UsageLimiterService(d.env.TENANT_LIMITER, d.clock, {
            rttMs: d.config.LIMITER_SIMULATED_RTT_MS,
            flushMs: d.config.USAGE_FLUSH_MS,
            waitUntil: d.waitUntil,
          }),
      );
    },
    get tier(): TierService {
      // The checkout (last argument) is the billing service's, passed when STRIPE_SECRET_KEY is set.
      return once(
        'tier',
        () =>
          new TierService(
            d.db,
            s.limiter,
            s.audit,
            d.clock,
            s.events,
            // Deferred to s.billing: the billing service itself depends on s.tier (applyUpgrade).
            d.config.STRIPE_SECRET_KEY
              ? { createUpgradeCheckout: (orgId, target, opts) => s.billing.createUpgradeCheckout(orgId, target, opts) }
              : undefined,
          ),
      );
    },
    /** Stripe Checkout, the Stripe webhook and subscription state; its Stripe client is made for this request. */
    get billing(): BillingService {
      return once(
        'billing',
        () =>
          new BillingService(
            d.db,
            s.audit,
            d.clock,
            s.tier,
            s.events,
            () => createStripeClient(d.config),
            billingSettings(d.config),
          ),
      );
    },
    /** The link to node-oidc (OIDC_ORIGIN or the NODE_OIDC container); undefined when neither is configured. */
    get nodeOidc(): NodeOidc | undefined {
      return once('nodeOidc', () => NodeOidc.fromEnv(d.config, d.env));
    },
    get oidcTokens() {
      return once('oidcTokens', () => new OidcTokenService(d.db, s.limiter, s.analytics, d.clock));
    },
    /** Operator metrics: this isolate's counters and webhook deliveries from Postgres. */
    get metrics() {
      return once('metrics', () => new MetricsService(d.db));
    },
    get analytics() {
      return once(
        'analytics',
        () => new AnalyticsService(d.db, d.clock, d.waitUntil, { flushMs: d.config.USAGE_FLUSH_MS }),
      );
    },
    /** Domain events → webhook deliveries, recorded in the caller's transaction (tier, billing, delegations use it too). */
    get events() {
      return once(
        'events',
        () => new EventService(d.env.WEBHOOK_DISPATCHER, d.clock, d.config.WEBHOOK_RETRY_SCHEDULE[0]!),
      );
    },
    /** Sends due deliveries of one subscription (the WebhookDispatcher Durable Object's work). */
    get webhookDelivery() {
      return once(
        'webhookDelivery',
        () =>
          new WebhookDeliveryService(d.db, s.webhookSecrets, s.audit, s.limiter, {
            schedule: d.config.WEBHOOK_RETRY_SCHEDULE,
            timeoutMs: d.config.WEBHOOK_TIMEOUT_MS,
            allowPrivateUrls: d.config.ALLOW_PRIVATE_URLS,
          }),
      );
    },
    get webhooks() {
      return once(
        'webhooks',
        () => new WebhookService(d.db, s.audit, s.webhookSecrets, d.clock, d.config.ALLOW_PRIVATE_URLS, s.tier),
      );
    },
    /**
     * DID private keys: `active` receives new keys (Vault through node-oidc when secretCustodyMode says so,
     * else local: encrypted in Postgres); `of(kind)` opens keys stored under either.
     */
    get keyCustody(): KeyCustodies {
      return once('keyCustody', (): KeyCustodies => {
        let local: LocalKeyCustody | undefined;
        let vault: VaultKeyCustody | undefined;
        const localCustody = () => (local ??= new LocalKeyCustody(s.encryptor));
        const vaultCustody = () => {
          const link = s.nodeOidc;
          if (!link)
            throw new AppError('key_custody_unavailable', 'Key custody "vault" is not configured (no node-oidc)');
          return (vault ??= new VaultKeyCustody(link, s.encryptor));
        };
        return {
          active: () => (secretCustodyMode(d.config) === 'vault' ? vaultCustody() : localCustody()),
          of: (kind) => {
            if (kind === 'local') return localCustody();
            if (kind === 'vault') return vaultCustody();
            throw new AppError('key_custody_unavailable', `Key custody "${String(kind)}" is not configured`);
          },
        };
      });
    },
    /** Webhook signing secrets: encrypted in Postgres, or in Vault through node-oidc (secretCustodyMode). */
    get webhookSecrets() {
      return once(
        'webhookSecrets',
        () => new WebhookSecretsService(s.encryptor, secretCustodyMode(d.config), s.nodeOidc),
      );
    },
    /** AES-256-GCM under ENCRYPTION_KEY (rotation: first key encrypts, all decrypt). */
    get encryptor() {
      return once('encryptor', () => new Encryptor(parseEncryptionKeys(d.config.ENCRYPTION_KEY)));
    },
    get did() {
      return once(
        'did',
        () =>
          new DidService(d.db, d.cache, d.clock, s.keyCustody, {
            domain: d.config.DID_WEB_DOMAIN,
            redisTtlSeconds: d.config.DID_DOCUMENT_CACHE_TTL_SECONDS,
            memoryTtlMs: d.config.DID_MEMORY_CACHE_MS,
          }),
      );
    },
    /** Signed A2A agent cards, cached beside (not inside) the DID documents. */
    get agentCards() {
      return once(
        'agentCards',
        () =>
          new AgentCardService(d.db, d.cache, d.clock, s.keyCustody, {
            domain: d.config.DID_WEB_DOMAIN,
            oidcIssuer: d.config.OIDC_ISSUER,
            redisTtlSeconds: d.config.DID_DOCUMENT_CACHE_TTL_SECONDS,
            memoryTtlMs: d.config.DID_MEMORY_CACHE_MS,
          }),
      );
    },
    /** Revocation status lists of agent credentials, signed by the instance key. */
    get statusLists() {
      return once(
        'statusLists',
        () =>
          new StatusListService(d.db, d.cache, d.clock, s.did, {
            domain: d.config.DID_WEB_DOMAIN,
            maxAgeSeconds: d.config.STATUS_LIST_CACHE_SECONDS,
            redisTtlSeconds: d.config.DID_DOCUMENT_CACHE_TTL_SECONDS,
            memoryTtlMs: d.config.DID_MEMORY_CACHE_MS,
          }),
      );
    },
    /** Agent identity credentials (VC 2.0 as JWTs), issued by the instance DID. */
    get agentCredentials() {
      return once(
        'agentCredentials',
        () =>
          new AgentCredentialService(d.db, d.cache, d.clock, s.did, s.statusLists, {
            domain: d.config.DID_WEB_DOMAIN,
            validitySeconds: d.config.AGENT_CREDENTIAL_VALIDITY_SECONDS,
            redisTtlSeconds: d.config.DID_DOCUMENT_CACHE_TTL_SECONDS,
            memoryTtlMs: d.config.DID_MEMORY_CACHE_MS,
          }),
      );
    },
    get agentHooks(): AgentHooks {
      return once(
        'agentHooks',
        (): AgentHooks => ({
          // Tier quota: lock the organization row and enforce max_agents.
          beforeCreate: (q, organizationId) => s.tier.enforceAgentLimit(q, organizationId),
          // Identity material: key pair, agent_did_keys row, agents.did.
          afterCreate: async (q, agent) => {
            const { did, did_created_at } = await s.did.generateForAgent(q, agent);
            return { did, did_created_at };
          },
          // Decommission ends what speaks for the agent, in its transaction: delegation chains first (they lock
          // every organization the cascade appends audit events to, in one order), then credentials.
          onDecommission: async (q, agent, actor) => {
            const delegations = await endDelegationsOfAgent(
              q,
              { audit: s.audit, events: s.events, clock: d.clock },
              agent,
              actor,
            );
            const credentials = await s.credentials.revokeAllOf(q, agent.organization_id, agent.agent_id, actor);
            // The agent's identity credential: its revocation bit, in the same transaction.
            await s.statusLists.revoke(q, agent.agent_id);
            return { credentials_revoked: credentials, delegations_revoked: delegations };
          },
          // After commit: the DID document, the signed card and credential, changed status lists; analytics.
          afterCommit: async (agent, change) => {
            if (change !== 'created') {
              await Promise.all([
                s.did.invalidateAgent(agent.agent_id),
                s.agentCards.invalidate(agent.agent_id),
                s.agentCredentials.invalidate(agent.agent_id),
                s.statusLists.afterCommit(),
              ]);
            }
            s.analytics.recordAgentActivity(agent.organization_id, agent.agent_id, change);
          },
        }),
      );
    },
    get agents() {
      return once('agents', () => new AgentService(d.db, s.audit, s.agentHooks, s.events));
    },
    get federation() {
      return once('federation', () => new FederationService(d.db, d.cache, d.clock, d.config));
    },
    get credentials() {
      return once(
        'credentials',
        () =>
          new CredentialService(d.db, s.audit, d.clock, s.events, (organizationId, agentId) =>
            s.analytics.recordAgentActivity(organizationId, agentId, 'credential_issued'),
          ),
      );
    },
    /** Delegation chains; tokens signed and keys published by node-oidc. */
    get delegations() {
      return once(
        'delegations',
        () =>
          new DelegationService(d.db, s.audit, s.events, d.clock, s.nodeOidc, {
            issuer: d.config.OIDC_ISSUER,
            jwks: {
              cacheKey: d.config.OIDC_ORIGIN ?? 'container',
              maxAgeMs: d.config.DELEGATION_JWKS_CACHE_SECONDS * 1000,
              cooldownMs: d.config.DELEGATION_JWKS_REFETCH_COOLDOWN_SECONDS * 1000,
            },
          }),
      );
    },
    get auditVerification() {
      return once('auditVerification', () => new AuditVerificationService(d.db, d.clock));
    },
    get compliance() {
      return once('compliance', () => new ComplianceService(d.db, d.cache, d.clock, s.auditVerification));
    },
  };
  return s;
}

export type Services = ReturnType<typeof createServices>;
