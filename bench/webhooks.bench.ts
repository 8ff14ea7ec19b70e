// Cost of webhooks on the write path, and how fast a dispatcher drains. POST /v1/agents for an organization
// with no subscription vs one whose every agent.created is announced to one subscription (a delivery row
// in the same transaction + an after-commit kick of its WebhookDispatcher). Runs alternate to cancel drift;
// the ratio is with ÷ without throughput, goal ≥ 0.8. After the load, the time the one dispatcher takes to
// deliver the backlog left by the load, and a backlog of BACKLOG deliveries written straight into the outbox,
// give its drain rate (deliveries/s; batch 25, 6 in flight, one receiver answering 204).
// `node bench/webhooks.bench.ts` (DATABASE_URL for a Postgres server, else PGlite: then the figures say
// little about Postgres). Load generator, receiver and workerd share this machine's cores.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { type BenchWorker, type Measurement, measure, ratio, report, startBenchWorker } from './harness.ts';

const ROUNDS = 2;
const SECONDS = 6;
const CONNECTIONS = 10;
const BACKLOG = 300;

async function organization(w: BenchWorker, name: string): Promise<{ id: string; key: string }> {
  const res = await fetch(`${w.url}/v1/admin/organizations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${w.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `bench-webhooks-${name}-${Date.now()}`, tier: 'enterprise' }),
  });
  if (res.status !== 201) throw new Error(`create organization: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { organization_id: string; api_key: string };
  return { id: body.organization_id, key: body.api_key };
}

function startReceiver(): Promise<{
  url: string;
  count: () => number;
  duplicates: () => number;
  stop: () => Promise<void>;
}> {
  let n = 0;
  const ids = new Set<string>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      ids.add(String(req.headers['webhook-id']));
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        count: () => n,
        duplicates: () => n - ids.size,
        stop: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

const mean = (xs: Measurement[], k: 'rps' | 'p50' | 'p99') => Math.round(xs.reduce((s, x) => s + x[k], 0) / xs.length);
const body = JSON.stringify({ email: 'bench@example.com', owner: 'bench', agent_type: 'bench', capabilities: ['x'] });

export async function run(): Promise<Record<string, unknown>[]> {
  const w = await startBenchWorker();
  const receiver = await startReceiver();
  const db = new pg.Client({ connectionString: w.stack.databaseUrl });
  await db.connect();
  try {
    const plain = await organization(w, 'without');
    const hooked = await organization(w, 'with');
    const sub = await fetch(`${w.url}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hooked.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', url: receiver.url, events: ['agent.created'] }),
    });
    if (sub.status !== 201) throw new Error(`create webhook: ${sub.status} ${await sub.text()}`);
    const targets = [
      { name: 'no subscription', org: plain, runs: [] as Measurement[] },
      { name: '1 subscription', org: hooked, runs: [] as Measurement[] },
    ];
    const load = (key: string, durationSec: number) =>
      measure(`${w.url}/v1/agents`, {
        method: 'POST',
        durationSec,
        connections: CONNECTIONS,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      });
    for (const t of targets) await load(t.org.key, 2); // warm-up
    for (let r = 0; r < ROUNDS; r++) for (const t of targets) t.runs.push(await load(t.org.key, SECONDS));
    await new Promise((r) => setTimeout(r, 1_000)); // requests still in flight when autocannon stopped
    const loadEnd = Date.now();

    // Drain: every agent.created of the hooked organization delivered.
    const counts = async () =>
      (
        await db.query<{ total: string; delivered: string }>(
          `SELECT count(*) AS total, count(*) FILTER (WHERE status = 'delivered') AS delivered
           FROM webhook_deliveries WHERE organization_id = $1`,
          [hooked.id],
        )
      ).rows[0]!;
    let c = await counts();
    const atLoadEnd = Number(c.delivered);
    while (Number(c.delivered) < Number(c.total) && Date.now() - loadEnd < 60_000) {
      await new Promise((r) => setTimeout(r, 100));
      c = await counts();
    }
    const drainMs = Date.now() - loadEnd;
    const total = Number(c.total);
    const delivered = Number(c.delivered);

    // Drain rate of one dispatcher: a backlog of BACKLOG due deliveries (written straight into the outbox),
    // woken by one more announced event, until all are delivered.
    const subId = ((await sub.clone().json()) as { id: string }).id;
    await db.query(
      `INSERT INTO webhook_deliveries (id, subscription_id, organization_id, event_id, event_type, payload, next_retry_at)
       SELECT gen_random_uuid(), $1, $2, gen_random_uuid(), 'agent.created',
              jsonb_build_object('type', 'agent.created', 'timestamp', now(), 'data', jsonb_build_object('n', g)), now()
       FROM generate_series(1, $3) g`,
      [subId, hooked.id, BACKLOG],
    );
    const before = receiver.count();
    const t0 = Date.now();
    const kick = await fetch(`${w.url}/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hooked.key}`, 'content-type': 'application/json' },
      body,
    });
    if (kick.status !== 201) throw new Error(`kick: ${kick.status}`);
    while (receiver.count() - before < BACKLOG + 1 && Date.now() - t0 < 90_000)
      await new Promise((r) => setTimeout(r, 20));
    const backlogMs = Date.now() - t0;
    const backlogSent = receiver.count() - before;

    const [without, withSub] = targets.map((t) => ({
      rps: mean(t.runs, 'rps'),
      p50: mean(t.runs, 'p50'),
      p99: mean(t.runs, 'p99'),
      errors: t.runs.reduce((s, x) => s + x.errors, 0),
      non2xx: t.runs.reduce((s, x) => s + x.non2xx, 0),
    }));
    const rows = [
      { route: 'POST /v1/agents', config: 'no subscription', ...without! },
      { route: 'POST /v1/agents', config: '1 subscription', ...withSub! },
      {
        route: 'ratio with ÷ without (goal ≥ 0.8)',
        rps_ratio: ratio(withSub!.rps, without!.rps),
        postgres: w.stack.postgresKind,
      },
      {
        route: 'drain after load',
        deliveries: total,
        delivered,
        delivered_during_load: atLoadEnd,
        backlog_drained_ms: drainMs,
        receiver_requests: before,
      },
      {
        route: `backlog of ${BACKLOG + 1} due deliveries, one dispatcher`,
        delivered: backlogSent,
        drain_ms: backlogMs,
        deliveries_per_s: Math.round((backlogSent * 1000) / backlogMs),
        duplicates: receiver.duplicates(),
      },
    ];
    report('webhooks', rows);
    return rows;
  } finally {
    await db.end();
    await receiver.stop();
    await w.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
