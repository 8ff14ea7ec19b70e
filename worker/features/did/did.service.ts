import { calculateJwkThumbprint } from 'jose';
import { isAgentId } from '../../../shared/agent-id.ts';
import type { Cache } from '../../platform/cache.ts';
import { type Clock, toIso } from '../../platform/clock.ts';
import type { Db, Queryable } from '../../platform/db.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import type { Agent } from '../agents/agent.service.ts';
import { DidDocumentCache } from './did-document-cache.ts';
import {
  type AgentCard,
  activeDocument,
  type DidDocument,
  type DidEntry,
  deactivatedDocument,
  type KeyRow,
  type PublicJwk,
  publicJwk,
  sealEntry,
} from './did-documents.ts';
import type { DidRecord } from './did-record.ts';
import { custodySigner, type DidSigner } from './did-signer.ts';
import { agentDid, classifyDidWeb, didWebOrigin, instanceDid, parseDid, parseDidWeb } from './did-web.ts';
import type { CustodyKind, KeyCustodies } from './key-custody/index.ts';
import { didResolutionError } from './resolution-error.ts';

const INSTANCE_KEY = 'instance';

export interface DidServiceOptions {
  /** DID_WEB_DOMAIN, normalised (`host` or `host%3Aport`). */
  domain: string;
  redisTtlSeconds: number;
  memoryTtlMs: number;
}

interface AgentDidRow {
  agent_id: string;
  email: string;
  owner: string;
  agent_type: string;
  capabilities: string[];
  version: string | null;
  deployment_env: string | null;
  status: string;
  did_created_at: string | Date;
  updated_at: string | Date;
  keys: KeyRow[];
}

interface InstanceKeyRow {
  kid: string;
  public_key_jwk: PublicJwk;
  custody: CustodyKind;
  private_key_ref: string;
  created_at: string | Date;
}

interface NewKey {
  kid: string;
  jwk: PublicJwk;
  custody: CustodyKind;
  ref: string;
}

/**
 * did:web identities: P-256 keys for agents and for the instance (private halves in key custody), DID
 * documents, DID resolution results and AGNTCY agent cards, read through the DID cache (isolate memory,
 * Redis `did:doc:*`, Postgres).
 */
export class DidService {
  readonly #docs: DidDocumentCache;

  constructor(
    private readonly db: Db,
    cache: Cache,
    clock: Clock,
    private readonly custody: KeyCustodies,
    private readonly options: DidServiceOptions,
  ) {
    this.#docs = new DidDocumentCache(cache, clock, options);
  }

  get instanceDid(): string {
    return instanceDid(this.options.domain);
  }

  agentDid(agentId: string): string {
    return agentDid(this.options.domain, agentId);
  }

