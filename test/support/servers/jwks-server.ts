// Local partner identity providers for the federation tests and bench (Node). One HTTP server hosts any
// number of named JWKS endpoints at `GET /jwks/<name>`; tests make the keys (with jose, in workerd) and
// publish the public JWKS — or any other answer — through the control API:
//   PUT /control/<name>        Answer   (what GET /jwks/<name> serves from now on)
//   GET /control/<name>/hits   → { hits }   (GET /jwks/<name> requests so far)
// where Answer = { status?: number (200), headers?: Record<string,string>, json?: unknown, body?: string,
// hang?: boolean }. `json` is served as application/json, `body` verbatim; `hang` never answers (the
// fetcher's timeout must cut it) and hung sockets are destroyed on stop. Unknown names answer 404.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readBody } from './read-body.ts';

export interface JwksAnswer {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
  hang?: boolean;
}

export interface JwksServer {
  url: string;
  stop(): Promise<void>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the local partner JWKS server (test/support/servers/jwks-server.ts). */
    jwksServerUrl: string;
  }
}

function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

export async function startJwksServer(port = 0): Promise<JwksServer> {
  const answers = new Map<string, JwksAnswer>();
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://jwks');
      const body = await readBody(req);
      const served = /^\/jwks\/([\w.-]+)$/.exec(url.pathname);
      if (served && req.method === 'GET') {
        const name = served[1]!;
        const answer = answers.get(name);
        if (!answer) return send(res, 404, '{"error":"unknown jwks"}');
        hits.set(name, (hits.get(name) ?? 0) + 1);
        if (answer.hang) return; // never answer
        const text = answer.json !== undefined ? JSON.stringify(answer.json) : (answer.body ?? '');
        return send(res, answer.status ?? 200, text, answer.headers);
      }
      const control = /^\/control\/([\w.-]+)(\/hits)?$/.exec(url.pathname);
      if (control && req.method === 'PUT' && !control[2]) {
        answers.set(control[1]!, JSON.parse(body) as JwksAnswer);
        return send(res, 204, '');
      }
      if (control && req.method === 'GET' && control[2]) {
        return send(res, 200, JSON.stringify({ hits: hits.get(control[1]!) ?? 0 }));
      }
      send(res, 404, '{"error":"not found"}');
    } catch (err) {
      send(res, 500, JSON.stringify({ error: String(err) }));
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
