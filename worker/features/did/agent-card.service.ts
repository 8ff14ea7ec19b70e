import { isAgentId } from '../../../shared/agent-id.ts';
import type { Cache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import type { Db } from '../../platform/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { buildA2aCard, type CardContext, signA2aCard } from './a2a-card.ts';
import { type Artifact, ArtifactCache } from './artifact-cache.ts';
import { custodySigner } from './did-signer.ts';
import { agentDid, didWebOrigin } from './did-web.ts';
import type { CustodyKind, KeyCustodies } from './key-custody/index.ts';
import { TtlMemoryCache } from './ttl-memory-cache.ts';

/** A signed card as served (`body`, `etag`), or the mark of a decommissioned agent (`gone`). */
export interface CardArtifact extends Artifact {
  gone: boolean;
  body?: string;
  etag?: string;
}

export interface AgentCardOptions {
  domain: string;
  oidcIssuer: string | undefined;
  redisTtlSeconds: number;
  memoryTtlMs: number;
}

interface CardRow {
  agent_id: string;
  email: string;
  owner: string;
  agent_type: string;
  capabilities: string[];
  endpoint: string | null;
  version: string | null;
  status: string;
  organization_name: string;
  kid: string | null;
  custody: CustodyKind | null;
  private_key_ref: string | null;
}

/**
 * Isolate memory of signed cards, apart from the DID documents' (its entries never evict theirs). Module
 * scope on purpose, lossy and bounded like didMemoryCache: a card is served from here for at most
 * DID_MEMORY_CACHE_MS after it was read, so a card signed with a rotated key or describing a changed agent
 * outlives the change no longer than its DID document does.
 */
export const cardMemoryCache = new TtlMemoryCache<CardArtifact>(1_000);

/**
 * A2A agent cards signed with the agent's custody key, read through their own cache (isolate memory, Redis
 * `a2a:card:<agent DID>`, Postgres + one signature), invalidated with the DID document on every change.
 */
export class AgentCardService {
  readonly #cards: ArtifactCache<CardArtifact>;

  constructor(
    private readonly db: Db,
    cache: Cache,
    private readonly clock: Clock,
    private readonly custody: KeyCustodies,
    private readonly options: AgentCardOptions,
  ) {
    this.#cards = new ArtifactCache(cache, clock, cardMemoryCache, {
      prefix: 'a2a:card:',
      redisTtlSeconds: options.redisTtlSeconds,
      memoryTtlMs: options.memoryTtlMs,
    });
  }

  /**
   * The agent's signed card. Throws `not_found` (404) for an unknown agent, `agent_decommissioned` (410) for
   * a decommissioned one, and the custody's errors (`key_unavailable`, `key_custody_unavailable`).
   */
  async card(agentId: string): Promise<{ body: string; etag: string }> {
    if (!isAgentId(agentId)) throw notFound('Agent');
    const did = agentDid(this.options.domain, agentId);
    const card = await this.#cards.get(did, () => this.#load(agentId, did));
    if (!card) throw notFound('Agent');
    if (card.gone || card.body === undefined || card.etag === undefined) {
      throw new AppError('agent_decommissioned', 'The agent is decommissioned');
    }
    return { body: card.body, etag: card.etag };
  }

  /** After a committed change of the agent: every layer forgets its card now. */
  invalidate(agentId: string): Promise<void> {
    return this.#cards.invalidate(agentDid(this.options.domain, agentId));
  }

  async #load(agentId: string, did: string): Promise<CardArtifact | undefined> {
    const [row] = await this.db.query<CardRow>(
      `SELECT a.agent_id, a.email, a.owner, a.agent_type, a.capabilities, a.endpoint, a.version, a.status,
              o.name AS organization_name, k.kid, k.custody, k.private_key_ref
       FROM agents a JOIN organizations o ON o.organization_id = a.organization_id
       LEFT JOIN LATERAL (SELECT kid, custody, private_key_ref FROM agent_did_keys
                          WHERE agent_id = a.agent_id ORDER BY created_at DESC, kid LIMIT 1) k ON true
       WHERE a.agent_id = $1 AND a.did IS NOT NULL`,
      [agentId],
    );
    if (!row) return undefined;
    const builtAt = this.clock.now().getTime();
    if (row.status === 'decommissioned') return { v: 1, key: did, builtAt, gone: true };
    if (!row.kid || !row.custody || !row.private_key_ref)
      throw new AppError('key_unavailable', 'The agent has no signing key');
    const origin = didWebOrigin(this.options.domain);
    const ctx: CardContext = { origin, oidcIssuer: this.options.oidcIssuer ?? `${origin}/oidc` };
    const card = buildA2aCard(
      {
        agentId,
        email: row.email,
        owner: row.owner,
        agentType: row.agent_type,
        capabilities: row.capabilities ?? [],
        endpoint: row.endpoint,
        version: row.version,
        organizationName: row.organization_name,
      },
      ctx,
    );
    const signer = custodySigner(this.custody, `${did}#${row.kid}`, {
      custody: row.custody,
      private_key_ref: row.private_key_ref,
    });
    const body = JSON.stringify({ ...card, signatures: [await signA2aCard(card, signer)] });
    return { v: 1, key: did, builtAt, gone: false, body, etag: `"${(await sha256Hex(body)).slice(0, 24)}.a2a"` };
  }
}
