// Bench-only Worker (bundled by bench/federation.bench.ts, served by a second `workerd serve`): runs, inside
// workerd, N warm verifications through FederationService — the endpoint's work after routing and tenant
// authentication — or N bare crypto.subtle.verify calls on the same token and key. workerd's clock stands
// still during a request, so the caller times N against 0.
//
// The partner row comes from a stand-in Db (read once, then from isolate memory as in production); the
// keys are fetched once from the partner's jwks_uri, then served from isolate memory. No Redis.
import { type FederationConfig, FederationService } from '../worker/features/federation/federation.service.ts';
import { Cache } from '../worker/platform/cache.ts';
import { systemClock } from '../worker/platform/clock.ts';
import type { Db } from '../worker/platform/db.ts';

interface LoopRequest {
  mode: 'service' | 'bare';
  n: number;
  token: string;
  organizationId: string;
  partner: Record<string, unknown>;
  jwk: JsonWebKey;
  alg: 'ES256' | 'RS256';
}

const config: FederationConfig = {
  FEDERATION_JWKS_CACHE_TTL_SECONDS: 3600,
  FEDERATION_CLOCK_SKEW_SECONDS: 60,
  FEDERATION_MAX_TOKEN_BYTES: 16_384,
  FEDERATION_JWKS_REFETCH_COOLDOWN_SECONDS: 30,
  FEDERATION_PARTNER_CACHE_TTL_SECONDS: 300,
  ALLOW_PRIVATE_URLS: true,
};

const BARE = {
  ES256: { import: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
  RS256: { import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
} as const;

const fromB64url = (s: string) =>
  Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) =>
    c.charCodeAt(0),
  );

export default {
  async fetch(req: Request): Promise<Response> {
    const body = (await req.json()) as LoopRequest;
    let ok = 0;
    if (body.mode === 'service') {
      const db = { query: async () => [body.partner], close: async () => undefined } as unknown as Db;
      const service = new FederationService(db, new Cache(), systemClock, config);
      for (let i = 0; i < body.n; i++)
        if ((await service.verifyFederatedToken(body.token, body.organizationId)).valid) ok++;
    } else {
      const a = BARE[body.alg];
      const key = await crypto.subtle.importKey('jwk', body.jwk, a.import, false, ['verify']);
      const dot = body.token.lastIndexOf('.');
      const data = new TextEncoder().encode(body.token.slice(0, dot));
      const sig = fromB64url(body.token.slice(dot + 1));
      for (let i = 0; i < body.n; i++) if (await crypto.subtle.verify(a.verify, key, sig, data)) ok++;
    }
    return Response.json({ ok });
  },
};
