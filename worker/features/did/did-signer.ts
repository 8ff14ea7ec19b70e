import { toBase64Url, utf8 } from '../../platform/encoding.ts';
import type { CustodyKind, KeyCustodies } from './key-custody/index.ts';

/** A DID key that signs through its custody; `keyId` is its verification method (`<did>#<kid>`). */
export interface DidSigner {
  readonly keyId: string;
  sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
}

/** The signer of a key row (`custody`, `private_key_ref`); nothing is opened until it signs. */
export function custodySigner(
  custodies: KeyCustodies,
  keyId: string,
  key: { custody: CustodyKind; private_key_ref: string },
): DidSigner {
  return { keyId, sign: (data) => custodies.of(key.custody).sign(key.private_key_ref, data) };
}

/** An RFC 7515 protected header for ES256 under the signer's key, with `extra` members (typ, cty). */
const protectedHeader = (signer: DidSigner, extra: Record<string, string>) =>
  toBase64Url(utf8(JSON.stringify({ alg: 'ES256', kid: signer.keyId, ...extra })));

/** A compact JWS (a JWT when `payload` is a claims set). Throws the custody's errors. */
export async function signCompact(
  signer: DidSigner,
  extra: Record<string, string>,
  payload: Uint8Array,
): Promise<string> {
  const input = `${protectedHeader(signer, extra)}.${toBase64Url(payload)}`;
  return `${input}.${toBase64Url(await signer.sign(utf8(input)))}`;
}

/**
 * A JWS with a detached payload (RFC 7515 Appendix F), as the JSON members `protected` and `signature`:
 * the verifier rebuilds the payload itself. Throws the custody's errors.
 */
export async function signDetached(
  signer: DidSigner,
  extra: Record<string, string>,
  payload: Uint8Array,
): Promise<{ protected: string; signature: string }> {
  const header = protectedHeader(signer, extra);
  const signature = await signer.sign(utf8(`${header}.${toBase64Url(payload)}`));
  return { protected: header, signature: toBase64Url(signature) };
}
