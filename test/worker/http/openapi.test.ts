import { Validator } from '@cfworker/json-schema';
// The OpenAPI 3.1 meta-schema as published (spec.openapis.org), shipped by @seriousme/openapi-schema-validator.
// That package's own validator compiles schemas with `new Function`, which workerd forbids; @cfworker/json-schema
// interprets them instead.
import oas31Schema from '@seriousme/openapi-schema-validator/schemas/v3.1/schema.json';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../worker/app.ts';
import { call, json } from '../../support/worker.ts';

/** Routes that are not API operations: the document itself and its reference page. */
const NOT_OPERATIONS = new Set(['GET /openapi.json', 'GET /docs']);

/** `/agents/:agent_id/did.json` → `/agents/{agent_id}/did.json` */
const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = await json(res);
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = new Validator(oas31Schema as object, '2020-12', false).validate(doc);
    expect(result.errors.slice(0, 5)).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator does catch a broken document.
    const broken = { ...doc, info: { title: 'x' }, paths: { 'no-slash': {} } };
    expect(new Validator(oas31Schema as object, '2020-12', false).validate(broken).valid).toBe(false);
  });

  it('describes every route the app registers, and nothing else', async () => {
    const doc = await json(await call('GET', '/openapi.json'));
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(item)) {
        if (['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(method)) {
          documented.add(`${method.toUpperCase()} ${path}`);
        }
      }
    }
    const exact = new Set<string>();
    const wildcards: Array<{ method: string; prefix: string }> = [];
    for (const r of createApp().routes) {
      if (r.path.endsWith('*')) {
        // Middleware (app.use) and catch-all handlers (the /oidc proxy, DID resolution of any DID).
        wildcards.push({ method: r.method, prefix: r.path.slice(0, -1) });
        continue;
      }
      if (r.method === 'ALL') continue;
      const key = `${r.method} ${toOpenApiPath(r.path)}`;
      if (!NOT_OPERATIONS.has(key)) exact.add(key);
    }
    // HEAD and OPTIONS handlers registered for CORS/preflight are covered by their GET operation.
    const undocumented = [...exact].filter((k) => !documented.has(k) && !/^(HEAD|OPTIONS) /.test(k));
    expect(undocumented).toEqual([]);
    // Every documented operation has a handler: an exact route, or a catch-all handler under its prefix.
    const covered = (k: string) => {
      if (exact.has(k)) return true;
      const [method, path] = k.split(' ') as [string, string];
      return wildcards.some(
        (w) =>
          (w.method === method || w.method === 'ALL') &&
          w.prefix.length > 1 &&
          path.startsWith(w.prefix) &&
          !w.prefix.startsWith('/v1/'),
      );
    };
    expect([...documented].filter((k) => !covered(k))).toEqual([]);
    // The catch-all handlers are documented too.
    for (const prefix of ['/oidc/', '/1.0/identifiers/']) {
      expect([...documented].some((k) => k.split(' ')[1]!.startsWith(prefix))).toBe(true);
    }
  });

  it('documents problem+json errors and the security schemes', async () => {
    const doc = await json(await call('GET', '/openapi.json'));
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(['tenantApiKey', 'adminToken']));
    const createAgent = doc.paths['/v1/agents'].post;
    expect(createAgent.security).toEqual([{ tenantApiKey: [] }]);
    expect(createAgent.responses['400'].content['application/problem+json']).toBeDefined();
    expect(createAgent.responses['401'].content['application/problem+json']).toBeDefined();
  });

  it('serves an interactive reference page at /docs', async () => {
    const res = await call('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('/openapi.json');
  });
});
