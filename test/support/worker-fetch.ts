// Stands in for `cross-fetch` in tests: web-did-resolver fetches `https://<DID_WEB_DOMAIN>/...` through it, and
// this sends those requests to the Worker under test (its default export), as a TLS front would. Any other host
// is refused, so a test can never reach the network.
import { env, exports } from 'cloudflare:workers';

const domainHost = (env as unknown as Record<string, string>).DID_WEB_DOMAIN!.replace(/%3A/i, ':');

export async function fetchToWorker(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  if (new URL(request.url).host !== domainHost) throw new TypeError(`test fetch: no route to ${request.url}`);
  return exports.default.fetch(request);
}

export default fetchToWorker;
export { fetchToWorker as fetch };
