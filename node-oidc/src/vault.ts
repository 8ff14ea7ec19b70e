// A small client for HashiCorp Vault's KV secrets engine, version 2 (the only Vault API we use):
//   write   POST   /v1/<mount>/data/<path>       { data }            → { data: { version, ... } }
//   read    GET    /v1/<mount>/data/<path>[?version=N]               → { data: { data, metadata } }
//   remove  DELETE /v1/<mount>/metadata/<path>   every version and the metadata, permanently
// Authenticated with the X-Vault-Token header. Paths are checked here so that no caller (even one holding
// INTERNAL_TOKEN) can reach outside `agentidp/`.
import type { VaultConfig } from './config.ts';

const TIMEOUT_MS = 5000;
/** `agentidp/` then segments of letters, digits, `-`, `_`, `.`, `:` — no empty, `.` or `..` segment. */
const SAFE_PATH = /^agentidp(\/(?!\.{1,2}(\/|$))[A-Za-z0-9_.:-]+)+$/;

export class VaultError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'VaultError';
    this.status = status;
  }
}

export interface VaultSecret<T> {
  data: T;
  version: number;
}

/** Throws TypeError for a path outside `agentidp/` or with empty, `.` or `..` segments. */
export function assertSafePath(path: string): void {
  if (typeof path !== 'string' || path.length > 512 || !SAFE_PATH.test(path)) throw new TypeError('invalid vault path');
}

export class VaultClient {
  readonly #cfg: VaultConfig;
  readonly #fetch: typeof fetch;

  constructor(cfg: VaultConfig, fetchImpl: typeof fetch = (input, init) => fetch(input, init)) {
    this.#cfg = cfg;
    this.#fetch = fetchImpl;
  }

  /** Writes a new version of the secret at `path`; returns that version number. Throws VaultError. */
  async write(path: string, data: Record<string, unknown>): Promise<number> {
    const body = await this.#call<{ data?: { version?: number } }>('POST', 'data', path, { data });
    const version = body?.data?.version;
    if (!Number.isInteger(version)) throw new VaultError(502, 'vault answered a write without a version');
    return version!;
  }

  /**
   * Reads the latest (or the given) version of the secret at `path`; undefined when the path, or that
   * version, does not exist or was deleted. Throws VaultError for anything else.
   */
  async read<T = Record<string, unknown>>(path: string, version?: number): Promise<VaultSecret<T> | undefined> {
    const query = version === undefined ? '' : `?version=${encodeURIComponent(String(version))}`;
    const body = await this.#call<{ data?: { data?: T | null; metadata?: { version?: number } } }>(
      'GET',
      'data',
      path,
      undefined,
      query,
    );
    if (body === undefined || body.data?.data == null) return undefined;
    return { data: body.data.data, version: body.data.metadata?.version ?? version ?? 0 };
  }

  /** Removes every version of `path` and its metadata. Succeeds when the path does not exist. */
  async remove(path: string): Promise<void> {
    await this.#call('DELETE', 'metadata', path);
  }

  /** Vault's unauthenticated health endpoint: true when it is initialized, unsealed and active. */
  async healthy(): Promise<boolean> {
    try {
      const res = await this.#fetch(`${this.#cfg.addr}/v1/sys/health`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      return res.status === 200 || res.status === 429;
    } catch {
      return false;
    }
  }

  /** One KV v2 call. 404 → undefined; other non-2xx → VaultError (with Vault's status, no body echoed). */
  async #call<T>(
    method: string,
    kind: 'data' | 'metadata',
    path: string,
    body?: unknown,
    query = '',
  ): Promise<T | undefined> {
    assertSafePath(path);
    const url = `${this.#cfg.addr}/v1/${this.#cfg.mount}/${kind}/${path}${query}`;
    const headers: Record<string, string> = { 'x-vault-token': this.#cfg.token };
    if (this.#cfg.namespace) headers['x-vault-namespace'] = this.#cfg.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new VaultError(503, `vault unreachable: ${(err as Error).name}`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new VaultError(res.status, `vault ${method} ${kind} failed with ${res.status}`);
    }
    if (res.status === 204) return undefined;
    const text = await res.text();
    return text ? (JSON.parse(text) as T) : undefined;
  }
}
