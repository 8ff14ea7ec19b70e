import type { Encryptor } from '../../platform/crypto.ts';
import { AppError } from '../../platform/errors.ts';
import type { NodeOidc } from '../oidc/node-oidc.ts';

/** Prefix of a sealed Vault reference inside the envelope; a local secret is `whsec_...` and never starts so. */
const VAULT_REF = 'vault:';

/** What the delivery side needs: the signing secret behind a stored value. */
export interface WebhookSecretOpener {
  open(stored: string): Promise<string>;
}

const unavailable = (detail: string) =>
  new AppError('key_custody_unavailable', `Webhook secret custody is unavailable: ${detail}`);

/**
 * Custody of webhook signing secrets. What is kept in Postgres (`secret_ciphertext`,
 * `previous_secret_ciphertext`) is always an AES-256-GCM envelope (ENCRYPTION_KEY) of either
 *  - the secret itself (`whsec_...`): local mode, or
 *  - `vault:<path>#<version>`: Vault mode — the secret is in Vault KV v2 at
 *    `agentidp/webhooks/<orgId>/<subscriptionId>/secret`, each rotation a new version, written and read by
 *    node-oidc (the only component that talks to Vault). The path is encrypted like the secret would be.
 * `open` reads either form, so rows written under one mode stay usable after switching to the other.
 */
export class WebhookSecretsService implements WebhookSecretOpener {
  constructor(
    private readonly encryptor: Encryptor,
    private readonly mode: 'local' | 'vault',
    private readonly link: NodeOidc | undefined,
  ) {}

  /**
   * Stores a new signing secret of the subscription and returns the value to keep in Postgres. Throws
   * `key_custody_unavailable` (503) in Vault mode when node-oidc or Vault fails (or node-oidc is not configured).
   */
  async seal(organizationId: string, subscriptionId: string, secret: string): Promise<string> {
    if (this.mode === 'local') return this.encryptor.encrypt(secret);
    const { status, body } = await this.#link().internal<{ path?: string; version?: number }>(
      'POST',
      '/internal/webhook-secrets/store',
      {
        organization_id: organizationId,
        subscription_id: subscriptionId,
        secret,
      },
    );
    if (status !== 201 || typeof body?.path !== 'string' || !Number.isInteger(body.version)) {
      throw unavailable(`store answered ${status}`);
    }
    return this.encryptor.encrypt(`${VAULT_REF}${body.path}#${body.version}`);
  }

  /**
   * The secret behind a stored value of either mode. Throws `key_unavailable` (500) when the envelope cannot
   * be opened or Vault no longer has that version, `key_custody_unavailable` (503) when node-oidc or Vault fails.
   */
  async open(stored: string): Promise<string> {
    const plain = await this.#decrypt(stored);
    const ref = parseVaultRef(plain);
    if (!ref) return plain;
    const { status, body } = await this.#link().internal<{ secret?: string }>(
      'POST',
      '/internal/webhook-secrets/read',
      ref,
    );
    if (status === 404) throw new AppError('key_unavailable', 'The webhook secret is gone from Vault');
    if (status !== 200 || typeof body?.secret !== 'string') throw unavailable(`read answered ${status}`);
    return body.secret;
  }

  /**
   * Removes from Vault every secret the given stored values point at (all versions of their path). Local
   * values need nothing: deleting the row deletes them. Values that cannot be opened are skipped. Throws
   * `key_custody_unavailable` (503) when node-oidc or Vault fails.
   */
  async forget(stored: Array<string | null | undefined>): Promise<void> {
    const paths = new Set<string>();
    for (const s of stored) {
      if (!s) continue;
      const ref = parseVaultRef(await this.#decrypt(s).catch(() => ''));
      if (ref) paths.add(ref.path);
    }
    for (const path of paths) {
      const { status } = await this.#link().internal('POST', '/internal/webhook-secrets/delete', { path });
      if (status !== 204) throw unavailable(`delete answered ${status}`);
    }
  }

  #link(): NodeOidc {
    if (!this.link) throw unavailable('node-oidc is not configured');
    return this.link;
  }

  async #decrypt(stored: string): Promise<string> {
    try {
      return await this.encryptor.decrypt(stored);
    } catch {
      throw new AppError('key_unavailable', 'The webhook secret cannot be opened');
    }
  }
}

function parseVaultRef(plain: string): { path: string; version: number } | undefined {
  if (!plain.startsWith(VAULT_REF)) return undefined;
  const m = /^vault:(.+)#(\d+)$/.exec(plain);
  if (!m) return undefined;
  return { path: m[1]!, version: Number(m[2]) };
}
