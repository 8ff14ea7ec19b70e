// Who may call each operation, checked against the OpenAPI document: the `security` a contract declares is
// the gate the Worker enforces, because both come from the same audience object (worker/http/audience.ts).
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, createOrg, json } from '../../support/worker.ts';

type Operation = { security?: Array<Record<string, string[]>> };

async function operations(): Promise<Array<{ method: string; path: string; schemes: string[] }>> {
  const doc = await json(await call('GET', '/openapi.json'));
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const [method, op] of Object.entries(item)) {
      const concrete = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      ops.push({ method: method.toUpperCase(), path: concrete, schemes: (op.security ?? []).flatMap(Object.keys) });
    }
  }
  return ops;
}

describe('audience of every operation', () => {
  it('refuses tenant operations without an API key, and with the operator token, as 401 with WWW-Authenticate', async () => {
    const tenantOps = (await operations()).filter((o) => o.schemes.includes('tenantApiKey'));
    expect(tenantOps.length).toBeGreaterThan(20);
    for (const op of tenantOps) {
      for (const token of [undefined, ADMIN_TOKEN]) {
        const res = await call(op.method, op.path, { token, body: op.method === 'GET' ? undefined : {} });
        expect(res.status, `${op.method} ${op.path}`).toBe(401);
        expect(res.headers.get('www-authenticate'), `${op.method} ${op.path}`).toMatch(/^Bearer/);
        await res.arrayBuffer();
      }
    }
  });

  it('refuses operator operations without the operator token, and with a tenant API key', async () => {
    const org = await createOrg();
    const operatorOps = (await operations()).filter((o) => o.schemes.includes('adminToken'));
    expect(operatorOps.map((o) => `${o.method} ${o.path}`)).toContain('POST /v1/admin/organizations');
    for (const op of operatorOps) {
      for (const token of [undefined, org.api_key]) {
        const res = await call(op.method, op.path, { token, body: op.method === 'GET' ? undefined : {} });
        expect(res.status, `${op.method} ${op.path}`).toBe(401);
        await res.arrayBuffer();
      }
    }
  });

  it('serves public operations without credentials (never 401)', async () => {
    const publicOps = (await operations()).filter((o) => o.schemes.length === 0 && o.method === 'GET');
    expect(publicOps.map((o) => o.path)).toContain('/livez');
    for (const op of publicOps) {
      const res = await call(op.method, op.path);
      expect(res.status, `${op.method} ${op.path}`).not.toBe(401);
      await res.arrayBuffer();
    }
  });
});
