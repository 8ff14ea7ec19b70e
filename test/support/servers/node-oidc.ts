// node-oidc for the tests (Node side): planned in test-env.ts (its port and secrets are Worker bindings),
// started by the global setup as a real process next to a Vault KV v2 stand-in.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort } from '../../../scripts/stack/free-port.ts';
import { type NodeOidcHandle, startNodeOidc } from '../../../scripts/stack/node-oidc.ts';
import { startVaultStandIn, type VaultStandIn } from './vault-kv.ts';

/** Tests call the Worker at https://idp.test; the issuer is the public URL through it. */
export const TEST_OIDC_ISSUER = 'https://idp.test/oidc';

export interface NodeOidcPlan {
  port: number;
  vaultPort: number;
  vaultToken: string;
  internalToken: string;
  /** Worker bindings: OIDC_ORIGIN, OIDC_ISSUER, INTERNAL_TOKEN. */
  bindings: Record<string, string>;
}

export async function planNodeOidc(): Promise<NodeOidcPlan> {
  const port = await freePort();
  const internalToken = randomBytes(24).toString('hex');
  return {
    port,
    vaultPort: await freePort(),
    vaultToken: `hvs.${randomBytes(18).toString('base64url')}`,
    internalToken,
    bindings: { OIDC_ORIGIN: `http://127.0.0.1:${port}`, OIDC_ISSUER: TEST_OIDC_ISSUER, INTERNAL_TOKEN: internalToken },
  };
}

export interface NodeOidcServices {
  vaultUrl: string;
  stop(): Promise<void>;
}

/** Starts the Vault stand-in, then node-oidc against `databaseUrl` and that Vault. */
export async function startNodeOidcServices(plan: NodeOidcPlan, databaseUrl: string): Promise<NodeOidcServices> {
  const vault: VaultStandIn = await startVaultStandIn({ token: plan.vaultToken, port: plan.vaultPort });
  // Fresh signing keys per run, outside the repository.
  const keysFile = `${tmpdir()}/agentidp-test-oidc-keys-${process.pid}-${Date.now()}.json`;
  let oidc: NodeOidcHandle;
  try {
    oidc = await startNodeOidc({
      port: plan.port,
      output: new URL('../../../.data/node-oidc-test.log', import.meta.url).pathname,
      env: {
        DATABASE_URL: databaseUrl,
        OIDC_ISSUER: TEST_OIDC_ISSUER,
        INTERNAL_TOKEN: plan.internalToken,
        OIDC_KEYS_FILE: keysFile,
        VAULT_ADDR: vault.url,
        VAULT_TOKEN: plan.vaultToken,
        VAULT_MOUNT: vault.mount,
      },
    });
  } catch (err) {
    await vault.stop();
    throw err;
  }
  return {
    vaultUrl: vault.url,
    stop: async () => {
      await oidc.stop();
      await vault.stop();
      rmSync(keysFile, { force: true });
    },
  };
}
