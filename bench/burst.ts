// N simultaneous requests, each on its own connection, all sent at once: what a burst of clients does to a
// server, counted by answer (status, and whether a 503 or 429 said when to come back). autocannon measures
// steady throughput; this measures what each of a burst's requests got.
import http from 'node:http';

export interface BurstOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Per request; a request still unanswered after it counts as `timeout`. Default 30 s. */
  timeoutMs?: number;
}

export interface BurstResult {
  sent: number;
  /** Answers per status code. */
  statuses: Record<string, number>;
  /** 503 and 429 answers that carried Retry-After. */
  withRetryAfter: number;
  timeouts: number;
  /** Connection refused, reset, or closed without an answer. */
  connectionErrors: number;
  /** Time until the last request settled, and the latency percentiles of the answered ones. */
  wallMs: number;
  p50: number;
  p99: number;
  /** 4xx and 5xx answers per status and problem+json `code` (e.g. "503 unavailable"). */
  codes: Record<string, number>;
}

export async function burst(url: string, n: number, opts: BurstOptions = {}): Promise<BurstResult> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const target = new URL(url);
  const result: BurstResult = {
    sent: n,
    statuses: {},
    withRetryAfter: 0,
    timeouts: 0,
    connectionErrors: 0,
    wallMs: 0,
    p50: 0,
    p99: 0,
    codes: {},
  };
  const latencies: number[] = [];
  const t0 = performance.now();
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      let timedOut = false;
      let settled = false;
      let gotResponse = false;
      const fail = () => {
        if (settled) return;
        settled = true;
        if (timedOut) result.timeouts++;
        else result.connectionErrors++;
        resolve();
      };
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: opts.method ?? 'GET',
          headers: opts.headers,
          agent,
        },
        (res) => {
          gotResponse = true;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (settled) return;
            settled = true;
            const status = res.statusCode ?? 0;
            latencies.push(performance.now() - started);
            result.statuses[status] = (result.statuses[status] ?? 0) + 1;
            if ((status === 503 || status === 429) && res.headers['retry-after']) result.withRetryAfter++;
            if (status >= 400) {
              let code = `${status}`;
              try {
                code =
                  `${status} ${(JSON.parse(Buffer.concat(chunks).toString()) as { code?: string }).code ?? ''}`.trim();
              } catch {
                // not JSON: the status alone
              }
              result.codes[code] = (result.codes[code] ?? 0) + 1;
            }
            resolve();
          });
          res.on('error', fail);
          res.on('close', () => setImmediate(fail)); // cut off mid-body: no 'end' (a no-op after 'end')
        },
      );
      req.setTimeout(opts.timeoutMs ?? 30_000, () => {
        timedOut = true;
        req.destroy();
      });
      req.on('error', fail);
      req.on('close', () => gotResponse || fail()); // destroyed before any answer
      req.end(opts.body);
    });
  await Promise.all(Array.from({ length: n }, one));
  result.wallMs = Math.round(performance.now() - t0);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0);
  result.p50 = pct(50);
  result.p99 = pct(99);
  agent.destroy();
  return result;
}
