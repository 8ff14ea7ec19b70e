// Partner identity providers for the federation tests: keys made with jose (here, in workerd), their
// public JWKS published on the local JWKS server (test/support/servers/jwks-server.ts), tokens signed with
// their private keys.

import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { inject } from 'vitest';
import type { JwksAnswer } from './servers/jwks-server.ts';
import { ADMIN_TOKEN, call, json } from './worker.ts';

export type PartnerAlg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA';

export const jwksServerUrl = () => inject('jwksServerUrl');
export const jwksUrl = (name: string) => `${jwksServerUrl()}/jwks/${name}`;

let seq = 0;
/** A name unique across test files and runs (the CI database and Redis keep data between runs). */
export const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}-${++seq}`;

export async function publish(name: string, answer: JwksAnswer): Promise<void> {
  const res = await fetch(`${jwksServerUrl()}/control/${name}`, { method: 'PUT', body: JSON.stringify(answer) });
  if (res.status !== 204) throw new Error(`publish ${name}: ${res.status}`);
}

export async function jwksHits(name: string): Promise<number> {
  const res = await fetch(`${jwksServerUrl()}/control/${name}/hits`);
  return ((await res.json()) as { hits: number }).hits;
}

export interface SigningKey {
  kid: string;
  alg: PartnerAlg;
  privateKey: CryptoKey;
  publicJwk: Record<string, unknown>;
}

export async function makeKey(alg: PartnerAlg, kid: string = unique('kid')): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export interface TokenOptions {
  /** Header members to add or override (a `kid` of undefined removes it). */
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

/** A partner IdP: an issuer, a JWKS endpoint on the local server, and keys to sign with. */
export class PartnerIdp {
  readonly name = unique('idp');
  readonly issuer = `https://${this.name}.partner.test`;
  readonly jwksUri = jwksUrl(this.name);
  keys: SigningKey[] = [];

  async addKey(alg: PartnerAlg, kid?: string): Promise<SigningKey> {
    const key = await makeKey(alg, kid);
    this.keys.push(key);
    await this.publishKeys();
    return key;
  }

  async publishKeys(): Promise<void> {
    await publish(this.name, { json: { keys: this.keys.map((k) => k.publicJwk) } });
  }

  hits(): Promise<number> {
    return jwksHits(this.name);
  }

  /** Signs a JWT with `key`: iss = this issuer, exp in 10 minutes, iat now, then `opts.claims`. */
  async sign(
    key: SigningKey,
    organizationId: string,
    opts: TokenOptions = {},
    nowSeconds = Math.floor(Date.now() / 1000),
  ): Promise<string> {
    const claims: JWTPayload = {
      iss: this.issuer,
      sub: 'user-42',
      organization_id: organizationId,
      iat: nowSeconds,
      exp: nowSeconds + 600,
      ...opts.claims,
    };
    const header: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'JWT', ...opts.header };
    for (const [k, v] of Object.entries(header)) if (v === undefined) delete header[k];
    return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
  }
}

export async function newIdp(...algs: PartnerAlg[]): Promise<PartnerIdp> {
  const idp = new PartnerIdp();
  for (const alg of algs) await idp.addKey(alg);
  return idp;
}

export async function registerPartner(idp: PartnerIdp, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await call('POST', '/v1/federation/partners', {
    token: ADMIN_TOKEN,
    body: { name: idp.name, issuer: idp.issuer, jwks_uri: idp.jwksUri, ...extra },
  });
  if (res.status !== 201) throw new Error(`registerPartner: ${res.status} ${await res.text()}`);
  return json(res);
}

export function verify(apiKey: string, token: string): Promise<Response> {
  return call('POST', '/v1/federation/verify', { token: apiKey, body: { token } });
}

/** base64url of a JSON value or bytes, for hand-built tokens. */
export function b64url(v: unknown): string {
  const bytes = v instanceof Uint8Array ? v : new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Signs any header and payload bytes with an ES256 key, bypassing jose's checks (for hostile tokens). */
export async function signRawEs256(
  key: SigningKey,
  header: Record<string, unknown>,
  payload: unknown,
): Promise<string> {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const sig = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    key.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${b64url(new Uint8Array(sig))}`;
}
