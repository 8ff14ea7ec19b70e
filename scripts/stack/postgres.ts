import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';

export interface PostgresHandle {
  /** `postgres://` URL reachable over TCP from this machine. */
  url: string;
  kind: 'server' | 'pglite';
  stop(): Promise<void>;
}

/** Waits until a Postgres server at `url` answers `SELECT 1`. */
export async function pingPostgres(url: string, timeoutMs = 5000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  await client.connect();
  try {
    await client.query('SELECT 1');
  } finally {
    await client.end();
  }
}

/**
 * PGlite is a single session; its socket server multiplexes connections onto it one message at a time and
 * keeps an open transaction's messages together (it asks `db.isInTransaction()`). An extended-protocol
 * exchange outside a transaction (Parse, Bind, Describe, Execute ... Sync: every parameterised query) is not
 * kept together, so concurrent connections clobber each other's unnamed statement and portal ("bind message
 * supplies 8 parameters, but prepared statement requires 5", "portal cannot be run"). Report the session as
 * busy from an exchange's first message to its Sync too, so the server serves that connection until then.
 */
function keepExtendedQueriesTogether(db: PGlite): void {
  let midExchange = false;
  const EXTENDED = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]); // P B D E C(lose) H(flush)
  const END = new Set([0x53, 0x51, 0x58]); // S(ync) Q(uery) X(terminate)
  const rawStream = db.execProtocolRawStream.bind(db);
  db.execProtocolRawStream = (message, options) => {
    const type = message[0]!;
    if (END.has(type)) midExchange = false;
    else if (EXTENDED.has(type)) midExchange = true;
    return rawStream(message, options);
  };
  const inTransaction = db.isInTransaction.bind(db);
  db.isInTransaction = () => midExchange || inTransaction();
  // The socket server calls exec('ROLLBACK') for a connection that left mid-transaction: that ends the exchange too.
  const exec = db.exec.bind(db);
  db.exec = (query, options) => {
    midExchange = false;
    return exec(query, options);
  };
}

/**
 * Postgres for the stack: the server at `databaseUrl` when given, otherwise embedded PGlite (real
 * Postgres in WASM) behind a TCP socket, with data in `dataDir` (memory when omitted).
 */
export async function startPostgres(opts: {
  databaseUrl?: string;
  dataDir?: string;
  port?: number;
}): Promise<PostgresHandle> {
  if (opts.databaseUrl) {
    await pingPostgres(opts.databaseUrl);
    return { url: opts.databaseUrl, kind: 'server', stop: async () => undefined };
  }
  const db = await PGlite.create(opts.dataDir);
  keepExtendedQueriesTogether(db);
  // PGlite runs one query at a time; the socket server multiplexes connections onto it. Its default of one
  // connection refuses the Worker's concurrent pools.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: opts.port ?? 0, maxConnections: 64 });
  await server.start();
  const conn = server.getServerConn();
  const port = Number(conn.split(':').pop());
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kind: 'pglite',
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

const TEST_DB_PREFIX = 'agentidp_test_';

/** A unique throwaway database name; the base-36 time in it lets stale ones be recognised. */
export const throwawayDatabaseName = () =>
  `${TEST_DB_PREFIX}${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

/** `url` with its database replaced by `name`. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a fresh database for one test run, so runs never see each other's rows (CI's server keeps data
 * between runs), and drops throwaway databases of runs that died more than 6 hours ago.
 */
export async function createThrowawayDatabase(adminUrl: string, name: string): Promise<void> {
  await admin(adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${TEST_DB_PREFIX}%`,
    ]);
    const cutoff = Date.now() - 6 * 3600_000;
    for (const { datname } of rows) {
      const born = parseInt(datname.slice(TEST_DB_PREFIX.length).split('_')[0] ?? '', 36);
      if (Number.isFinite(born) && born < cutoff) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await c.query(`CREATE DATABASE "${name}"`);
  });
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
