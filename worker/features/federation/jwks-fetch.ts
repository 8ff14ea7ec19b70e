import { checkOutboundUrl } from '../../platform/ssrf.ts';
import { importJwks, type JwksImport } from './key-policy.ts';

export const JWKS_FETCH_TIMEOUT_MS = 5_000;
/** Generous for a key set (a JWKS with certificate chains is a few tens of KiB), small for a Worker. */
export const JWKS_MAX_BYTES = 256 * 1024;

export interface FetchJwksOptions {
  /** ALLOW_PRIVATE_URLS: development only. */
  allowPrivate: boolean;
  timeoutMs?: number;
  maxBytes?: number;
}

class FetchTimeout extends Error {}

async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

async function download(
  url: URL,
  signal: AbortSignal,
  maxBytes: number,
): Promise<{ ok: true; json: unknown } | { ok: false; reason: string }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'GET',
      redirect: 'manual',
      signal,
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
  } catch {
    return { ok: false, reason: 'jwks_uri is unreachable' };
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    const why = res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : '';
    return { ok: false, reason: `jwks_uri answered HTTP ${res.status}${why}` };
  }
  const body = await readCapped(res, maxBytes);
  if (!body) return { ok: false, reason: `jwks_uri response exceeds ${maxBytes} bytes` };
  try {
    return { ok: true, json: JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body)) };
  } catch {
    return { ok: false, reason: 'jwks_uri response is not JSON' };
  }
}

/**
 * Fetches a partner's JWKS and imports its usable keys (key-policy.ts). The URL is checked against the
 * outbound policy at every fetch, redirects are refused, the whole exchange is bounded by `timeoutMs`
 * (default 5 s) and the body by `maxBytes`. Never throws: failures come back as `{ ok: false, reason }`.
 */
export async function loadRemoteJwks(rawUrl: string, opts: FetchJwksOptions): Promise<JwksImport> {
  const checked = checkOutboundUrl(rawUrl, { allowPrivate: opts.allowPrivate });
  if (!checked.ok) return { ok: false, reason: `jwks_uri ${checked.reason}` };
  const timeoutMs = opts.timeoutMs ?? JWKS_FETCH_TIMEOUT_MS;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new FetchTimeout());
    }, timeoutMs);
  });
  try {
    const got = await Promise.race([
      download(checked.url, controller.signal, opts.maxBytes ?? JWKS_MAX_BYTES),
      timeout,
    ]);
    if (!got.ok) return got;
    return await importJwks(got.json);
  } catch (err) {
    if (err instanceof FetchTimeout)
      return { ok: false, reason: `jwks_uri did not answer within ${timeoutMs / 1000} s` };
    return { ok: false, reason: 'jwks_uri could not be read' };
  } finally {
    clearTimeout(timer);
  }
}
