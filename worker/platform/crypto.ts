import { fromBase64, fromBase64Url, toBase64Url, toHex, utf8 } from './encoding.ts';

export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === 'string' ? utf8(data) : data;
  return toHex(await crypto.subtle.digest('SHA-256', bytes));
}

export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** A URL-safe random token of `n` bytes of entropy. */
export const randomToken = (n = 32): string => toBase64Url(randomBytes(n));

/**
 * Constant-time comparison of two strings. Both are hashed first so that the comparison
 * leaks neither content nor length.
 */
export async function timingSafeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest('SHA-256', utf8(a)),
    crypto.subtle.digest('SHA-256', utf8(b)),
  ]);
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: ArrayBuffer, y: ArrayBuffer) => boolean };
  if (subtle.timingSafeEqual) return subtle.timingSafeEqual(ha, hb);
  const x = new Uint8Array(ha);
  const y = new Uint8Array(hb);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/**
 * AES-256-GCM envelope for data that must be recoverable (DID private keys in local custody, webhook
 * secrets, Vault paths). Format: `v1.<kid>.<iv b64url>.<ciphertext+tag b64url>`; the version and key id are
 * bound as additional authenticated data so a ciphertext cannot be replayed under another key version.
 * `keys` maps key ids to base64 32-byte keys; the first entry encrypts, all entries decrypt (rotation).
 */
export class Encryptor {
  readonly #keys: Map<string, Promise<CryptoKey>>;
  readonly #currentKid: string;

  constructor(keys: Record<string, string>) {
    const entries = Object.entries(keys);
    if (entries.length === 0) throw new TypeError('Encryptor needs at least one key');
    this.#currentKid = entries[0]![0];
    this.#keys = new Map(
      entries.map(([kid, b64]) => {
        const raw = fromBase64(b64);
        if (raw.length !== 32) throw new TypeError(`encryption key ${kid} must be 32 bytes (base64)`);
        return [kid, crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])];
      }),
    );
  }

  async encrypt(plaintext: string): Promise<string> {
    const iv = randomBytes(12);
    const key = await this.#keys.get(this.#currentKid)!;
    const aad = utf8(`v1.${this.#currentKid}`);
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, utf8(plaintext));
    return `v1.${this.#currentKid}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
  }

  async decrypt(envelope: string): Promise<string> {
    const [version, kid, iv, ct] = envelope.split('.');
    if (version !== 'v1' || !kid || !iv || !ct) throw new TypeError('unrecognised ciphertext format');
    const key = this.#keys.get(kid);
    if (!key) throw new TypeError(`no decryption key for key id ${kid}`);
    const pt = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: utf8(`v1.${kid}`) },
      await key,
      fromBase64Url(ct),
    );
    return new TextDecoder().decode(pt);
  }
}

/**
 * Parses ENCRYPTION_KEY: either one base64 key (key id `k1`) or `kid:base64,kid:base64` with the
 * current key first.
 */
export function parseEncryptionKeys(value: string): Record<string, string> {
  if (!value.includes(':')) return { k1: value.trim() };
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const [kid, key] = part.split(':');
    if (!kid || !key) throw new TypeError('ENCRYPTION_KEY entries must be kid:base64');
    out[kid.trim()] = key.trim();
  }
  return out;
}
