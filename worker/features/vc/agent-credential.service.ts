import { isAgentId } from '../../../shared/agent-id.ts';
import type { Cache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import type { Db, Queryable } from '../../platform/db.ts';
import { utf8 } from '../../platform/encoding.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { type Artifact, ArtifactCache } from '../did/artifact-cache.ts';
import type { DidService } from '../did/did.service.ts';
import { signCompact } from '../did/did-signer.ts';
import { didWebOrigin } from '../did/did-web.ts';
import { TtlMemoryCache } from '../did/ttl-memory-cache.ts';
import type { StatusListService } from './status-list.service.ts';
import { agentIdentityCredential, statusListEntry, VC_JWT_HEADER } from './vc-documents.ts';

/** A signed credential as served, or the mark of a decommissioned agent (`gone`). */
export interface CredentialArtifact extends Artifact {
  gone: boolean;
  jwt?: string;
  etag?: string;
}

export interface AgentCredentialOptions {
  domain: string;
  /** AGENT_CREDENTIAL_VALIDITY_SECONDS: validUntil − validFrom. */
  validitySeconds: number;
  redisTtlSeconds: number;
  memoryTtlMs: number;
}

interface SubjectRow {
  organization_id: string;
  organization_name: string;
  owner: string;
  agent_type: string;
  capabilities: string[];
  status: string;
  list_id: string | null;
  status_index: number | null;
}

const SUBJECT_SQL = `SELECT a.organization_id, o.name AS organization_name, a.owner, a.agent_type, a.capabilities, a.status,
         e.list_id, e.status_index
  FROM agents a JOIN organizations o ON o.organization_id = a.organization_id
  LEFT JOIN agent_status_entries e ON e.agent_id = a.agent_id
  WHERE a.agent_id = $1 AND a.did IS NOT NULL`;

/** Isolate memory of signed credentials: module scope on purpose, bounded, lossy (see cardMemoryCache). */
export const credentialMemoryCache = new TtlMemoryCache<CredentialArtifact>(1_000);

/**
 * Agent identity credentials: VC 2.0 secured as a JWT (VC-JOSE-COSE), issued by the instance DID, carrying
 * the agent's revocation entry. Cached like the DID document (own entries, invalidated on every change of
 * the agent), and never served past half its validity.
 */
export class AgentCredentialService {
  readonly #credentials: ArtifactCache<CredentialArtifact>;

  constructor(
    private readonly db: Db,
    cache: Cache,
    private readonly clock: Clock,
    private readonly did: DidService,
    private readonly statusLists: StatusListService,
    private readonly options: AgentCredentialOptions,
  ) {
    this.#credentials = new ArtifactCache(cache, clock, credentialMemoryCache, {
      prefix: 'vc:agent:',
      redisTtlSeconds: options.redisTtlSeconds,
      memoryTtlMs: options.memoryTtlMs,
      maxAgeMs: (options.validitySeconds * 1000) / 2,
    });
  }

  /**
   * The agent's credential as a compact JWT. Throws `not_found` (404) for an unknown agent,
   * `agent_decommissioned` (410) for a decommissioned one, and the custody's errors.
   */
  async credential(agentId: string): Promise<{ jwt: string; etag: string }> {
    if (!isAgentId(agentId)) throw notFound('Agent');
    const did = this.did.agentDid(agentId);
    const issued = await this.#credentials.get(did, () => this.#issue(agentId, did));
    if (!issued) throw notFound('Agent');
    if (issued.gone || issued.jwt === undefined || issued.etag === undefined) {
      throw new AppError('agent_decommissioned', 'The agent is decommissioned');
    }
    return { jwt: issued.jwt, etag: issued.etag };
  }

  /** After a committed change of the agent: every layer forgets its credential (the next one is re-issued). */
  invalidate(agentId: string): Promise<void> {
    return this.#credentials.invalidate(this.did.agentDid(agentId));
  }

  async #issue(agentId: string, did: string): Promise<CredentialArtifact | undefined> {
    let row: SubjectRow | undefined = (await this.db.query<SubjectRow>(SUBJECT_SQL, [agentId]))[0];
    if (row && row.status !== 'decommissioned' && row.list_id === null) row = await this.#allocate(agentId);
    if (!row) return undefined;
    const builtAt = this.clock.now().getTime();
    if (row.status === 'decommissioned') return { v: 1, key: did, builtAt, gone: true };
    const credential = agentIdentityCredential({
      issuer: this.did.instanceDid,
      subject: {
        agentId,
        did,
        organizationId: row.organization_id,
        organizationName: row.organization_name,
        owner: row.owner,
        agentType: row.agent_type,
        capabilities: row.capabilities ?? [],
      },
      status: statusListEntry(didWebOrigin(this.options.domain), row.list_id!, Number(row.status_index)),
      validFromMs: builtAt,
      validitySeconds: this.options.validitySeconds,
    });
    const jwt = await signCompact(await this.did.instanceSigner(), VC_JWT_HEADER, utf8(JSON.stringify(credential)));
    return { v: 1, key: did, builtAt, gone: false, jwt, etag: `"${(await sha256Hex(jwt)).slice(0, 24)}.vc"` };
  }

  /**
   * First credential of the agent: its status entry, under the agent's row lock, so that a decommission
   * either comes first (no entry for a gone agent) or revokes the entry made here.
   */
  async #allocate(agentId: string): Promise<SubjectRow | undefined> {
    return this.db.tx(async (q: Queryable) => {
      const [locked] = await q.query<{ status: string }>('SELECT status FROM agents WHERE agent_id = $1 FOR UPDATE', [
        agentId,
      ]);
      if (!locked) return undefined;
      if (locked.status !== 'decommissioned') await this.statusLists.entryFor(q, agentId);
      const [row] = await q.query<SubjectRow>(SUBJECT_SQL, [agentId]);
      return row;
    });
  }
}
