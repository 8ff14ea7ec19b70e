import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { bindings } from '../../support/clocked-app.ts';
import { ISSUER, inProcessWorker } from '../../support/oidc.ts';
import { call, expectProblem, json } from '../../support/worker.ts';

const ORIGIN = bindings.OIDC_ORIGIN as string;
const INTERNAL_TOKEN = bindings.INTERNAL_TOKEN as string;

/** Straight to node-oidc (as only the Worker should): its internal API. */
const direct = (path: string, init: RequestInit = {}) => fetch(`${ORIGIN}${path}`, init);

describe('/oidc/* never reaches node-oidc internals', () => {
  // Spellings of "/internal/..." behind the /oidc/ prefix. The URL parser resolves some (`..`, `%2e%2e`,
  // backslashes) before the Worker sees them; the rest stay odd paths under /oidc/ that match nothing.
  const tricks = [
    '/oidc/../internal/health',
    '/oidc/%2e%2e/internal/health',
    '/oidc/.%2E/internal/health',
    '/oidc/..%2finternal%2fhealth',
    '/oidc/..%2Finternal/health',
    '/oidc/%2e%2e%2finternal%2fhealth',
    '/oidc/%252e%252e/internal/health',
    '/oidc//internal/health',
    '/oidc/%2Finternal/health',
    '/oidc/internal/health',
    '/oidc/jwks/../../internal/health',
    '/oidc/jwks%2f..%2f..%2finternal%2fhealth',
    '/oidc\\..\\internal\\health',
    '/oidc/%5c..%5cinternal%5chealth',
    '/oidc/.well-known/../../internal/health',
  ];

  it.each(tricks)('GET %s (even with the internal token) is not node-oidc health', async (path) => {
    const res = await exports.default.fetch(
      new Request(`https://idp.test${path}`, { headers: { authorization: `Bearer ${INTERNAL_TOKEN}` } }),
    );
    const text = await res.text();
    expect(res.status).toBe(404);
    expect(text).not.toContain('database');
  });

  it.each(['/oidc/../internal/keys/sign', '/oidc/..%2finternal%2fkeys%2fsign', '/oidc/internal/webhook-secrets/read'])(
    'POST %s cannot reach the Vault endpoints',
    async (path) => {
      const res = await exports.default.fetch(
        new Request(`https://idp.test${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${INTERNAL_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ path: 'agentidp/webhooks/x/y/secret' }),
        }),
      );
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('secret"');
    },
  );

  it('documents the forwarded endpoints in the OpenAPI document', async () => {
    const doc = await json(await call('GET', '/openapi.json'));
    for (const p of ['/oidc/.well-known/openid-configuration', '/oidc/jwks', '/oidc/token'])
      expect(doc.paths).toHaveProperty([p]);
  });

  it('answers 404 for provider paths that are not forwarded, 405 for other methods', async () => {
    await expectProblem(await call('GET', '/oidc/auth'), 404, 'not_found');
    await expectProblem(await call('GET', '/oidc/token'), 405, 'method_not_allowed');
    await expectProblem(await call('POST', '/oidc/jwks'), 405, 'method_not_allowed');
  });

  it('refuses, at node-oidc, an internal call that came through the public proxy', async () => {
    const res = await direct('/internal/health', {
      headers: { authorization: `Bearer ${INTERNAL_TOKEN}`, 'x-agentidp-public-proxy': '1' },
    });
    expect(res.status).toBe(404);
  });

  it('does not route /oidc/internal/* at node-oidc to the internal API', async () => {
    const res = await direct('/oidc/internal/health', { headers: { authorization: `Bearer ${INTERNAL_TOKEN}` } });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('database');
  });

  it('builds provider URLs from the request host, not from client-sent X-Forwarded-* headers', async () => {
    const res = await exports.default.fetch(
      new Request(`${ISSUER}/.well-known/openid-configuration`, {
        headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
      }),
    );
    expect(res.status).toBe(200);
    const meta = await json(res);
    expect(meta.issuer).toBe(ISSUER);
    expect(meta.token_endpoint).toBe(`${ISSUER}/token`);
    expect(meta.jwks_uri).toBe(`${ISSUER}/jwks`);
  });
});

describe('node-oidc internal API authentication', () => {
  it('answers 401 without a token or with a wrong one, on every internal endpoint', async () => {
    const endpoints: Array<[string, string]> = [
      ['GET', '/internal/health'],
      ['POST', '/internal/keys/store'],
      ['POST', '/internal/keys/sign'],
      ['POST', '/internal/keys/delete'],
      ['POST', '/internal/webhook-secrets/store'],
      ['POST', '/internal/webhook-secrets/read'],
      ['POST', '/internal/webhook-secrets/delete'],
    ];
    for (const [method, path] of endpoints) {
      for (const auth of [
        undefined,
        `Bearer ${INTERNAL_TOKEN}x`,
        `Bearer ${INTERNAL_TOKEN.slice(0, -1)}`,
        `Basic ${INTERNAL_TOKEN}`,
        'Bearer ',
      ]) {
        const res = await direct(path, {
          method,
          headers: { ...(auth ? { authorization: auth } : {}), 'content-type': 'application/json' },
          body: method === 'POST' ? '{}' : undefined,
        });
        expect(res.status, `${method} ${path} with ${auth?.slice(0, 8)}`).toBe(401);
        expect((await json(res)).code).toBe('unauthorized');
      }
    }
  });

  it('answers the health check with the right token', async () => {
    const res = await direct('/internal/health', { headers: { authorization: `Bearer ${INTERNAL_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ status: 'ok', database: 'ok', vault: 'ok' });
  });

  it('is reported by /healthz, and reported as failing when the Worker holds a wrong INTERNAL_TOKEN', async () => {
    const ok = await json(await call('GET', '/healthz'));
    expect(ok.checks.oidc).toBe('ok');
    const worker = inProcessWorker({ env: { INTERNAL_TOKEN: `${INTERNAL_TOKEN}-wrong` } });
    const res = await worker(new Request('https://idp.test/healthz'));
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.checks.oidc).toBe('error');
    expect(body.status).toBe('degraded');
  });

  it('reports oidc as disabled when node-oidc is not configured', async () => {
    const worker = inProcessWorker({ env: { OIDC_ORIGIN: '', NODE_OIDC: undefined } });
    const body = await json(await worker(new Request('https://idp.test/healthz')));
    expect(body.checks.oidc).toBe('disabled');
    await expectProblem(await worker(new Request(`${ISSUER}/jwks`)), 503, 'oidc_unavailable');
  });
});

describe('provider URLs', () => {
  it('share the origin of OIDC_ISSUER whatever host name the Worker was called by', async () => {
    const res = await exports.default.fetch(
      new Request('https://other-name.example/oidc/.well-known/openid-configuration'),
    );
    expect(res.status).toBe(200);
    const meta = await json(res);
    expect(meta.issuer).toBe(ISSUER);
    expect(meta.token_endpoint).toBe(`${ISSUER}/token`);
  });
});
