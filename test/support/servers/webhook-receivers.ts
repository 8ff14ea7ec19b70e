// Local webhook receivers for the webhook tests (Node, started by the global setup). One HTTP server hosts
// any number of named receivers at `POST /hooks/<name>`; each records every request (headers and raw body)
// and answers from a script the test sets over the control API:
//   PUT  /control/<name>           { sequence?: Answer[], otherwise?: Answer }   (default: 200 forever)
//   GET  /control/<name>/requests  → Recorded[]
// where Answer = { status: number, headers?: Record<string,string> } | { hang: true }. `sequence` answers
// the first requests in order, `otherwise` every later one. "Hang" never answers (the sender's timeout
// must cut it); hung sockets are destroyed on stop.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.ts';

type Answer = { status: number; headers?: Record<string, string> } | { hang: true };

interface Script {
  sequence: Answer[];
  otherwise: Answer;
}

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What the receiver did: an HTTP status, or 'hang'. */
  answered: number | 'hang';
}

export interface WebhookReceivers {
  url: string;
  stop(): Promise<void>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the local webhook receivers (test/support/servers/webhook-receivers.ts). */
    webhookReceiverUrl: string;
  }
}

export async function startWebhookReceivers(port = 0): Promise<WebhookReceivers> {
  const scripts = new Map<string, Script>();
  const recorded = new Map<string, Recorded[]>();

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://receiver');
      const body = await readBody(req);
      const hook = /^\/hooks\/([\w-]+)$/.exec(url.pathname);
      if (hook && req.method === 'POST') {
        const name = hook[1]!;
        const list = recorded.get(name) ?? [];
        recorded.set(name, list);
        const script = scripts.get(name) ?? { sequence: [], otherwise: { status: 200 } };
        const answer = script.sequence.shift() ?? script.otherwise;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        list.push({
          method: req.method,
          path: url.pathname,
          headers,
          body,
          answered: 'hang' in answer ? 'hang' : answer.status,
        });
        if ('hang' in answer) return; // never answer
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(`receiver ${name}: ${answer.status}`);
        return;
      }
      const control = /^\/control\/([\w-]+)(\/requests)?$/.exec(url.pathname);
      if (control && req.method === 'PUT' && !control[2]) {
        const parsed = JSON.parse(body || '{}') as Partial<Script>;
        scripts.set(control[1]!, { sequence: parsed.sequence ?? [], otherwise: parsed.otherwise ?? { status: 200 } });
        res.writeHead(204).end();
        return;
      }
      if (control && req.method === 'GET' && control[2]) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(recorded.get(control[1]!) ?? []));
        return;
      }
      res.writeHead(404).end();
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
