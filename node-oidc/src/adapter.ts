// oidc-provider's storage in Postgres (table oidc_payloads, migrations/0008_oidc.sql). There is no official
// Postgres adapter; this implements the adapter contract (upsert/find/findByUid/findByUserCode/consume/
// destroy/revokeByGrantId) for every model except Client, whose instances are the agents (agent-clients.ts).

import type { Adapter, AdapterPayload } from 'oidc-provider';
import type pg from 'pg';
import type { AgentClients } from './agent-clients.ts';

/** Stores one oidc-provider model (`name`) in oidc_payloads. Expired rows are never returned. */
export class PostgresAdapter implements Adapter {
  readonly #pool: pg.Pool;
  readonly #model: string;

  constructor(pool: pg.Pool, model: string) {
    this.#pool = pool;
    this.#model = model;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await this.#pool.query(
      `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
       ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
      [
        this.#model,
        id,
        JSON.stringify(payload),
        payload.grantId ?? null,
        payload.userCode ?? null,
        payload.uid ?? null,
        expiresIn ?? null,
      ],
    );
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('id', id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('uid', uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('user_code', userCode);
  }

  async consume(id: string): Promise<void> {
    await this.#pool.query('UPDATE oidc_payloads SET consumed_at = now() WHERE model = $1 AND id = $2', [
      this.#model,
      id,
    ]);
  }

  async destroy(id: string): Promise<void> {
    await this.#pool.query('DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [this.#model, id]);
  }

  /** Every model's rows of the grant go, as oidc-provider expects when a grant is revoked. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#pool.query('DELETE FROM oidc_payloads WHERE grant_id = $1', [grantId]);
  }

  async #findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    const { rows } = await this.#pool.query<{ payload: AdapterPayload; consumed_at: Date | null }>(
      `SELECT payload, consumed_at FROM oidc_payloads
       WHERE model = $1 AND ${column} = $2 AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
      [this.#model, value],
    );
    const row = rows[0];
    if (!row) return undefined;
    // oidc-provider reads `consumed` (truthy once consumed) from the payload itself.
    return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload;
  }
}

/** Deletes expired rows; node-oidc runs it on a timer. Returns the number deleted. */
export async function sweepExpired(pool: pg.Pool): Promise<number> {
  const res = await pool.query('DELETE FROM oidc_payloads WHERE expires_at < now()');
  return res.rowCount ?? 0;
}

/** The provider's `adapter` option: Client from the agents tables, everything else in oidc_payloads. */
export function adapterFactory(pool: pg.Pool, clients: AgentClients): (name: string) => Adapter {
  return (name) => (name === 'Client' ? clients : new PostgresAdapter(pool, name));
}
