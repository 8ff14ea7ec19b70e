import { randomToken, sha256Hex } from '../../platform/crypto.ts';

/** Builds a tenant API key: `aidp_<key id>_<secret>`. The key id is the lookup handle; only the hash is kept. */
export async function newApiKey(): Promise<{ keyId: string; key: string; hash: string }> {
  const keyId = randomToken(9);
  const key = `aidp_${keyId}_${randomToken(32)}`;
  return { keyId, key, hash: await sha256Hex(key) };
}

/** Splits an API key into its key id, or undefined when it is not shaped like one. */
export function apiKeyId(key: string): string | undefined {
  const m = /^aidp_([A-Za-z0-9_-]{12})_[A-Za-z0-9_-]{43}$/.exec(key);
  return m?.[1];
}

/** The part of a key that is not secret, shown in lists so a person can tell keys apart. */
export const apiKeyPrefix = (keyId: string): string => `aidp_${keyId}`;

/** A key id as it appears in paths: 12 base64url characters. */
export const API_KEY_ID_PATTERN = /^[A-Za-z0-9_-]{12}$/;
