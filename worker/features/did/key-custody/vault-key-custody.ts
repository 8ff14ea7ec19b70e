import type { Encryptor } from '../../../platform/crypto.ts';
import { fromBase64Url, toBase64Url } from '../../../platform/encoding.ts';
import { AppError } from '../../../platform/errors.ts';
import type { NodeOidc } from '../../oidc/node-oidc.ts';
import type { KeyCustody, KeyHint } from './key-custody.ts';

const keyUnavailable = () => new AppError('key_unavailable', 'The signing key cannot be opened');
const custodyUnavailable = (detail: string) =>
  new AppError('key_custody_unavailable', `Key custody is unavailable: ${detail}`);

/**
 * Keeps private keys in HashiCorp Vault (KV v2), through node-oidc's internal API — the only component
 * that talks to Vault. The private JWK crosses the internal link once, on store; signing happens in
 * node-oidc. The ref kept in Postgres is the AES-256-GCM envelope of the Vault path (so the table reveals
 * neither the key nor where it lives). Contract and errors: key-custody.ts.
 */
export class VaultKeyCustody implements KeyCustody {
  readonly kind = 'vault' as const;

  constructor(
    private readonly link: NodeOidc,
    private readonly encryptor: Encryptor,
  ) {}

  /**
   * Writes the private JWK to Vault and returns the encrypted path. Throws TypeError for anything but an
   * EC P-256 private JWK, `key_custody_unavailable` (503) when node-oidc or Vault fails.
   */
  async store(privateJwk: JsonWebKey, hint: KeyHint): Promise<string> {
    const { kty, crv, x, y, d } = privateJwk;
    if (kty !== 'EC' || crv !== 'P-256' || !x || !y || !d) throw new TypeError('expected an EC P-256 private JWK');
    const { status, body } = await this.link.internal<{ path?: string }>('POST', '/internal/keys/store', {
      kid: hint.kid,
      owner: hint.owner,
      private_jwk: { kty, crv, x, y, d },
    });
    if (status !== 201 || typeof body?.path !== 'string') throw custodyUnavailable(`store answered ${status}`);
    return this.encryptor.encrypt(body.path);
  }

  /**
   * ES256 over `data`, raw r‖s, signed by node-oidc with the key at the ref's path. Throws `key_unavailable`
   * (500) when the ref cannot be opened or the key is gone, `key_custody_unavailable` (503) when node-oidc or
   * Vault fails.
   */
  async sign(ref: string, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const path = await this.#open(ref);
    const { status, body } = await this.link.internal<{ signature?: string }>('POST', '/internal/keys/sign', {
      path,
      alg: 'ES256',
      data: toBase64Url(data),
    });
    if (status === 404 || status === 400) throw keyUnavailable();
    if (status !== 200 || typeof body?.signature !== 'string') throw custodyUnavailable(`sign answered ${status}`);
    const signature = fromBase64Url(body.signature);
    if (signature.byteLength !== 64) throw custodyUnavailable('sign answered a malformed signature');
    return signature;
  }

  /**
   * Deletes every version of the key in Vault; succeeds when it is already gone. A ref that cannot be opened
   * names nothing that could be deleted: `key_unavailable` (500). Node-oidc or Vault failing: 503.
   */
  async delete(ref: string): Promise<void> {
    const path = await this.#open(ref);
    const { status } = await this.link.internal('POST', '/internal/keys/delete', { path });
    if (status !== 204) throw custodyUnavailable(`delete answered ${status}`);
  }

  async #open(ref: string): Promise<string> {
    try {
      return await this.encryptor.decrypt(ref);
    } catch {
      throw keyUnavailable();
    }
  }
}
