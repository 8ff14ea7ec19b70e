import { sha256Hex } from '../../platform/crypto.ts';
import type {
  AgentCard,
  DidDocument,
  DidDocumentMetadata,
  PublicJwk,
  ServiceEntry,
  VerificationMethod,
} from './contract.ts';

/** Pure builders of the did:web documents, resolution results and agent cards (shapes: contract.ts). */

export type {
  AgentCard,
  DidDocument,
  DidDocumentMetadata,
  PublicJwk,
  ServiceEntry,
  VerificationMethod,
} from './contract.ts';

export const DID_CONTEXT = ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/suites/jws-2020/v1'];
export const DID_RESOLUTION_CONTEXT = 'https://w3id.org/did-resolution/v1';

/**
 * What the caches hold for one DID: everything its four representations are made of. `tag` is a digest
 * of the rest, computed once when the entry is built from Postgres, and is the base of every ETag.
 */
export interface DidEntry {
  v: 1;
  did: string;
  document: DidDocument;
  metadata: DidDocumentMetadata;
  /** Agents only; null for the instance and for decommissioned agents. */
  card: AgentCard | null;
  tag: string;
}

export interface KeyRow {
  kid: string;
  jwk: PublicJwk;
}

/** Only the public members, in RFC 7638 order, whatever the stored JWK carries. */
export const publicJwk = (jwk: { x?: string; y?: string }): PublicJwk => ({
  kty: 'EC',
  crv: 'P-256',
  x: jwk.x!,
  y: jwk.y!,
});

/** An active document: one JsonWebKey2020 method per key, referenced from authentication and assertionMethod. */
export function activeDocument(did: string, keys: KeyRow[], service?: ServiceEntry[]): DidDocument {
  const methods = keys.map(
    (k): VerificationMethod => ({
      id: `${did}#${k.kid}`,
      type: 'JsonWebKey2020',
      controller: did,
      publicKeyJwk: publicJwk(k.jwk),
    }),
  );
  const ids = methods.map((m) => m.id);
  const doc: DidDocument = {
    '@context': DID_CONTEXT,
    id: did,
    verificationMethod: methods,
    authentication: ids,
    assertionMethod: [...ids],
  };
  if (service?.length) doc.service = service;
  return doc;
}

/** A decommissioned agent's document: no keys, and an `AgentStatus: decommissioned` service entry (api.md). */
export function deactivatedDocument(did: string): DidDocument {
  return {
    '@context': DID_CONTEXT,
    id: did,
    verificationMethod: [],
    authentication: [],
    assertionMethod: [],
    service: [{ id: `${did}#status`, type: 'AgentStatus', serviceEndpoint: 'decommissioned' }],
  };
}

/** Fills in `tag`: a digest over the entry's content, so equal content gives equal ETags on every isolate. */
export async function sealEntry(entry: Omit<DidEntry, 'tag' | 'v'>): Promise<DidEntry> {
  const tag = (await sha256Hex(JSON.stringify([entry.did, entry.document, entry.metadata, entry.card]))).slice(0, 24);
  return { v: 1, ...entry, tag };
}

/** Whether a cached value is an entry for `did` (and not a tombstone, an older shape or another domain's). */
export function isEntryFor(value: unknown, did: string): value is DidEntry {
  const e = value as Partial<DidEntry> | null | undefined;
  return !!e && e.v === 1 && e.did === did && typeof e.tag === 'string' && typeof e.document === 'object';
}