  /**
   * The agent-creation hook: a new P-256 key pair, its private half into key custody, an `agent_did_keys`
   * row (kid = RFC 7638 thumbprint) and `agents.did`/`did_created_at`, all on `q` (the creation transaction).
   * Throws `key_custody_unavailable` (503) when the custody cannot store the key.
   */
  async generateForAgent(
    q: Queryable,
    agent: Pick<Agent, 'agent_id' | 'organization_id'>,
  ): Promise<{ did: string; did_created_at: string; kid: string; publicKeyJwk: PublicJwk }> {
    const did = this.agentDid(agent.agent_id);
    const key = await this.#newKey(`agent:${agent.agent_id}`);
    try {
      await q.query(
        `INSERT INTO agent_did_keys (kid, agent_id, organization_id, public_key_jwk, custody, private_key_ref)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [key.kid, agent.agent_id, agent.organization_id, JSON.stringify(key.jwk), key.custody, key.ref],
      );
      const [row] = await q.query<{ did_created_at: string | Date }>(
        `UPDATE agents SET did = $1, did_created_at = now() WHERE agent_id = $2 AND organization_id = $3
         RETURNING did_created_at`,
        [did, agent.agent_id, agent.organization_id],
      );
      if (!row) throw notFound('Agent');
      return { did, did_created_at: toIso(row.did_created_at), kid: key.kid, publicKeyJwk: key.jwk };
    } catch (err) {
      await this.custody
        .of(key.custody)
        .delete(key.ref)
        .catch(() => undefined);
      throw err;
    }
  }

  /** The instance's record (`did:web:<domain>`); its key is created on first use, once. */
  async instanceRecord(): Promise<DidRecord> {
    const record = await this.#docs.get(INSTANCE_KEY, this.instanceDid, () => this.#loadInstance());
    return record!;
  }

  /** An agent's record. Throws `not_found` (404) for a malformed or unknown id, or an agent without a DID. */
  async agentRecord(agentId: string): Promise<DidRecord> {
    if (!isAgentId(agentId)) throw notFound('DID document');
    const record = await this.#docs.get(agentId, this.agentDid(agentId), () => this.#loadAgent(agentId));
    if (!record) throw notFound('DID document');
    return record;
  }

  /**
   * Resolves a DID of this instance. Throws DID Resolution errors: `invalid_did` (400, #INVALID_DID) for
   * bad syntax, `method_not_supported` (501, #METHOD_NOT_SUPPORTED) for another method or a did:web of
   * another domain, `not_found` (404, #NOT_FOUND) for anything else this domain does not hold.
   */
  async resolve(did: string): Promise<DidRecord> {
    const syntax = parseDid(did);
    if (!syntax.ok) throw didResolutionError('INVALID_DID', `Invalid DID: ${syntax.reason}`);
    if (syntax.value.method !== 'web') {
      throw didResolutionError(
        'METHOD_NOT_SUPPORTED',
        `DID method "${syntax.value.method}" is not supported; only did:web`,
      );
    }
    const web = parseDidWeb(did);
    if (!web.ok) throw didResolutionError('INVALID_DID', `Invalid did:web DID: ${web.reason}`);
    const local = classifyDidWeb(web.value, this.options.domain);
    if (local.kind === 'foreign') {
      throw didResolutionError('METHOD_NOT_SUPPORTED', 'This resolver resolves did:web DIDs of its own domain only');
    }
    try {
      if (local.kind === 'instance') return await this.instanceRecord();
      if (local.kind === 'agent') return await this.agentRecord(local.agentId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') throw didResolutionError('NOT_FOUND', 'DID not found');
      throw err;
    }
    throw didResolutionError('NOT_FOUND', 'DID not found');
  }

  /** The instance DID document. */
  async buildInstanceDocument(): Promise<DidDocument> {
    return (await this.instanceRecord()).entry.document;
  }

  /** An agent's DID document (deactivated when decommissioned). Throws `not_found`. */
  async buildAgentDocument(agentId: string): Promise<DidDocument> {
    return (await this.agentRecord(agentId)).entry.document;
  }

  /** The DID Resolution result for `did`. Throws as `resolve`. */
  async buildResolutionResult(did: string) {
    return (await this.resolve(did)).resolutionResult();
  }

  /** The agent's AGNTCY card. Throws `not_found` (404), or `agent_decommissioned` (410). */
  async buildAgentCard(agentId: string): Promise<AgentCard> {
    return cardOf(await this.agentRecord(agentId));
  }

  /**
   * Signs `data` with the agent's current DID key (ES256, raw r‖s) through its custody. Throws `not_found`,
   * `agent_not_active` (409) unless the agent is active, and the custody's errors.
   */
  async sign(
    organizationId: string,
    agentId: string,
    data: Uint8Array<ArrayBuffer>,
  ): Promise<{ kid: string; verificationMethod: string; signature: Uint8Array<ArrayBuffer> }> {
    if (!isAgentId(agentId)) throw notFound('Agent');
    const [row] = await this.db.query<{ status: string; kid: string; custody: CustodyKind; private_key_ref: string }>(
      `SELECT a.status, k.kid, k.custody, k.private_key_ref FROM agents a
       JOIN agent_did_keys k ON k.agent_id = a.agent_id
       WHERE a.agent_id = $1 AND a.organization_id = $2 ORDER BY k.created_at DESC, k.kid LIMIT 1`,
      [agentId, organizationId],
    );
    if (!row) throw notFound('Agent');
    if (row.status !== 'active') throw new AppError('agent_not_active', `Agent is ${row.status}`);
    const signature = await this.custody.of(row.custody).sign(row.private_key_ref, data);
    return { kid: row.kid, verificationMethod: `${this.agentDid(agentId)}#${row.kid}`, signature };
  }

  /**
   * The instance key as a signer (the issuer key of credentials and status lists, in the instance DID
   * document's assertionMethod); created on first use like the document. Throws the custody's errors.
   */
  async instanceSigner(): Promise<DidSigner> {
    const key = await this.#instanceKey();
    return custodySigner(this.custody, `${this.instanceDid}#${key.kid}`, key);
  }

  /** After a committed change of the agent: every cache layer forgets its document now. */
  async invalidateAgent(agentId: string): Promise<void> {
    await this.#docs.invalidate(agentId, this.agentDid(agentId));
  }

  async #newKey(owner: string): Promise<NewKey> {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const privateJwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey;
    const jwk = publicJwk(privateJwk);
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    const custody = this.custody.active();
    const ref = await custody.store(privateJwk, { kid, owner });
    return { kid, jwk, custody: custody.kind, ref };
  }

  async #loadAgent(agentId: string): Promise<DidEntry | undefined> {
    const [row] = await this.db.query<AgentDidRow>(
      `SELECT a.agent_id, a.email, a.owner, a.agent_type, a.capabilities, a.version, a.deployment_env, a.status,
              a.did_created_at, a.updated_at,
              COALESCE((SELECT jsonb_agg(jsonb_build_object('kid', k.kid, 'jwk', k.public_key_jwk) ORDER BY k.created_at, k.kid)
                        FROM agent_did_keys k WHERE k.agent_id = a.agent_id), '[]'::jsonb) AS keys
       FROM agents a WHERE a.agent_id = $1 AND a.did IS NOT NULL AND a.did_created_at IS NOT NULL`,
      [agentId],
    );
    if (!row) return undefined;
    const did = this.agentDid(agentId);
    const deactivated = row.status === 'decommissioned';
    const origin = didWebOrigin(this.options.domain);
    return sealEntry({
      did,
      document: deactivated
        ? deactivatedDocument(did)
        : activeDocument(did, row.keys, [
            { id: `${did}#agent-card`, type: 'AgentCard', serviceEndpoint: `${origin}/agents/${agentId}/card.json` },
          ]),
      metadata: { created: toIso(row.did_created_at), updated: toIso(row.updated_at), deactivated },
      card: deactivated
        ? null
        : {
            did,
            name: row.email,
            agentType: row.agent_type,
            capabilities: row.capabilities ?? [],
            owner: row.owner,
            version: row.version,
            deploymentEnv: row.deployment_env,
            identityProvider: this.instanceDid,
            issuedAt: toIso(row.did_created_at),
          },
    });
  }

