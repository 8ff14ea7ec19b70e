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
/**
 * Follows the frontend (client → server) message framing of the Postgres protocol and reports when a
 * Terminate ('X') message has been seen. The first messages (SSLRequest, StartupMessage) have no type byte.
 */
function terminateWatcher(): (chunk: Buffer) => boolean {
  let buf: Buffer = Buffer.alloc(0);
  let startup = true;
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      const head = startup ? 4 : 5;
      if (buf.length < head) return false;
      const len = startup ? buf.readInt32BE(0) : 1 + buf.readInt32BE(1);
      if (buf.length < len) return false;
      if (startup) {
        const code = buf.readInt32BE(4);
        if (code !== 80877103 && code !== 80877104) startup = false; // not an SSL/GSSENC request
      } else if (buf[0] === 0x58) {
        return true;
      }
      buf = buf.subarray(len);
    }
  };
}

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
    const sawTerminate = terminateWatcher();
    let terminated = false;
    ws.on('message', (data: Buffer) => {
      if (open) tcp.write(data);
      else pending.push(data);
      // After the client's Terminate a real Postgres closes the connection; PGlite's socket server does not,
      // and the Neon driver never closes its WebSocket after Pool.end() either, so each request would keep
      // one of PGlite's few connections forever. End the TCP side here. The WebSocket is left to the client
      // (its request's end closes it): closing it from here makes workerd report "Network connection lost"
      // as an uncaught error on the already-ended client.
      if (!terminated && sawTerminate(data)) {
        terminated = true;
        tcp.end();
      }
    });
    tcp.on('data', (data) => ws.readyState === ws.OPEN && ws.send(data));
    const closeBoth = () => {
      tcp.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
    };
    tcp.on('error', closeBoth);
    tcp.on('close', () => (terminated ? undefined : closeBoth()));
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
