// Helpers for the webhook tests: local receivers (see servers/webhook-receivers.ts), subscriptions, the
// dispatcher objects, and Standard Webhooks verification with the `standardwebhooks` package.
import { env } from 'cloudflare:workers';
import { Webhook } from 'standardwebhooks';
import { inject, vi } from 'vitest';
import type { WebhookDispatcher } from '../../durable-objects/webhook-dispatcher.do.ts';
import type { Recorded } from './servers/webhook-receivers.ts';
import { call, json, type Org } from './worker.ts';

export type { Recorded };

type Answer = { status: number; headers?: Record<string, string> } | { hang: true };

let counter = 0;

/** A fresh named receiver on the local receiver server. */
export function receiver(label = 'r') {
  const base = inject('webhookReceiverUrl');
  const name = `${label}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    name,
    url: `${base}/hooks/${name}`,
    /** Answers `sequence` to the first requests, then `otherwise` forever. */
    async script(sequence: Answer[], otherwise: Answer = { status: 200 }): Promise<void> {
      const res = await fetch(`${base}/control/${name}`, {
        method: 'PUT',
        body: JSON.stringify({ sequence, otherwise }),
      });
      if (res.status !== 204) throw new Error(`receiver script: ${res.status}`);
    },
    async requests(): Promise<Recorded[]> {
      return (await fetch(`${base}/control/${name}/requests`)).json() as Promise<Recorded[]>;
    },
  };
}

export async function createWebhook(org: Org, url: string, events: string[] = ['agent.created']): Promise<any> {
  const res = await call('POST', '/v1/webhooks', { token: org.api_key, body: { name: 'test hook', url, events } });
  if (res.status !== 201) throw new Error(`createWebhook: ${res.status} ${await res.text()}`);
  return json(res);
}

export async function deliveries(org: Org, subscriptionId: string): Promise<any[]> {
  const res = await call('GET', `/v1/webhooks/${subscriptionId}/deliveries?limit=100`, { token: org.api_key });
  if (res.status !== 200) throw new Error(`deliveries: ${res.status} ${await res.text()}`);
  return (await json(res)).data;
}

export async function subscription(org: Org, subscriptionId: string): Promise<any> {
  return json(await call('GET', `/v1/webhooks/${subscriptionId}`, { token: org.api_key }));
}

export const dispatcher = (subscriptionId: string) =>
  (env as unknown as { WEBHOOK_DISPATCHER: DurableObjectNamespace<WebhookDispatcher> }).WEBHOOK_DISPATCHER.getByName(
    subscriptionId,
  );

/**
 * Polls `get` until `done` holds. This waits for work the Worker runs in the background (after-commit kicks,
 * alarms); it never stands in for the passing of time, which tests drive with `runDue(id, nowMs)`.
 */
export async function eventually<T>(
  get: () => Promise<T>,
  done: (v: T) => boolean,
  what = 'condition',
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Verifies a recorded request with the `standardwebhooks` package as a receiver holding `secret` would, its
 * clock at `atMs` (default: now). Returns the parsed payload; throws WebhookVerificationError otherwise.
 */
export function verify(secret: string, req: Recorded, atMs?: number): any {
  const wh = new Webhook(secret);
  if (atMs === undefined) return wh.verify(req.body, req.headers);
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(atMs);
  try {
    return wh.verify(req.body, req.headers);
  } finally {
    vi.useRealTimers();
  }
}
