// A local stand-in for the part of Stripe's API the Worker calls (Node, started by the global setup). The real
// `stripe` client is pointed at it through STRIPE_API_BASE. It answers `POST /v1/checkout/sessions` the way
// Stripe does: form-encoded parameters (`line_items[0][price]`, `metadata[orgId]`), Bearer secret key, a JSON
// Checkout Session, Stripe-shaped errors (`{ error: { type, code, message, param } }`), and Idempotency-Key
// semantics: the first result for a key is saved and replayed (`Idempotent-Replayed: true`); the same key with
// different parameters is a 400 `idempotency_error`.
//
// It also answers `GET /v1/subscriptions/{id}` as Stripe does: the subscription as the test last set it, or a
// 404 `resource_missing`.
//
// Control API for tests (the Worker never calls these):
//   GET /__control/requests                        → Recorded[] (every API request, in arrival order)
//   PUT /__control/subscriptions/{id} { status, metadata?, customer?, price?, current_period_end? }
//        sets the subscription's current state (what Stripe's API answers for it from then on)
//   PUT /__control/failures { client_reference_id, status, times, type?, message? }
//        the next `times` session requests for that organization (or fetches of the subscription with that
//        id) fail with `status` before any work is done
//        (like a gateway error: nothing is saved under the idempotency key, so a retry can succeed).

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../../scripts/stack/free-port.ts';
import { readBody } from './read-body.ts';

export interface StripePlan {
  port: number;
  secretKey: string;
  webhookSecret: string;
  prices: { pro: string; enterprise: string; fallback: string };
  /** Worker bindings: STRIPE_API_BASE, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PRICE_ID*. */
  bindings: Record<string, string>;
}

/** Ports and fake credentials, generated per run (never committed). */
export async function planStripeStandIn(): Promise<StripePlan> {
  const port = await freePort();
  const secretKey = `sk_test_${randomBytes(24).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
  const prices = { pro: 'price_test_pro', enterprise: 'price_test_enterprise', fallback: 'price_test_subscription' };
  return {
    port,
    secretKey,
    webhookSecret,
    prices,
    bindings: {
      STRIPE_API_BASE: `http://127.0.0.1:${port}`,
      STRIPE_SECRET_KEY: secretKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_PRICE_ID_PRO: prices.pro,
      STRIPE_PRICE_ID_ENTERPRISE: prices.enterprise,
      STRIPE_PRICE_ID: prices.fallback,
    },
  };
}

type Params = { [key: string]: string | Params | Params[] | string[] };

export interface Recorded {
  method: string;
  path: string;
  /** Whether `Authorization: Bearer <the planned secret key>` was sent (the key itself is not recorded). */
  authorized: boolean;
  idempotency_key: string | null;
  content_type: string | null;
  stripe_version: string | null;
  params: Params;
  status: number;
  replayed: boolean;
  session_id: string | null;
}

interface Failure {
  status: number;
  times: number;
  type: string;
  message: string;
}

/** Parses Stripe's form encoding (`a[b][0][c]=v`) into nested objects; all-index objects become arrays. */
export function parseStripeForm(body: string): Params {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.replace(/\]/g, '').split('[');
    let node = root;
    path.forEach((part, i) => {
      if (i === path.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as Record<string, unknown>;
    });
  }
  const arrays = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    const entries = Object.entries(v).map(([k, x]) => [k, arrays(x)] as const);
    if (entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k))) {
      return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, x]) => x);
    }
    return Object.fromEntries(entries);
  };
  return arrays(root) as Params;
}

const stripeError = (type: string, message: string, extra: Record<string, string> = {}) => ({
  error: { type, message, ...extra },
});

export interface StripeStandIn {
  url: string;
  stop(): Promise<void>;
}

