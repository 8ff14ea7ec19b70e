// Audit chain verification over 10 thousand and 1 million events of one organization: events/s and peak
// memory; and the compliance report over a clean 100k-event chain, whose audit-trail section is a full walk.
// `DATABASE_URL=postgres://... node bench/audit.bench.ts` (skipped without a Postgres server).
//
// Two measurements of the same service code (AuditVerificationService.verifyChain, full walk):
//  - workerd: `GET /v1/audit/verify?full=true` against the deploy bundle served by workerd (the harness), through
//    the Neon driver and the WebSocket proxy, as in production. Memory: the workerd process' RSS, sampled from
//    /proc during the request (peak minus the RSS just before it).
//  - node (only with AUDIT_BENCH_NODE=1; it doubles the run time): the service run in a fresh Node child through
//    a Queryable over `pg`, with the V8 heap capped at NODE_HEAP_CAP_MB: finishing a million events under that
//    cap shows memory does not grow with the chain. The peak heap is sampled every 5 ms (garbage included).
// Timing (see measure()): one untimed warm-up walk, then 10k × 3, 1M × 1, 10k × 3; the median per size.
// Children run with --experimental-transform-types because worker code uses TypeScript parameter properties,
// which Node's default type stripping rejects; this module itself imports no worker code, so a runner can
// import it. Seeding writes valid chained events directly: hashes are SHA-256 of the writer's own
// `auditHashInput`, rows go in 10,000 at a time through `unnest`, in one transaction, then the head is set.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { BenchWorker } from './harness.ts';

const SELF = fileURLToPath(import.meta.url);
const SIZES = [10_000, 1_000_000];
/** Events of the chain the compliance report is timed on, and the number of timed reports. */
const REPORT_EVENTS = 100_000;
const REPORT_REPEATS = 3;
const SMALL_REPEATS = 3;
const BATCH = 10_000;
const NODE_HEAP_CAP_MB = 96;

type Row = Record<string, unknown>;

function child(args: string[], nodeFlags: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const flags = ['--experimental-transform-types', '--disable-warning=ExperimentalWarning', ...nodeFlags];
    const p = spawn(process.execPath, [...flags, SELF, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n').pop() ?? '') : reject(new Error(`child ${args[0]} exited ${code}`)),
    );
  });
}

/** Appends valid chained events to the organization's chain until its head is `total`. Runs in a child. */
async function seed(url: string, orgId: string, total: number): Promise<void> {
  const { auditHashInput } = await import('../worker/features/audit/audit.service.ts');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL synchronous_commit = off');
    const head = (
      await client.query(
        'SELECT audit_head_seq, audit_head_hash FROM organizations WHERE organization_id = $1 FOR UPDATE',
        [orgId],
      )
    ).rows[0] as { audit_head_seq: string; audit_head_hash: string };
    const types = ['agent.created', 'credential.created', 'agent.updated', 'credential.revoked'];
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    let prev = head.audit_head_hash;
    let pending: Promise<unknown> = Promise.resolve();
    for (let start = Number(head.audit_head_seq) + 1; start <= total; start += BATCH) {
      const cols: unknown[][] = [[], [], [], [], [], [], [], [], []];
      for (let seq = start; seq < Math.min(start + BATCH, total + 1); seq++) {
        const subject = crypto.randomUUID();
        const type = types[seq % types.length]!;
        const row = {
          organization_id: orgId,
          seq,
          event_id: crypto.randomUUID(),
          event_type: type,
          actor: 'api_key:benchkey0001',
          subject,
          payload:
            type === 'agent.created'
              ? { agent_type: 'assistant', did: `did:web:bench.test:agents:${subject}` }
              : { agent_id: subject },
          occurred_at: new Date(t0 + seq * 1000).toISOString(),
          prev_hash: prev,
        };
        // SHA-256 of the writer's exact hash input is what computeAuditHash returns (sync here, for speed).
        const hash = createHash('sha256').update(auditHashInput(row)).digest('hex');
        [seq, row.event_id, type, row.actor, subject, JSON.stringify(row.payload), row.occurred_at, prev, hash].forEach(
          (v, i) => cols[i]!.push(v),
        );
        prev = hash;
      }
      await pending;
      pending = client.query(
        `INSERT INTO audit_events (organization_id, seq, event_id, event_type, actor, subject, payload, occurred_at, prev_hash, hash)
         SELECT $1::uuid, * FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::jsonb[],
                                        $8::timestamptz[], $9::text[], $10::text[])`,
        [orgId, ...cols],
      );
    }
    await pending;
    await client.query(
      'UPDATE organizations SET audit_head_seq = $2, audit_head_hash = $3 WHERE organization_id = $1',
      [orgId, total, prev],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE audit_events');
  } finally {
    await client.end();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

interface Chain {
  id: string;
  events: number;
}
/** Samples memory between begin() and end(); end() returns the figures for that phase. */
interface MemoryProbe {
  begin(): void;
  end(): Record<string, number>;
}
type Verify = (orgId: string) => Promise<{ checked: number; verified: boolean }>;

/**
 * One untimed walk of the small chain (module init, JIT, connections), then small × SMALL_REPEATS, large × 1,
 * small × SMALL_REPEATS: interleaving spreads the machine's background load over both sizes. Per size: the
 * median time and the largest memory figures of its phases.
 */
async function measure(verify: Verify, small: Chain, large: Chain, probe: MemoryProbe): Promise<Row[]> {
  await verify(small.id);
  const times = new Map<Chain, number[]>([
    [small, []],
    [large, []],
  ]);
  const memory = new Map<Chain, Record<string, number>>();
  const phase = async (chain: Chain, repeats: number) => {
    probe.begin();
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      const r = await verify(chain.id);
      times.get(chain)!.push((performance.now() - t) / 1000);
      if (r.checked !== chain.events || !r.verified)
        throw new Error(`expected ${chain.events} verified events, got ${JSON.stringify(r)}`);
    }
    const m = probe.end();
    const prev = memory.get(chain) ?? {};
    memory.set(chain, Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.max(v, prev[k] ?? -Infinity)])));
  };
  await phase(small, SMALL_REPEATS);
  await phase(large, 1);
  await phase(small, SMALL_REPEATS);
  return [small, large].map((c) => {
    const seconds = median(times.get(c)!);
    return {
      events: c.events,
      seconds: Math.round(seconds * 100) / 100,
      events_per_s: Math.round(c.events / seconds),
      ...memory.get(c),
    };
  });
}

