// Federated token verification vs routing vs the bare signature check, all in one run:
// `node bench/federation.bench.ts` (set DATABASE_URL and REDIS_URL for the real stack).
//
// Over HTTP, against the deploy bundle under `workerd serve` (harness.ts), next to the trivial Worker:
// - endpoint: POST /v1/federation/verify with an ES256 and an RS256 token of a registered partner, cache
//   warm (the first verification fills isolate memory, and Redis when configured);
// - trivial routes on the same Worker: GET /livez (no dependency) and GET /v1/federation/verify, which
//   passes the same tenant gate (API key lookup in Postgres + daily call counter) and then answers 404 —
//   routing and tenant authentication, none of the federation work.
// Per-request times are 1000 / rps at 10 connections (the server's cost per request when saturated),
// rounds alternating the routes.
//
// Inside workerd (bench/federation-loop.worker.ts under a second `workerd serve`): N warm verifications through
// FederationService — what the endpoint does after routing and authentication — and N bare
// crypto.subtle.verify calls on the same token and key. workerd's clock does not advance during a request,
// so loops are timed from outside: (time of N − time of 0) / N, median of several rounds.
//
// Goal: (endpoint − trivial route) ≤ 1.5 × bare verify. The HTTP difference is reported as measured; the
// tenant gate costs tens of milliseconds (a Postgres connection per request) with noise far larger than
// one signature check, so the in-isolate ratio is the figure that resolves the goal. autocannon, the stack
// and workerd share this machine's cores: read ratios, not absolute figures.
//
// Baseline (with DATABASE_URL): the specification's Node approach (bench/baseline/server.ts: node:http, pg
// Pool, node-redis, jsonwebtoken + crypto.createPublicKey) verifying the same tokens of the same partner
// against the same Postgres and Redis, behind the spec's tenant gate (API key row from Postgres per request,
// Redis INCR daily counter); same routes, same rounds. Its JWK → PEM + jsonwebtoken.verify is also timed in
// a loop in this process (node_verify_ms), the Node counterpart of bare_verify_ms.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startJwksServer } from '../test/support/servers/jwks-server.ts';
import { type Baseline, baselineUnavailable, startBaseline } from './baseline/index.ts';
import { bundleBenchWorker, workerSpec } from './bundle.ts';
import { nodeVerifyMs, pairedLoopMs, round3 } from './federation-timing.ts';
import { compare, postJson, ratio, report, startBenchWorker, startTrivialWorker, type Target } from './harness.ts';
import { startWorkerd } from './workerd/serve.ts';