  async #loadInstance(): Promise<DidEntry> {
    const key = await this.#instanceKey();
    const created = toIso(key.created_at);
    return sealEntry({
      did: this.instanceDid,
      document: activeDocument(this.instanceDid, [{ kid: key.kid, jwk: key.public_key_jwk }]),
      metadata: { created, updated: created, deactivated: false },
      card: null,
    });
  }

  /** The instance's DID key, created by the first caller; concurrent first callers agree on one row. */
  async #instanceKey(): Promise<InstanceKeyRow> {
    const columns = 'kid, public_key_jwk, custody, private_key_ref, created_at';
    const select = () => this.db.query<InstanceKeyRow>(`SELECT ${columns} FROM instance_keys WHERE purpose = 'did'`);
    const [existing] = await select();
    if (existing) return existing;
    const key = await this.#newKey('instance:did');
    const [inserted] = await this.db.query<InstanceKeyRow>(
      `INSERT INTO instance_keys (purpose, kid, public_key_jwk, custody, private_key_ref) VALUES ('did', $1, $2, $3, $4)
       ON CONFLICT (purpose) DO NOTHING RETURNING ${columns}`,
      [key.kid, JSON.stringify(key.jwk), key.custody, key.ref],
    );
    if (inserted) return inserted;
    // Another request created it first: forget ours.
    await this.custody
      .of(key.custody)
      .delete(key.ref)
      .catch(() => undefined);
    const [winner] = await select();
    if (!winner) throw new Error('instance key vanished after a conflicting insert');
    return winner;
  }
}

function cardOf(record: DidRecord): AgentCard {
  if (!record.entry.card) throw new AppError('agent_decommissioned', 'The agent is decommissioned');
  return record.entry.card;
}
