import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';

export interface WsProxyHandle {
  port: number;
  /** Value for NEON_WS_PROXY: host:port/path, without a scheme, as the Neon driver's wsProxy expects. */
  neonWsProxy: string;
  stop(): Promise<void>;
}

/**
 * WebSocket-to-TCP proxy so the Neon serverless driver can reach a plain Postgres: each WebSocket at
 * `/v1?address=host:port` becomes one TCP connection, bytes copied both ways. Only `allowedTargets` may be
 * dialled, so it cannot be used to reach anything else.
 */
export async function startWsProxy(allowedTargets: string[], port = 0): Promise<WsProxyHandle> {
  const http: Server = createServer((_req, res) => {
    res.writeHead(426).end('WebSocket only');
  });
  const wss = new WebSocketServer({ server: http, path: '/v1' });
  wss.on('connection', (ws, req) => {
    const address = new URL(req.url ?? '', 'http://x').searchParams.get('address') ?? '';
    if (!allowedTargets.includes(address)) {
      ws.close(1008, 'address not allowed');
      return;
    }
    const [host, p] = address.split(':');
    const tcp = connect({ host: host!, port: Number(p) });
    const pending: Buffer[] = [];
    let open = false;
    tcp.on('connect', () => {
      open = true;
      for (const b of pending) tcp.write(b);
      pending.length = 0;
    });
    ws.on('message', (data: Buffer) => (open ? tcp.write(data) : pending.push(data)));
    tcp.on('data', (data) => ws.readyState === ws.OPEN && ws.send(data));
    const closeBoth = () => {
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    tcp.on('error', closeBoth);
    tcp.on('close', closeBoth);
    ws.on('close', closeBoth);
    ws.on('error', closeBoth);
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const actual = (http.address() as { port: number }).port;
  return {
    port: actual,
    neonWsProxy: `127.0.0.1:${actual}/v1`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