export async function run(): Promise<Record<string, unknown>[]> {
  const jwks = await startJwksServer();
  const w = await startBenchWorker();
  const noBaseline = baselineUnavailable();
  if (noBaseline) console.warn(`federation: ${noBaseline}; measuring the Worker only`);
  let baseline: Baseline | undefined;
  const spec = await workerSpec();
  const trivial = await startTrivialWorker();
  const loop = await startWorkerd({
    modules: [{ name: 'federation-loop.worker.js', path: await bundleBenchWorker('federation-loop') }],
    compatibilityDate: spec.compatibilityDate,
    compatibilityFlags: spec.compatibilityFlags,
  });
  try {
    const loopUrl = loop.url;
    const org = await postJson(`${w.url}/v1/admin/organizations`, w.adminToken, {
      name: 'federation-bench',
      tier: 'enterprise',
    });

    // A partner with one ES256 and one RS256 key, published on the local JWKS server.
    const keys = await Promise.all(
      (['ES256', 'RS256'] as const).map(async (alg) => {
        const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
        return {
          alg,
          kid: `bench-${alg}`,
          privateKey,
          jwk: { ...(await exportJWK(publicKey)), kid: `bench-${alg}`, use: 'sig' },
        };
      }),
    );
    const issuer = `https://bench-${Date.now()}.partner.test`;
    await fetch(`${jwks.url}/control/bench`, {
      method: 'PUT',
      body: JSON.stringify({ json: { keys: keys.map((k) => k.jwk) } }),
    });
    const partner = await postJson(`${w.url}/v1/federation/partners`, w.adminToken, {
      name: 'bench',
      issuer,
      jwks_uri: `${jwks.url}/jwks/bench`,
    });

    const now = Math.floor(Date.now() / 1000);
    const tokens = {} as Record<'ES256' | 'RS256', string>;
    for (const k of keys) {
      tokens[k.alg] = await new SignJWT({
        iss: issuer,
        sub: 'bench-user',
        organization_id: org.organization_id,
        scope: 'read write',
      })
        .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'JWT' })
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(k.privateKey);
    }

    const auth = { authorization: `Bearer ${org.api_key}` };
    const verifyOpts = (alg: 'ES256' | 'RS256') => ({
      method: 'POST' as const,
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ token: tokens[alg] }),
    });
    // Warm up: caches filled, and every route answers as expected.
    for (const alg of ['ES256', 'RS256'] as const) {
      const res = await fetch(`${w.url}/v1/federation/verify`, verifyOpts(alg));
      if (res.status !== 200) throw new Error(`warm-up ${alg}: ${res.status} ${await res.text()}`);
    }
    const gated = await fetch(`${w.url}/v1/federation/verify`, { headers: auth });
    if (gated.status !== 404) throw new Error(`tenant-gated trivial route: ${gated.status}`);

    // The baseline on the same database and Redis, warmed the same way (its JWKS cache filled from the partner).
    if (!noBaseline) {
      baseline = await startBaseline({
        databaseUrl: w.stack.databaseUrl,
        redisUrl: process.env.REDIS_URL || undefined,
      });
      for (const alg of ['ES256', 'RS256'] as const) {
        const res = await fetch(`${baseline.url}/v1/federation/verify`, verifyOpts(alg));
        const text = await res.text();
        if (res.status !== 200 || JSON.parse(text).valid !== true)
          throw new Error(`baseline warm-up ${alg}: ${res.status} ${text}`);
      }
      const bGated = await fetch(`${baseline.url}/v1/federation/verify`, { headers: auth });
      if (bGated.status !== 404) throw new Error(`baseline tenant-gated trivial route: ${bGated.status}`);
    }

    // HTTP, 10 connections, rounds alternating the routes.
    type Route = 'trivial' | 'livez' | 'gated' | 'ES256' | 'RS256' | 'bLivez' | 'bGated' | 'bES256' | 'bRS256';
    const targets: Array<Target & { name: Route }> = [
      { name: 'trivial', url: trivial.url },
      { name: 'livez', url: `${w.url}/livez` },
      { name: 'gated', url: `${w.url}/v1/federation/verify`, headers: auth },
      { name: 'ES256', url: `${w.url}/v1/federation/verify`, ...verifyOpts('ES256') },
      { name: 'RS256', url: `${w.url}/v1/federation/verify`, ...verifyOpts('RS256') },
    ];
    if (baseline) {
      targets.push(
        { name: 'bLivez', url: `${baseline.url}/livez` },
        { name: 'bGated', url: `${baseline.url}/v1/federation/verify`, headers: auth },
        { name: 'bES256', url: `${baseline.url}/v1/federation/verify`, ...verifyOpts('ES256') },
        { name: 'bRS256', url: `${baseline.url}/v1/federation/verify`, ...verifyOpts('RS256') },
      );
    }
    const measured = await compare(targets);
    const http = (name: Route) => {
      const m = measured.get(name)!;
      return {
        ms: 1000 / m.rps,
        rps: m.rps,
        p99: m.p99,
        bad: m.errors + (name === 'gated' || name === 'bGated' ? 0 : m.non2xx),
      };
    };

    // Inside workerd: the service's warm verification and the bare signature check, same token and key.
    const inIsolate = async (alg: 'ES256' | 'RS256') => {
      const k = keys.find((x) => x.alg === alg)!;
      const common = { token: tokens[alg], organizationId: org.organization_id, partner, jwk: k.jwk, alg };
      return pairedLoopMs(loopUrl, common);
    };
    const isolate = { ES256: await inIsolate('ES256'), RS256: await inIsolate('RS256') };

    const livez = http('livez');
    const gate = http('gated');
    const floor = http('trivial');
    const rows: Record<string, unknown>[] = [
      { case: 'trivial Worker GET /', ms_per_req: round3(floor.ms), rps: floor.rps, errors: floor.bad },
      { case: 'GET /livez (trivial)', ms_per_req: round3(livez.ms), rps: livez.rps, errors: livez.bad },
      {
        case: 'GET /v1/federation/verify (tenant gate, 404)',
        ms_per_req: round3(gate.ms),
        rps: gate.rps,
        errors: gate.bad,
      },
    ];
    for (const alg of ['ES256', 'RS256'] as const) {
      const e = http(alg);
      const { service, bare, ratio: isolateRatio } = isolate[alg];
      rows.push({
        case: `POST /v1/federation/verify ${alg} (warm)`,
        ms_per_req: round3(e.ms),
        rps: e.rps,
        p99: e.p99,
        errors: e.bad,
        bare_verify_ms: round3(bare),
        http_added_ms: round3(e.ms - gate.ms),
        http_ratio: ratio(e.ms - gate.ms, bare),
        service_verify_ms: round3(service),
        isolate_ratio: Math.round(isolateRatio * 100) / 100,
      });
    }
    if (baseline) {
      const bLivez = http('bLivez');
      const bGate = http('bGated');
      rows.push(
        { case: 'baseline GET /livez (trivial)', ms_per_req: round3(bLivez.ms), rps: bLivez.rps, errors: bLivez.bad },
        {
          case: 'baseline GET /v1/federation/verify (tenant gate, 404)',
          ms_per_req: round3(bGate.ms),
          rps: bGate.rps,
          errors: bGate.bad,
        },
      );
      for (const alg of ['ES256', 'RS256'] as const) {
        const b = http(alg === 'ES256' ? 'bES256' : 'bRS256');
        const e = http(alg);
        const k = keys.find((x) => x.alg === alg)!;
        const nodeMs = nodeVerifyMs(tokens[alg], k.jwk as Record<string, unknown>, alg);
        rows.push({
          case: `baseline POST /v1/federation/verify ${alg} (warm, JWKS in Redis)`,
          ms_per_req: round3(b.ms),
          rps: b.rps,
          p99: b.p99,
          errors: b.bad,
          node_verify_ms: round3(nodeMs),
          http_added_ms: round3(b.ms - bGate.ms),
          http_ratio: ratio(b.ms - bGate.ms, nodeMs),
          worker_vs_baseline_ms: ratio(e.ms, b.ms),
          worker_vs_baseline_rps: ratio(e.rps, b.rps),
        });
      }
    } else {
      rows.push({ case: 'baseline', note: noBaseline });
    }
    report('federation', rows);
    for (const r of rows.filter((x) => 'isolate_ratio' in x)) {
      console.log(
        `${r.case}: endpoint ${r.ms_per_req} ms/req, tenant-gated trivial ${round3(gate.ms)}, /livez ${round3(livez.ms)}; ` +
          `bare verify ${r.bare_verify_ms} ms. HTTP (endpoint − trivial) / bare = ${r.http_ratio}; ` +
          `in workerd, service verification ${r.service_verify_ms} ms / bare = ${r.isolate_ratio} (goal ≤ 1.5)`,
      );
    }
    console.log(
      `cache: isolate memory + ${w.bindings.UPSTASH_REDIS_REST_URL ? 'Redis' : 'no Redis'}; postgres: ${w.stack.postgresKind}`,
    );
    return rows;
  } finally {
    await baseline?.stop();
    await loop.stop();
    await trivial.stop();
    await w.stop();
    await jwks.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
