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
import { encodeStatusList, STATUS_LIST_BITS } from './bitstring.ts';
import { statusListCredential, statusListUrl, VC_JWT_HEADER } from './vc-documents.ts';

/** A signed status list credential as served. */
export interface StatusListArtifact extends Artifact {
  jwt: string;
  etag: string;
}

export interface StatusListOptions {
  domain: string;
  /** STATUS_LIST_CACHE_SECONDS: the longest any copy (ours or a verifier's) is used after it was built. */
  maxAgeSeconds: number;
  redisTtlSeconds: number;
  memoryTtlMs: number;
}

/** A list takes entries until a quarter of its bits are used, so a random draw finds a free bit at once. */
const FILL_LIMIT_DIVISOR = 4;
const DRAWS = 16;

/**
 * Isolate memory of signed status lists: module scope on purpose (it must outlive a request), bounded, and
 * never serving a list older than STATUS_LIST_CACHE_SECONDS (ArtifactCache's maxAgeMs).
 */
export const statusListMemoryCache = new TtlMemoryCache<StatusListArtifact>(100);

/**
 * Bitstring Status Lists (revocation) of agent identity credentials: one entry per agent, allocated on its
 * first credential; the bit is set in the decommission's transaction. Lists are signed by the instance key
 * and cached for at most `maxAgeSeconds`.
 */
export class StatusListService {
  readonly #lists: ArtifactCache<StatusListArtifact>;
  /** Lists changed by this unit of work, forgotten by every cache layer once it commits. */
  readonly #changed = new Set<string>();

  constructor(
    private readonly db: Db,
    cache: Cache,
    private readonly clock: Clock,
    private readonly did: DidService,
    private readonly options: StatusListOptions,
  ) {
    this.#lists = new ArtifactCache(cache, clock, statusListMemoryCache, {
      prefix: 'vc:status:',
      redisTtlSeconds: options.redisTtlSeconds,
      memoryTtlMs: options.memoryTtlMs,
      maxAgeMs: options.maxAgeSeconds * 1000,
    });
  }

  /**
   * The agent's entry, allocated now if it has none: a random free index of an open list (a new list when
   * none is open). Call inside a transaction holding the agent's row lock. Throws `unavailable` (503) when
   * no free index was drawn (practically never: lists stop taking entries at a quarter full).
   */
  async entryFor(q: Queryable, agentId: string): Promise<{ list_id: string; status_index: number }> {
    const [existing] = await q.query<{ list_id: string; status_index: number }>(
      'SELECT list_id, status_index FROM agent_status_entries WHERE agent_id = $1',
      [agentId],
    );
    if (existing) return existing;
    let [list] = await q.query<{ list_id: string; size_bits: number }>(
      `SELECT list_id, size_bits FROM status_lists WHERE purpose = 'revocation' AND allocated < size_bits / $1
       ORDER BY created_at, list_id LIMIT 1 FOR UPDATE`,
      [FILL_LIMIT_DIVISOR],
    );
    if (!list) {
      [list] = await q.query<{ list_id: string; size_bits: number }>(
        'INSERT INTO status_lists (list_id, size_bits) VALUES ($1, $2) RETURNING list_id, size_bits',
        [crypto.randomUUID(), STATUS_LIST_BITS],
      );
    }
    for (let draw = 0; draw < DRAWS; draw++) {
      const [entry] = await q.query<{ list_id: string; status_index: number }>(
        `INSERT INTO agent_status_entries (agent_id, list_id, status_index) VALUES ($1, $2, $3)
         ON CONFLICT (list_id, status_index) DO NOTHING RETURNING list_id, status_index`,
        [agentId, list!.list_id, randomIndex(list!.size_bits)],
      );
      if (entry) {
        await q.query('UPDATE status_lists SET allocated = allocated + 1 WHERE list_id = $1', [list!.list_id]);
        return entry;
      }
    }
    throw new AppError('unavailable', 'No free status list index was found; try again', {}, { retryAfterSeconds: 1 });
  }

  /** The decommission hook: sets the agent's revocation bit on `q` (the decommission's transaction). */
  async revoke(q: Queryable, agentId: string): Promise<void> {
    const rows = await q.query<{ list_id: string }>(
      'UPDATE agent_status_entries SET revoked_at = now() WHERE agent_id = $1 AND revoked_at IS NULL RETURNING list_id',
      [agentId],
    );
    for (const r of rows) this.#changed.add(r.list_id);
  }

  /** After the commit of revocations: every cache layer forgets the lists they changed. */
  async afterCommit(): Promise<void> {
    const lists = [...this.#changed];
    this.#changed.clear();
    await Promise.all(lists.map((id) => this.#lists.invalidate(this.#key(id))));
  }

  /**
   * The signed status list credential (`application/vc+jwt`) and how many seconds a client may still cache
   * it. Throws `not_found` (404) for an unknown list, and the custody's errors.
   */
  async statusList(listId: string): Promise<{ jwt: string; etag: string; maxAgeSeconds: number }> {
    const list = await this.#lists.get(this.#key(listId), () => this.#build(listId));
    if (!list) throw notFound('Status list');
    const leftMs = list.builtAt + this.options.maxAgeSeconds * 1000 - this.clock.now().getTime();
    return { jwt: list.jwt, etag: list.etag, maxAgeSeconds: Math.max(0, Math.floor(leftMs / 1000)) };
  }

  #key(listId: string): string {
    return `${this.did.instanceDid}:${listId}`;
  }

  async #build(listId: string): Promise<StatusListArtifact | undefined> {
    const [row] = await this.db.query<{ size_bits: number; revoked: number[] }>(
      `SELECT l.size_bits, COALESCE(array_agg(e.status_index) FILTER (WHERE e.status_index IS NOT NULL), '{}') AS revoked
       FROM status_lists l LEFT JOIN agent_status_entries e ON e.list_id = l.list_id AND e.revoked_at IS NOT NULL
       WHERE l.list_id = $1 GROUP BY l.size_bits`,
      [listId],
    );
    if (!row) return undefined;
    const builtAt = this.clock.now().getTime();
    const credential = statusListCredential({
      issuer: this.did.instanceDid,
      url: statusListUrl(didWebOrigin(this.options.domain), listId),
      encodedList: await encodeStatusList(row.size_bits, row.revoked.map(Number)),
      validFromMs: builtAt,
      ttlMs: this.options.maxAgeSeconds * 1000,
    });
    const jwt = await signCompact(await this.did.instanceSigner(), VC_JWT_HEADER, utf8(JSON.stringify(credential)));
    return { v: 1, key: this.#key(listId), builtAt, jwt, etag: `"${(await sha256Hex(jwt)).slice(0, 24)}.vc"` };
  }
}

/** A uniformly random index below `size` (a power of two here, so no modulo bias; rejection otherwise). */
function randomIndex(size: number): number {
  const limit = Math.floor(0x1_0000_0000 / size) * size;
  const buf = new Uint32Array(1);
  do crypto.getRandomValues(buf);
  while (buf[0]! >= limit);
  return buf[0]! % size;
}
