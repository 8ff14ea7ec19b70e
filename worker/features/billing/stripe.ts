import Stripe from 'stripe';
import type { Config } from '../../platform/config.ts';

/** Where the Stripe client sends its API calls: Stripe's API, or a local stand-in (STRIPE_API_BASE). */
export interface StripeApiTarget {
  protocol: 'http' | 'https';
  host: string;
  port: number;
}

/**
 * Splits STRIPE_API_BASE (`http://127.0.0.1:12111`) into the client's `protocol`/`host`/`port` options. The
 * Stripe client has no base-path option, so a base with a path is refused (config.ts validates it first).
 */
export function stripeApiTarget(base: string): StripeApiTarget {
  const url = new URL(base);
  const protocol = url.protocol === 'http:' ? 'http' : url.protocol === 'https:' ? 'https' : undefined;
  if (!protocol || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new TypeError('STRIPE_API_BASE must be an http(s) origin without a path');
  }
  return { protocol, host: url.hostname, port: url.port ? Number(url.port) : protocol === 'https' ? 443 : 80 };
}

/**
 * A Stripe client for one request (style.md: no clients at module scope), or undefined when
 * STRIPE_SECRET_KEY is unset. Workers need the fetch HTTP client: the bundled Node entry hangs in workerd.
 * Network retries reuse the request's idempotency key, so they cannot open a second session.
 */
export function createStripeClient(config: Config): Stripe | undefined {
  if (!config.STRIPE_SECRET_KEY) return undefined;
  return new Stripe(config.STRIPE_SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 2,
    timeout: 10_000,
    telemetry: false,
    ...(config.STRIPE_API_BASE ? stripeApiTarget(config.STRIPE_API_BASE) : {}),
  });
}

/** HMAC for webhook signatures on WebCrypto (Workers have no synchronous HMAC). */
export const createStripeCryptoProvider = () => Stripe.createSubtleCryptoProvider();

export { Stripe };
