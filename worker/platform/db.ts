import { neonConfig, Pool, type PoolClient } from '@neondatabase/serverless';
import { AppError } from '../platform/errors.ts';
import { count } from './metrics.ts';
import { isStorableText } from './text.ts';

/** Anything that runs a parameterised query: the request's Db or a transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

interface PgError {
  code?: string;
  constraint?: string;
}

// SQLSTATEs that mean "the value sent cannot be stored": a request that got past validation with such a
// value is still the client's fault (400), never a 500. Validation is meant to stop them first.
const BAD_VALUE_STATES = new Set([
  '22P02', // invalid_text_representation (a malformed uuid, integer, ...)
  '22001', // string_data_right_truncation
  '22003', // numeric_value_out_of_range
  '22007', // invalid_datetime_format
  '22008', // datetime_field_overflow
  '22021', // character_not_in_repertoire (NUL in text)
  '22P05', // untranslatable_character (\u0000 in jsonb)
  '54000', // program_limit_exceeded (a value too large for an index)
]);

function mapPgError(err: unknown): unknown {
  const code = (err as PgError | null)?.code;
  if (code === '23505') return new AppError('conflict', 'A resource with these values already exists');
  if (code && BAD_VALUE_STATES.has(code)) return new AppError('validation_failed', 'A value has an invalid format');
  return err;
}

/**
 * Refuses a parameter Postgres cannot store exactly (a NUL character, a lone surrogate) before it is sent:
 * Postgres would refuse it too, but only after writing the raw value into its own log.
 */
function checkParams(params: unknown[]): void {
  for (const p of params) {
    if (typeof p === 'string' && !isStorableText(p)) {
      throw new AppError('validation_failed', 'A value contains a NUL character or broken Unicode');
    }
  }
}

/**
 * Postgres access for one request. The Neon Pool is created on the first query (so a request served
 * from cache opens no connection) and must not outlive the request: `close()` ends it via waitUntil.
 */
export class Db implements Queryable {
  readonly #url: string;
  #pool: Pool | undefined;
  /** Number of statements sent by this request; logged, and asserted on by cache tests. */
  queries = 0;
  /** Work still running on the pool (e.g. an analytics write under waitUntil); `close()` waits for it. */
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(url: string, wsProxy?: string) {
    this.#url = url;
    if (wsProxy) {
      // Local Postgres through the WebSocket-to-TCP proxy (scripts/ws-proxy.ts); Neon needs none of this.
      neonConfig.wsProxy = (host, port) => `${wsProxy}?address=${host}:${port}`;
      neonConfig.useSecureWebSocket = false;
      neonConfig.pipelineConnect = false;
      neonConfig.pipelineTLS = false;
    }
  }

  #pg(): Pool {
    if (!this.#pool) {
      this.#pool = new Pool({ connectionString: this.#url, max: 4 });
      this.#pool.on('connect', () => count('agentidp_db_connections_opened_total'));
    }
    return this.#pool;
  }

  query<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    return this.#track(this.#query<T>(text, params));
  }

  async #query<T>(text: string, params: unknown[]): Promise<T[]> {
    checkParams(params);
    this.queries++;
    try {
      const res = await this.#pg().query(text, params);
      return res.rows as T[];
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** Runs `fn` in one transaction; rolls back on any throw. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.#track(this.#tx(fn));
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  async #tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pg().connect();
    } catch (err) {
      throw mapPgError(err);
    }
    const q: Queryable = {
      query: async <R>(text: string, params: unknown[] = []) => {
        checkParams(params);
        this.queries++;
        try {
          return (await client.query(text, params)).rows as R[];
        } catch (err) {
          throw mapPgError(err);
        }
      },
    };
    try {
      await client.query('BEGIN');
      const result = await fn(q);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Ends the pool, if one was opened, once the work still running on it has settled (a query queued for
   * a client when the pool ends would never run). Pass the promise to ctx.waitUntil.
   */
  async close(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await pool.end().catch(() => undefined);
  }
}
