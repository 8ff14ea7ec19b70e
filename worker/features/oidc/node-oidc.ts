import { getRandom } from '@cloudflare/containers';
import type { NodeOidcContainer } from '../../../durable-objects/node-oidc.container.ts';
import type { Config } from '../../platform/config.ts';
import { AppError } from '../../platform/errors.ts';

/** Sends one request to node-oidc; the URL's origin is ignored by the container transport. */
export type NodeOidcTransport = (request: Request) => Promise<Response>;

const INTERNAL_TIMEOUT_MS = 5000;
const FORWARD_TIMEOUT_MS = 10_000;

export interface InternalResult<T> {
  status: number;
  body: T | undefined;
}

/**
 * The Worker's link to node-oidc: through `OIDC_ORIGIN` (a plain fetch; local development and tests) or,
 * without it, through the NODE_OIDC Cloudflare Container binding (production). Both the public proxy
 * (`forward`) and the internal API (`internal`, with INTERNAL_TOKEN) go through it.
 */
export class NodeOidc {
  constructor(
    private readonly transport: NodeOidcTransport,
    private readonly internalToken: string | undefined,
  ) {}

  /** The configured link, or undefined when neither OIDC_ORIGIN nor the container binding is there. */
  static fromEnv(config: Config, env: { NODE_OIDC?: DurableObjectNamespace<NodeOidcContainer> }): NodeOidc | undefined {
    if (config.OIDC_ORIGIN) {
      const origin = config.OIDC_ORIGIN.replace(/\/+$/, '');
      return new NodeOidc((req) => {
        const url = new URL(req.url);
        return fetch(new Request(`${origin}${url.pathname}${url.search}`, req));
      }, config.INTERNAL_TOKEN);
    }
    const ns = env.NODE_OIDC;
    if (ns) {
      return new NodeOidc(
        async (req) => (await getRandom(ns, config.OIDC_CONTAINER_INSTANCES)).fetch(req),
        config.INTERNAL_TOKEN,
      );
    }
    return undefined;
  }

  /**
   * Sends a request (already shaped by the proxy) to node-oidc at `path` (+ query). Rejects on network
   * errors and after 10 s without a response.
   */
  forward(pathAndQuery: string, init: RequestInit): Promise<Response> {
    return this.transport(
      new Request(`http://node-oidc${pathAndQuery}`, { ...init, signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS) }),
    );
  }

  /**
   * Calls an internal endpoint with INTERNAL_TOKEN and a JSON body; answers the status and the parsed JSON
   * body (undefined when empty). Throws `AppError(503, 'key_custody_unavailable')` when node-oidc cannot be
   * reached, times out (5 s), answers 5xx, or no INTERNAL_TOKEN is configured. Other statuses are the
   * caller's to interpret.
   */
  async internal<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    timeoutMs = INTERNAL_TIMEOUT_MS,
  ): Promise<InternalResult<T>> {
    if (!this.internalToken) throw unavailable('INTERNAL_TOKEN is not configured');
    let res: Response;
    try {
      res = await this.transport(
        new Request(`http://node-oidc${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.internalToken}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        }),
      );
    } catch {
      throw unavailable('node-oidc cannot be reached');
    }
    if (res.status >= 500) {
      await res.body?.cancel();
      throw unavailable(`node-oidc answered ${res.status}`);
    }
    const text = await res.text();
    let parsed: T | undefined;
    try {
      parsed = text ? (JSON.parse(text) as T) : undefined;
    } catch {
      throw unavailable('node-oidc answered a body that is not JSON');
    }
    return { status: res.status, body: parsed };
  }

  /** node-oidc's own health (`GET /internal/health`, database and Vault): 'ok' or 'error'. */
  async health(timeoutMs = INTERNAL_TIMEOUT_MS): Promise<'ok' | 'error'> {
    try {
      const { status } = await this.internal('GET', '/internal/health', undefined, timeoutMs);
      return status === 200 ? 'ok' : 'error';
    } catch {
      return 'error';
    }
  }
}

// The detail names the failing link, never a key, secret, path or token.
const unavailable = (detail: string) =>
  new AppError('key_custody_unavailable', `Key custody is unavailable: ${detail}`);

/**
 * Where new DID private keys and webhook signing secrets go: KEY_CUSTODY when set, otherwise `vault` when
 * VAULT_ADDR is set (node-oidc then has Vault), otherwise `local` (AES-256-GCM in Postgres).
 */
export function secretCustodyMode(config: Pick<Config, 'KEY_CUSTODY' | 'VAULT_ADDR'>): 'local' | 'vault' {
  return config.KEY_CUSTODY ?? (config.VAULT_ADDR ? 'vault' : 'local');
}
