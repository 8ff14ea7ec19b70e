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
 * Postgres for the stack: the server at `databaseUrl` when given, otherwise embedded PGlite (real
 * Postgres in WASM) behind a TCP socket, with data in `dataDir` (memory when omitted).
 */
export async function startPostgres(opts: { databaseUrl?: string; dataDir?: string; port?: number }): Promise<PostgresHandle> {
  if (opts.databaseUrl) {
    await pingPostgres(opts.databaseUrl);
    return { url: opts.databaseUrl, kind: 'server', stop: async () => undefined };
  }
  const db = await PGlite.create(opts.dataDir);
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
