// Bursts: 1,000 simultaneous GET /v1/agents and 300 simultaneous POST /v1/agents (each request on its own
// connection, all sent at once) against this Worker, with the same GET burst against the trivial Worker
// and the Node baseline. Counts what each request got: 2xx, 429, 500, 503 (with or without Retry-After),
// timeouts, refused connections. Then 100 simultaneous agent creations by a tenant with one webhook
// subscription: agents created vs webhook deliveries recorded and delivered. Last, whether the Worker still
// answers /livez. `node bench/load.bench.ts`; meant for a Postgres server (DATABASE_URL): under PGlite the
// figures say nothing about connection pressure.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { type Baseline, baselineUnavailable, startBaseline } from './baseline/index.ts';
import { type BurstResult, burst } from './burst.ts';
import { type BenchWorker, postJson, report, seedTenant, startBenchWorker, startTrivialWorker } from './harness.ts';

const AGENT = JSON.stringify({ email: 'load@example.com', owner: 'load', agent_type: 'bench', capabilities: ['x'] });

function row(target: string, what: string, r: BurstResult): Record<string, unknown> {
  const count = (test: (s: number) => boolean) =>
    Object.entries(r.statuses).reduce((a, [s, n]) => a + (test(Number(s)) ? n : 0), 0);
  return {
    target,
    burst: what,
    ok_2xx: count((s) => s >= 200 && s < 300),
    s429: count((s) => s === 429),
    s500: count((s) => s === 500),
    s503: count((s) => s === 503),
    with_retry_after: r.withRetryAfter,
    other: count((s) => s < 200 || (s >= 300 && s !== 429 && s !== 500 && s !== 503)),
    timeouts: r.timeouts,
    conn_errors: r.connectionErrors,
    wall_ms: r.wallMs,
    p50: r.p50,
    p99: r.p99,
    codes: Object.entries(r.codes)
      .map(([c, n]) => `${c} ×${n}`)
      .join(', '),
  };
}

/** A local webhook receiver answering 204 to everything. */
function startReceiver(): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        stop: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

async function webhookCheck(w: BenchWorker, receiverUrl: string): Promise<Record<string, unknown>> {
  const tenant = await seedTenant(w, 'bench-load-webhooks', 'enterprise');
  await postJson(`${w.url}/v1/webhooks`, tenant.key, { name: 'load', url: receiverUrl, events: ['agent.created'] });
  const r = await burst(`${w.url}/v1/agents`, 100, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
    body: AGENT,
  });
  const db = new pg.Client({ connectionString: w.stack.databaseUrl });
  await db.connect();
  try {
    const counts = async () =>
      (
        await db.query<{ agents: number; deliveries: number; delivered: number }>(
          `SELECT (SELECT count(*)::int FROM agents WHERE organization_id = $1) AS agents,
                  count(*)::int AS deliveries, (count(*) FILTER (WHERE status = 'delivered'))::int AS delivered
           FROM webhook_deliveries WHERE organization_id = $1`,
          [tenant.id],
        )
      ).rows[0]!;
    let c = await counts();
    const until = Date.now() + 60_000;
    while (c.delivered < c.deliveries && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 250));
      c = await counts();
    }
    return {
      ...row('Worker', 'POST /v1/agents × 100, one webhook subscription', r),
      agents_created: c.agents,
      deliveries_recorded: c.deliveries,
      delivered: c.delivered,
    };
  } finally {
    await db.end();
  }
}

export async function run(): Promise<Record<string, unknown>[]> {
  const noBaseline = baselineUnavailable();
  if (noBaseline) console.warn(`load: ${noBaseline}; no baseline burst`);
  const stops: Array<() => Promise<void>> = [];
  try {
    const trivial = await startTrivialWorker();
    stops.push(trivial.stop);
    const w = await startBenchWorker();
    stops.push(w.stop);
    const receiver = await startReceiver();
    stops.push(receiver.stop);
    let baseline: Baseline | undefined;
    if (!noBaseline) {
      baseline = await startBaseline({
        databaseUrl: w.stack.databaseUrl,
        redisUrl: process.env.REDIS_URL || undefined,
      });
      stops.push(baseline.stop);
    }
    const tenant = await seedTenant(w, 'bench-load', 'enterprise', 5);
    const auth = { authorization: `Bearer ${tenant.key}` };
    const rows: Record<string, unknown>[] = [row('trivial Worker', 'GET / × 1000', await burst(trivial.url, 1000))];
    if (baseline)
      rows.push(
        row(
          'Node baseline',
          'GET /v1/agents × 1000',
          await burst(`${baseline.url}/v1/agents`, 1000, { headers: auth }),
        ),
      );
    process.stderr.write('.');
    rows.push(row('Worker', 'GET /v1/agents × 1000', await burst(`${w.url}/v1/agents`, 1000, { headers: auth })));
    process.stderr.write('.');
    rows.push(
      row(
        'Worker',
        'POST /v1/agents × 300',
        await burst(`${w.url}/v1/agents`, 300, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: AGENT,
        }),
      ),
    );
    process.stderr.write('.');
    rows.push(await webhookCheck(w, receiver.url));
    const live = await fetch(`${w.url}/livez`, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.status,
      (e: Error) => e.name,
    );
    rows.push({
      target: 'Worker',
      burst: 'GET /livez after the bursts (5 s deadline)',
      ok_2xx: live === 200 ? 1 : 0,
      codes: String(live),
    });
    rows.push({ target: '(setup)', burst: `postgres: ${w.stack.postgresKind}, pooler: ${w.stack.pooler}` });
    report('load', rows);
    return rows;
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