/** The service in this (child) process over `pg`; memory: sampled V8 heap and RSS peaks. */
async function nodeMeasure(url: string, small: Chain, large: Chain): Promise<Row[]> {
  const { AuditVerificationService } = await import('../worker/features/audit/audit-verification.service.ts');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const q = { query: async <T>(text: string, params?: unknown[]) => (await pool.query(text, params)).rows as T[] };
  const service = new AuditVerificationService(q, { now: () => new Date() });
  let heap = 0;
  let rss = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const sample = () => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    rss = Math.max(rss, m.rss);
  };
  const probe: MemoryProbe = {
    begin: () => {
      heap = rss = 0;
      timer = setInterval(sample, 5);
    },
    end: () => {
      clearInterval(timer);
      sample();
      return { peak_heap_mb: mb(heap), peak_rss_mb: mb(rss) };
    },
  };
  try {
    return await measure((id) => service.verifyChain(id, { full: true }), small, large, probe);
  } finally {
    await pool.end();
  }
}

/** RSS of the workerd processes started by this process (the harness' `workerd serve`), from /proc. */
function workerdRss(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (!/^Name:\s+workerd$/m.test(status)) continue;
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // the process went away
    }
  }
  return total;
}

/** workerd RSS growth over a phase (peak minus the RSS at its start), sampled every 20 ms. */
function workerdProbe(): MemoryProbe {
  let before = 0;
  let peak = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    begin: () => {
      before = peak = workerdRss();
      timer = setInterval(() => (peak = Math.max(peak, workerdRss())), 20);
    },
    end: () => {
      clearInterval(timer);
      return { rss_before_mb: mb(before), rss_growth_mb: mb(peak - before) };
    },
  };
}

/** `GET /v1/audit/verify?full=true` on the bench Worker; memory: workerd RSS growth over the phase. */
function workerdMeasure(baseUrl: string, keys: Map<string, string>, small: Chain, large: Chain): Promise<Row[]> {
  const verify: Verify = async (orgId) => {
    const res = await fetch(`${baseUrl}/v1/audit/verify?full=true`, {
      headers: { authorization: `Bearer ${keys.get(orgId)}` },
    });
    if (res.status !== 200) throw new Error(`verify: ${res.status} ${await res.text()}`);
    return (await res.json()) as { checked: number; verified: boolean };
  };
  return measure(verify, small, large, workerdProbe());
}

/**
 * `GET /v1/compliance/report` over a clean chain: its audit-trail section re-hashes every event. Before each
 * timed report the stored full walk and the cached report are removed, so each one walks the whole chain;
 * one more report right after shows what reusing the walk costs. Answers the full-walk row.
 */
