// A verifier that knows nothing of the Worker's code: it resolves the `kid` of a signature with did-resolver +
// web-did-resolver, canonicalizes with another JCS library (json-canonicalize; the Worker uses canonicalize),
// verifies with jose and decodes status lists with the platform's DecompressionStream. Test files using it
// mock `cross-fetch` with test/support/worker-fetch.ts, so the resolver reaches the Worker under test.

import { Resolver } from 'did-resolver';
import {
  type CompactJWSHeaderParameters,
  compactVerify,
  type FlattenedJWSInput,
  flattenedVerify,
  importJWK,
  type JWSHeaderParameters,
} from 'jose';
import { canonicalize } from 'json-canonicalize';
import { expect } from 'vitest';
import { getResolver } from 'web-did-resolver';

const resolver = new Resolver(getResolver(), { cache: false });
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const fromB64url = (s: string) =>
  Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

/**
 * The public key a `kid` (`<did>#<fragment>`) names: the DID is resolved over did:web, and the key must be a
 * verification method listed under assertionMethod.
 */
export async function resolveKey(header: JWSHeaderParameters): Promise<CryptoKey> {
  const kid = header.kid;
  if (typeof kid !== 'string' || !kid.includes('#')) throw new Error(`kid is not a DID URL: ${kid}`);
  const did = kid.slice(0, kid.indexOf('#'));
  const result = await resolver.resolve(did);
  if (result.didResolutionMetadata.error)
    throw new Error(`cannot resolve ${did}: ${result.didResolutionMetadata.error}`);
  const doc = result.didDocument!;
  const method = doc.verificationMethod?.find((m) => m.id === kid);
  if (!method?.publicKeyJwk) throw new Error(`${did} has no verification method ${kid}`);
  if (!doc.assertionMethod?.includes(kid)) throw new Error(`${kid} is not an assertion method of ${did}`);
  return (await importJWK(method.publicKeyJwk as JsonWebKey, 'ES256')) as CryptoKey;
}

/** Verifies an A2A card's first signature over the JCS form of the rest of the card; returns its header. */
export async function verifyCard(card: Record<string, unknown>): Promise<JWSHeaderParameters> {
  const { signatures, ...unsigned } = card as { signatures: Array<{ protected: string; signature: string }> };
  expect(signatures).toHaveLength(1);
  const jws: FlattenedJWSInput = {
    protected: signatures[0]!.protected,
    signature: signatures[0]!.signature,
    payload: b64url(new TextEncoder().encode(canonicalize(unsigned))),
  };
  const { protectedHeader } = await flattenedVerify(jws, resolveKey, { algorithms: ['ES256'] });
  return protectedHeader!;
}

/** Verifies a VC-JOSE-COSE JWT; returns its header and the credential (the payload). */
export async function verifyVcJwt(jwt: string): Promise<{ header: CompactJWSHeaderParameters; credential: any }> {
  const { protectedHeader, payload } = await compactVerify(jwt, resolveKey, { algorithms: ['ES256'] });
  return { header: protectedHeader, credential: JSON.parse(new TextDecoder().decode(payload)) };
}

/** A JWT response body (`application/vc+jwt` is ASCII; workerd warns on `.text()` of a non-text type). */
export const bodyText = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

/** The bitstring of an `encodedList`: Multibase `u` + base64url (no padding) of the GZIP-compressed bits. */
export async function decodeStatusList(encodedList: string): Promise<Uint8Array> {
  expect(encodedList[0]).toBe('u');
  expect(encodedList).not.toContain('=');
  const gzipped = fromB64url(encodedList.slice(1));
  expect([gzipped[0], gzipped[1]]).toEqual([0x1f, 0x8b]); // the GZIP magic number (RFC 1952)
  const stream = new Blob([gzipped]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Bit `index` of a status list: index 0 is the most significant bit of the first byte. */
export const bitAt = (bits: Uint8Array, index: number) => (bits[index >> 3]! >> (7 - (index & 7))) & 1;