export async function startStripeStandIn(plan: StripePlan): Promise<StripeStandIn> {
  const recorded: Recorded[] = [];
  const saved = new Map<string, { body: string; status: number; json: unknown }>();
  const failures = new Map<string, Failure>();
  const subscriptions = new Map<string, Record<string, unknown>>();
  const knownPrices = new Set(Object.values(plan.prices));

  function createSession(params: Params): { status: number; json: unknown } {
    const mode = params.mode;
    if (typeof mode !== 'string')
      return {
        status: 400,
        json: stripeError('invalid_request_error', 'Missing required param: mode.', {
          code: 'parameter_missing',
          param: 'mode',
        }),
      };
    if (!['payment', 'setup', 'subscription'].includes(mode)) {
      return { status: 400, json: stripeError('invalid_request_error', `Invalid mode: ${mode}`, { param: 'mode' }) };
    }
    const items = Array.isArray(params.line_items) ? (params.line_items as Params[]) : [];
    if (mode === 'subscription' && items.length === 0) {
      return {
        status: 400,
        json: stripeError('invalid_request_error', 'line_items is required in subscription mode.', {
          param: 'line_items',
        }),
      };
    }
    for (const [i, item] of items.entries()) {
      if (typeof item.price !== 'string' || !knownPrices.has(item.price)) {
        return {
          status: 400,
          json: stripeError('invalid_request_error', `No such price: '${String(item.price)}'`, {
            code: 'resource_missing',
            param: `line_items[${i}][price]`,
          }),
        };
      }
    }
    const id = `cs_test_${randomBytes(24).toString('base64url')}`;
    const created = Math.floor(Date.now() / 1000);
    return {
      status: 200,
      json: {
        id,
        object: 'checkout.session',
        mode,
        status: 'open',
        payment_status: 'unpaid',
        ui_mode: 'hosted',
        url: `https://checkout.stripe.com/c/pay/${id}#test`,
        client_reference_id: params.client_reference_id ?? null,
        metadata: params.metadata ?? {},
        success_url: params.success_url ?? null,
        cancel_url: params.cancel_url ?? null,
        customer: null,
        subscription: null,
        livemode: false,
        created,
        expires_at: created + 86_400,
      },
    };
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://stripe');
      const body = await readBody(req);
      const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, {
          'content-type': 'application/json',
          'request-id': `req_${randomBytes(8).toString('hex')}`,
          ...headers,
        });
        res.end(JSON.stringify(json));
      };

      if (url.pathname === '/__control/requests' && req.method === 'GET') return send(200, recorded);
      if (url.pathname === '/__control/failures' && req.method === 'PUT') {
        const f = JSON.parse(body) as Partial<Failure> & { client_reference_id: string };
        failures.set(f.client_reference_id, {
          status: f.status ?? 500,
          times: f.times ?? 1,
          type: f.type ?? 'api_error',
          message: f.message ?? 'Simulated failure',
        });
        res.writeHead(204).end();
        return;
      }

      const subscriptionPath = /^\/(__control|v1)\/subscriptions\/([^/]+)$/.exec(url.pathname);
      if (subscriptionPath?.[1] === '__control' && req.method === 'PUT') {
        const id = decodeURIComponent(subscriptionPath[2]!);
        const s = JSON.parse(body) as {
          status: string;
          metadata?: Record<string, string>;
          customer?: string;
          price?: string;
          current_period_end?: number;
        };
        const periodEnd = s.current_period_end ?? Math.floor(Date.now() / 1000) + 30 * 86_400;
        subscriptions.set(id, {
          id,
          object: 'subscription',
          status: s.status,
          customer: s.customer ?? `cus_${id}`,
          metadata: s.metadata ?? {},
          items: {
            object: 'list',
            data: [
              {
                id: `si_${id}`,
                object: 'subscription_item',
                current_period_end: periodEnd,
                price: { id: s.price ?? 'price_unknown', object: 'price' },
              },
            ],
          },
          livemode: false,
        });
        res.writeHead(204).end();
        return;
      }

      const params = parseStripeForm(body);
      const idempotencyKey = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
      const record = (status: number, replayed: boolean, json: unknown) =>
        recorded.push({
          method: req.method ?? '',
          path: url.pathname,
          authorized: req.headers.authorization === `Bearer ${plan.secretKey}`,
          idempotency_key: idempotencyKey,
          content_type: req.headers['content-type'] ?? null,
          stripe_version: typeof req.headers['stripe-version'] === 'string' ? req.headers['stripe-version'] : null,
          params,
          status,
          replayed,
          session_id: (json as { id?: string }).id ?? null,
        });

      if (req.headers.authorization !== `Bearer ${plan.secretKey}`) {
        const json = stripeError('invalid_request_error', 'Invalid API Key provided.');
        record(401, false, json);
        return send(401, json);
      }
      if (subscriptionPath?.[1] === 'v1' && req.method === 'GET') {
        const id = decodeURIComponent(subscriptionPath[2]!);
        const failing = failures.get(id);
        if (failing && failing.times > 0) {
          failing.times--;
          const json = stripeError(failing.type, failing.message);
          record(failing.status, false, json);
          return send(failing.status, json);
        }
        const sub = subscriptions.get(id);
        const [status, json] = sub
          ? [200, sub]
          : [
              404,
              stripeError('invalid_request_error', `No such subscription: '${id}'`, {
                code: 'resource_missing',
                param: 'id',
              }),
            ];
        record(status, false, json);
        return send(status, json);
      }
      if (url.pathname !== '/v1/checkout/sessions' || req.method !== 'POST') {
        const json = stripeError('invalid_request_error', `Unrecognized request URL (${req.method}: ${url.pathname}).`);
        record(404, false, json);
        return send(404, json);
      }
      const failure =
        typeof params.client_reference_id === 'string' ? failures.get(params.client_reference_id) : undefined;
      if (failure && failure.times > 0) {
        failure.times--;
        const json = stripeError(failure.type, failure.message);
        record(failure.status, false, json);
        return send(failure.status, json);
      }
      if (idempotencyKey) {
        const prior = saved.get(idempotencyKey);
        if (prior && prior.body !== body) {
          const json = stripeError(
            'idempotency_error',
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          );
          record(400, false, json);
          return send(400, json, { 'idempotency-key': idempotencyKey });
        }
        if (prior) {
          record(prior.status, true, prior.json);
          return send(prior.status, prior.json, { 'idempotency-key': idempotencyKey, 'idempotent-replayed': 'true' });
        }
      }
      const result = createSession(params);
      if (idempotencyKey) saved.set(idempotencyKey, { body, ...result });
      record(result.status, false, result.json);
      return send(result.status, result.json, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
    } catch (err) {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify(stripeError('api_error', String(err))));
    }
  });
  await new Promise<void>((resolve) => server.listen(plan.port, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
