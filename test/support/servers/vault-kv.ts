// A local stand-in for HashiCorp Vault's KV secrets engine v2 (Node, started by the global setup), speaking
// the real HTTP API so that node-oidc's real Vault client is exercised:
//   X-Vault-Token header (403 `permission denied` otherwise)
//   POST|PUT /v1/<mount>/data/<path>     { data, options?: { cas } } → { data: { version, created_time, ... } }
//   GET      /v1/<mount>/data/<path>[?version=N] → { data: { data, metadata } }; 404 when absent or deleted
//   DELETE   /v1/<mount>/data/<path>     soft-deletes the latest version
//   GET      /v1/<mount>/metadata/<path> → { data: { current_version, versions: { "<n>": { ... } } } }
//   DELETE   /v1/<mount>/metadata/<path> removes every version and the metadata
//   GET      /v1/sys/health              → 200 { initialized, sealed: false }
// Only the mount given at start exists. A control API (no token) lets tests see what was stored where:
//   GET  /control/log                   → Recorded[] (every KV call, in order, with the data written)
//   GET  /control/paths                 → { [path]: { current_version, versions: { n: { data, deleted } } } }
//   PUT  /control/outage                { on: boolean }: every /v1 call answers 503 while on
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.ts';

export interface VaultRecorded {
  method: string;
  kind: 'data' | 'metadata' | 'other';
  path: string;
  version?: number;
  data?: Record<string, unknown>;
  status: number;
}

interface Version {
  data: Record<string, unknown>;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface VaultStandIn {
  url: string;
  token: string;
  mount: string;
  stop(): Promise<void>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the Vault KV v2 stand-in (test/support/servers/vault-kv.ts). */
    vaultUrl: string;
    /** Its X-Vault-Token (node-oidc's VAULT_TOKEN), for tests of the Vault client itself. */
    vaultToken: string;
  }
}

export async function startVaultStandIn(opts: { token: string; mount?: string; port?: number }): Promise<VaultStandIn> {
  const mount = opts.mount ?? 'secret';
  const store = new Map<string, Version[]>();
  const log: VaultRecorded[] = [];
  let outage = false;

  const json = (res: http.ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) return void res.writeHead(status).end();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const metadataOf = (versions: Version[]) => ({
    current_version: versions.length,
    versions: Object.fromEntries(
      versions.map((v, i) => [
        String(i + 1),
        { created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed },
      ]),
    ),
  });

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://vault');
    const body = await readBody(req);
    if (url.pathname.startsWith('/control/')) {
      if (req.method === 'GET' && url.pathname === '/control/log') return json(res, 200, log);
      if (req.method === 'GET' && url.pathname === '/control/paths') {
        return json(
          res,
          200,
          Object.fromEntries(
            [...store].map(([p, versions]) => [
              p,
              {
                current_version: versions.length,
                versions: Object.fromEntries(
                  versions.map((v, i) => [String(i + 1), { data: v.data, deleted: v.deletion_time !== '' }]),
                ),
              },
            ]),
          ),
        );
      }
      if (req.method === 'PUT' && url.pathname === '/control/outage') {
        outage = Boolean((JSON.parse(body || '{}') as { on?: boolean }).on);
        return json(res, 204);
      }
      return json(res, 404, { errors: [] });
    }
    if (req.method === 'GET' && url.pathname === '/v1/sys/health') {
      return outage
        ? json(res, 503, { sealed: true })
        : json(res, 200, { initialized: true, sealed: false, standby: false });
    }
    const record = (entry: Omit<VaultRecorded, 'status'>, status: number, out?: unknown) => {
      log.push({ ...entry, status });
      json(res, status, out);
    };
    if (outage) return json(res, 503, { errors: ['Vault is sealed'] });
    if (req.headers['x-vault-token'] !== opts.token) return json(res, 403, { errors: ['permission denied'] });

    const m = /^\/v1\/([^/]+)\/(data|metadata)\/(.+)$/.exec(url.pathname);
    if (!m || m[1] !== mount) return json(res, 404, { errors: [`no handler for route "${url.pathname}"`] });
    const kind = m[2] as 'data' | 'metadata';
    const path = m[3]!;
    const versions = store.get(path);

    if (kind === 'data' && (req.method === 'POST' || req.method === 'PUT')) {
      let parsed: { data?: unknown; options?: { cas?: number } };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        return record({ method: req.method, kind, path }, 400, { errors: ['failed to parse JSON input'] });
      }
      if (!parsed.data || typeof parsed.data !== 'object') {
        return record({ method: req.method, kind, path }, 400, { errors: ['no data provided'] });
      }
      const list = versions ?? [];
      if (parsed.options?.cas !== undefined && parsed.options.cas !== list.length) {
        return record({ method: req.method, kind, path }, 400, {
          errors: ['check-and-set parameter did not match the current version'],
        });
      }
      const v: Version = {
        data: parsed.data as Record<string, unknown>,
        created_time: new Date().toISOString(),
        deletion_time: '',
        destroyed: false,
      };
      list.push(v);
      store.set(path, list);
      return record({ method: req.method, kind, path, version: list.length, data: v.data }, 200, {
        data: {
          created_time: v.created_time,
          deletion_time: '',
          destroyed: false,
          version: list.length,
          custom_metadata: null,
        },
      });
    }
    if (kind === 'data' && req.method === 'GET') {
      const wanted = url.searchParams.has('version')
        ? Number(url.searchParams.get('version'))
        : (versions?.length ?? 0);
      const n = wanted === 0 ? (versions?.length ?? 0) : wanted;
      const v = versions?.[n - 1];
      if (!v) return record({ method: 'GET', kind, path, version: n }, 404, { errors: [] });
      const metadata = {
        created_time: v.created_time,
        deletion_time: v.deletion_time,
        destroyed: v.destroyed,
        version: n,
      };
      if (v.deletion_time || v.destroyed)
        return record({ method: 'GET', kind, path, version: n }, 404, { data: { data: null, metadata } });
      return record({ method: 'GET', kind, path, version: n }, 200, { data: { data: v.data, metadata } });
    }
    if (kind === 'data' && req.method === 'DELETE') {
      const v = versions?.[versions.length - 1];
      if (v) v.deletion_time = new Date().toISOString();
      return record({ method: 'DELETE', kind, path }, 204);
    }
    if (kind === 'metadata' && req.method === 'GET') {
      if (!versions) return record({ method: 'GET', kind, path }, 404, { errors: [] });
      return record({ method: 'GET', kind, path }, 200, { data: metadataOf(versions) });
    }
    if (kind === 'metadata' && req.method === 'DELETE') {
      store.delete(path);
      return record({ method: 'DELETE', kind, path }, 204);
    }
    return json(res, 405, { errors: ['unsupported operation'] });
  });

  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token: opts.token,
    mount,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
