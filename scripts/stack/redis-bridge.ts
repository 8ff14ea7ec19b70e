import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createClient } from 'redis';

export interface RedisBridgeHandle {
  /** Value for UPSTASH_REDIS_REST_URL. */
  url: string;
  /** Value for UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  stop(): Promise<void>;
}

type Reply = string | number | null | Reply[] | Buffer;

/** Encodes a reply as Upstash does under `Upstash-Encoding: base64`: bulk strings base64, "OK" and integers as is. */
function encode(reply: Reply, base64: boolean, top = true): unknown {
  if (reply === null || typeof reply === 'number') return reply;
  if (Array.isArray(reply)) return reply.map((r) => encode(r, base64, false));
  const s = Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply);
  if (!base64 || (top && s === 'OK')) return s;
  return Buffer.from(s, 'utf8').toString('base64');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * A local server speaking the Upstash Redis REST protocol (`/` single command, `/pipeline`, `/multi-exec`,
 * bearer token) in front of a real Redis at `redisUrl`, so the Worker's `@upstash/redis` client runs
 * unchanged against it.
 */
export async function startRedisBridge(
  redisUrl: string,
  { port = 0, token = randomBytes(24).toString('hex') }: { port?: number; token?: string } = {},
): Promise<RedisBridgeHandle> {
  const redis = createClient({ url: redisUrl, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  redis.on('error', () => undefined);
  await redis.connect();
  const expected = Buffer.from(`Bearer ${token}`);

  const run = async (cmd: unknown): Promise<{ result?: unknown; error?: string }> => {
    if (!Array.isArray(cmd) || cmd.length === 0) return { error: 'ERR command must be a non-empty array' };
    try {
      return { result: (await redis.sendCommand(cmd.map(String))) as Reply };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected))
      return send(401, { error: 'Unauthorized' });
    const base64 = req.headers['upstash-encoding'] === 'base64';
    const out = (r: { result?: unknown; error?: string }) =>
      r.error !== undefined ? { error: r.error } : { result: encode(r.result as Reply, base64) };
    try {
      const body = await readJson(req);
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/pipeline' || path === '/multi-exec') {
        if (!Array.isArray(body)) return send(400, { error: 'ERR body must be an array of commands' });
        if (path === '/multi-exec') {
          const multi = redis.multi();
          for (const cmd of body as unknown[][]) multi.addCommand(cmd.map(String));
          const results = (await multi.exec()) as unknown as Reply[];
          return send(
            200,
            results.map((r) => out({ result: r })),
          );
        }
        const results = [];
        for (const cmd of body) results.push(out(await run(cmd)));
        return send(200, results);
      }
      const r = await run(body);
      return send(r.error !== undefined ? 400 : 200, out(r));
    } catch (err) {
      return send(400, { error: `ERR ${err instanceof Error ? err.message : String(err)}` });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    token,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await redis.quit().catch(() => undefined);
    },
  };
}