async function reportMeasure(w: BenchWorker, url: string, key: string, chain: Chain): Promise<Row> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const forget = async () => {
    await client.query('DELETE FROM audit_full_walks WHERE organization_id = $1', [chain.id]);
    const redis = w.bindings.UPSTASH_REDIS_REST_URL;
    if (redis) {
      const del = ['DEL', `${w.bindings.CACHE_KEY_PREFIX ?? ''}compliance:report:${chain.id}`];
      const headers = { authorization: `Bearer ${w.bindings.UPSTASH_REDIS_REST_TOKEN}` };
      await fetch(redis, { method: 'POST', headers, body: JSON.stringify(del) });
    }
  };
  const get = async () => {
    const t = performance.now();
    const res = await fetch(`${w.url}/v1/compliance/report`, { headers: { authorization: `Bearer ${key}` } });
    type Section = { name: string; status: string; findings: Array<{ count?: number }> };
    const body = (await res.json()) as { sections?: Section[] };
    const seconds = (performance.now() - t) / 1000;
    const trail = body.sections?.find((s) => s.name === 'audit-trail');
    if (res.status !== 200 || trail?.status !== 'pass' || trail.findings[0]?.count !== chain.events) {
      throw new Error(`report: ${res.status} ${JSON.stringify(body)}`);
    }
    return seconds;
  };
  try {
    const probe = workerdProbe();
    const times: number[] = [];
    probe.begin();
    for (let i = 0; i < REPORT_REPEATS; i++) {
      await forget();
      times.push(await get());
    }
    const memory = probe.end();
    const reused = await get();
    const seconds = median(times);
    console.log(
      `  compliance report, ${chain.events} events: ${seconds.toFixed(2)} s with a full walk ` +
        `(median of ${REPORT_REPEATS}), ${(reused * 1000).toFixed(0)} ms reusing it`,
    );
    return {
      runtime: 'workerd, GET /v1/compliance/report (full walk)',
      events: chain.events,
      seconds: Math.round(seconds * 100) / 100,
      events_per_s: Math.round(chain.events / seconds),
      ...memory,
    };
  } finally {
    await client.end();
  }
}

export async function run(): Promise<Record<string, unknown>[]> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.log(
      'audit bench skipped: set DATABASE_URL to a Postgres server (PGlite runs one query at a time and says nothing about Postgres).',
    );
    return [];
  }
  const { report, ratio, startBenchWorker } = await import('./harness.ts');
  const w = await startBenchWorker();
  const keys = new Map<string, string>();
  try {
    const chains: Chain[] = [];
    for (const n of [...SIZES, REPORT_EVENTS]) {
      const res = await fetch(`${w.url}/v1/admin/organizations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${w.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `bench-audit-${n}`, tier: 'enterprise' }),
      });
      const org = (await res.json()) as { organization_id: string; api_key: string };
      keys.set(org.organization_id, org.api_key);
      const t = performance.now();
      await child(['seed', org.organization_id, String(n)]);
      console.error(`  seeded ${n} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      chains.push({ id: org.organization_id, events: n });
    }
    const [s, l, r] = chains as [Chain, Chain, Chain];
    const results: Array<[string, Row[]]> = [['workerd', await workerdMeasure(w.url, keys, s, l)]];
    const reportRow = await reportMeasure(w, url, keys.get(r.id)!, r);
    if (process.env.AUDIT_BENCH_NODE === '1') {
      const out = await child(
        ['verify', s.id, String(s.events), l.id, String(l.events)],
        [`--max-old-space-size=${NODE_HEAP_CAP_MB}`],
      );
      results.push([`node (heap cap ${NODE_HEAP_CAP_MB} MB)`, JSON.parse(out) as Row[]]);
    }
    const rows: Row[] = [];
    for (const [runtime, [a, b]] of results as Array<[string, [Row, Row]]>) {
      rows.push({ runtime, ...a, throughput_vs_10k: 1 });
      rows.push({ runtime, ...b, throughput_vs_10k: ratio(b.events_per_s as number, a.events_per_s as number) });
    }
    const small = results[0]![1][0]!;
    const reportRatio = ratio(reportRow.events_per_s as number, small.events_per_s as number);
    rows.push({ ...reportRow, throughput_vs_10k: reportRatio });
    report('audit', rows);
    console.log('Goal: throughput at 1M within 20% of 10k (ratio ≥ 0.8) and flat memory; the report over 100k events');
    console.log('re-hashes the chain at the same rate (ratio ≥ 0.8 against the 10k walk). Postgres, workerd and the');
    console.log("Node verifier share the machine's 2 cores; compare ratios within this run, not absolute figures.");
    return rows;
  } finally {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const id of keys.keys()) await client.query('DELETE FROM organizations WHERE organization_id = $1', [id]);
    await client.end();
    await w.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mode, ...rest] = process.argv.slice(2);
  const url = process.env.DATABASE_URL ?? '';
  if (mode === 'seed') await seed(url, rest[0]!, Number(rest[1]));
  else if (mode === 'verify') {
    const [smallId, smallN, largeId, largeN] = rest;
    const rows = await nodeMeasure(
      url,
      { id: smallId!, events: Number(smallN) },
      { id: largeId!, events: Number(largeN) },
    );
    console.log(JSON.stringify(rows));
  } else await run();
}
