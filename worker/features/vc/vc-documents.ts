/**
 * Shapes of the W3C Verifiable Credentials 2.0 this instance issues, and pure builders for them. Terms
 * outside the VC 2.0 context (`AgentIdentityCredential`, `organization`, `agentType`, ...) fall under its
 * `@vocab` (issuer-dependent terms), as VC 2.0 allows.
 */

export const VC_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
/** VC-JOSE-COSE: the JWT header of a credential secured as a JWT; the media type it is served as. */
export const VC_JWT_HEADER = { typ: 'vc+jwt', cty: 'vc' } as const;
export const VC_JWT_MEDIA_TYPE = 'application/vc+jwt';

export interface StatusListEntry {
  id: string;
  type: 'BitstringStatusListEntry';
  statusPurpose: 'revocation';
  statusListIndex: string;
  statusListCredential: string;
}

export interface AgentSubject {
  agentId: string;
  did: string;
  organizationId: string;
  organizationName: string;
  owner: string;
  agentType: string;
  capabilities: string[];
}

/** `2026-01-02T03:04:05Z`: XML Schema dateTimeStamp, whole seconds. */
export const dateTimeStamp = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** `<origin>/status/<list id>`: where a status list credential is served (and its `id`). */
export const statusListUrl = (origin: string, listId: string) => `${origin}/status/${listId}`;

export function statusListEntry(origin: string, listId: string, index: number): StatusListEntry {
  const list = statusListUrl(origin, listId);
  return {
    id: `${list}#${index}`,
    type: 'BitstringStatusListEntry',
    statusPurpose: 'revocation',
    statusListIndex: String(index),
    statusListCredential: list,
  };
}

/** The agent identity credential: who the agent is, issued by the instance DID, revocable through its entry. */
export function agentIdentityCredential(args: {
  issuer: string;
  subject: AgentSubject;
  status: StatusListEntry;
  validFromMs: number;
  validitySeconds: number;
}) {
  const { issuer, subject, status, validFromMs, validitySeconds } = args;
  return {
    '@context': [VC_CONTEXT],
    id: `urn:uuid:${crypto.randomUUID()}`,
    type: ['VerifiableCredential', 'AgentIdentityCredential'],
    issuer,
    validFrom: dateTimeStamp(validFromMs),
    validUntil: dateTimeStamp(validFromMs + validitySeconds * 1000),
    credentialSubject: {
      id: subject.did,
      organization: { id: `urn:uuid:${subject.organizationId}`, name: subject.organizationName },
      owner: subject.owner,
      agentType: subject.agentType,
      capabilities: subject.capabilities,
    },
    credentialStatus: status,
  };
}

/** A Bitstring Status List credential (`ttl`: how long, in ms, a verifier may cache it). */
export function statusListCredential(args: {
  issuer: string;
  url: string;
  encodedList: string;
  validFromMs: number;
  ttlMs: number;
}) {
  return {
    '@context': [VC_CONTEXT],
    id: args.url,
    type: ['VerifiableCredential', 'BitstringStatusListCredential'],
    issuer: args.issuer,
    validFrom: dateTimeStamp(args.validFromMs),
    credentialSubject: {
      id: `${args.url}#list`,
      type: 'BitstringStatusList',
      statusPurpose: 'revocation',
      encodedList: args.encodedList,
      ttl: args.ttlMs,
    },
  };
}
