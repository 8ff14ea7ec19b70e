import type { Encryptor } from '../../../platform/crypto.ts';
import { AppError } from '../../../platform/errors.ts';
import type { KeyCustody, KeyHint } from './key-custody.ts';

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/**
 * Keeps the private key in Postgres as an AES-256-GCM envelope of its JWK under ENCRYPTION_KEY (versioned
 * `v1.<kid>.<iv>.<ct>`, so the encryption key can rotate). The ref is the envelope itself, so deleting the
 * row deletes the key.
 */
export class LocalKeyCustody implements KeyCustody {
  readonly kind = 'local' as const;

  constructor(private readonly encryptor: Encryptor) {}

  /** Encrypts the private JWK. Throws TypeError for anything but an EC P-256 private JWK. */
  async store(privateJwk: JsonWebKey, _hint?: KeyHint): Promise<string> {
    const { kty, crv, x, y, d } = privateJwk;
    if (kty !== 'EC' || crv !== 'P-256' || !x || !y || !d) throw new TypeError('expected an EC P-256 private JWK');
    return this.encryptor.encrypt(JSON.stringify({ kty, crv, x, y, d }));
  }

  /** ES256 over `data`, raw r‖s. Throws `key_unavailable` (500) when the envelope cannot be opened. */
  async sign(ref: string, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    let key: CryptoKey;
    try {
      const jwk = JSON.parse(await this.encryptor.decrypt(ref)) as JsonWebKey;
      key = await crypto.subtle.importKey('jwk', jwk, ECDSA_P256, false, ['sign']);
    } catch {
      // Wrong key version, tampering or a corrupt row; say nothing about the ref itself.
      throw new AppError('key_unavailable', 'The signing key cannot be opened');
    }
    // WebCrypto's ECDSA output is already IEEE P1363 (r‖s), which is what JWS ES256 uses.
    return new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data));
  }

  /** Nothing outside the row holds the key: deleting the row is the deletion. */
  async delete(_ref: string): Promise<void> {}
}
