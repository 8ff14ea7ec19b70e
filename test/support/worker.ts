// Helpers for tests that run inside workerd and call the real Worker through its default export.
import { env, exports } from 'cloudflare:workers';

export const BASE = 'https://idp.test';
export const ADMIN_TOKEN = (env as unknown as Record<string, string>).ADMIN_TOKEN!;

export interface CallOptions {
  body?: unknown;
  /** Sent as-is (a raw string body, e.g. malformed JSON). */
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  } else if (opts.rawBody !== undefined) {
    headers['content-type'] ??= 'application/json';
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
}

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export interface Org {
  organization_id: string;
  api_key: string;
  tier: string;
}

let orgCounter = 0;
export async function createOrg(tier?: string): Promise<Org> {
  const res = await call('POST', '/v1/admin/organizations', {
    token: ADMIN_TOKEN,
    body: { name: `org-${Date.now()}-${++orgCounter}`, ...(tier ? { tier } : {}) },
  });
  if (res.status !== 201) throw new Error(`createOrg: ${res.status} ${await res.text()}`);
  return json<Org>(res);
}

export const agentInput = (n = 0) => ({
  email: `agent${n}@example.com`,
  owner: `team-${n}`,
  agent_type: 'assistant',
  capabilities: ['search', 'summarize'],
});

export async function createAgent(org: Org, input: Record<string, unknown> = agentInput()): Promise<any> {
  const res = await call('POST', '/v1/agents', { token: org.api_key, body: input });
  if (res.status !== 201) throw new Error(`createAgent: ${res.status} ${await res.text()}`);
  return json(res);
}

/** Asserts an RFC 9457 problem response and returns its body. */
export async function expectProblem(res: Response, status: number, code: string): Promise<any> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status} ${code}, got ${res.status}: ${text}`);
  if (!res.headers.get('content-type')?.startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${res.headers.get('content-type')}: ${text}`);
  }
  const body = JSON.parse(text);
  if (body.code !== code) throw new Error(`expected code ${code}, got ${body.code}: ${text}`);
  return body;
}
