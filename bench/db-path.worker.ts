// Bench-only Worker (bundled by bench/db-path.bench.ts, served by `workerd serve`): one query per request
// over a connection opened for that request, as the app's request path does, with no other work. Two
// drivers: GET /neon — the Neon serverless driver's Pool over the local WebSocket-to-TCP proxy (what the
// Worker uses); GET /pg — node-postgres over a TCP socket from workerd (`cloudflare:sockets`, through
// pg-cloudflare), the driver Hyperdrive is used with. DATABASE_URL decides whether pgbouncer is in the path.
import { neonConfig, Pool } from '@neondatabase/serverless';
import pg from 'pg';

interface Env {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
}

const QUERY = 'SELECT $1::int AS n, now() AS at';

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === '/neon') {
      neonConfig.wsProxy = (host, port) => `${env.NEON_WS_PROXY}?address=${host}:${port}`;
      neonConfig.useSecureWebSocket = false;
      neonConfig.pipelineConnect = false;
      neonConfig.pipelineTLS = false;
      const pool = new Pool({ connectionString: env.DATABASE_URL, max: 1 });
      const { rows } = await pool.query(QUERY, [1]);
      ctx.waitUntil(pool.end());
      return Response.json(rows[0]);
    }
    if (path === '/pg') {
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      const { rows } = await client.query(QUERY, [1]);
      ctx.waitUntil(client.end());
      return Response.json(rows[0]);
    }
    return new Response('not found', { status: 404 });
  },
};
