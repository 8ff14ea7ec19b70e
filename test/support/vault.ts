// The Vault KV v2 stand-in's control API (servers/vault-kv.ts), from tests inside workerd.
import { inject } from 'vitest';
import type { VaultRecorded } from './servers/vault-kv.ts';

export type { VaultRecorded };

const base = () => inject('vaultUrl');

/** Every KV call the stand-in received, in order, with the data written. */
export async function vaultLog(): Promise<VaultRecorded[]> {
  return (await fetch(`${base()}/control/log`)).json() as Promise<VaultRecorded[]>;
}

/** What the stand-in holds now: path → versions. */
export async function vaultPaths(): Promise<
  Record<string, { current_version: number; versions: Record<string, { data: any; deleted: boolean }> }>
> {
  return (await fetch(`${base()}/control/paths`)).json() as Promise<any>;
}

/** While on, every Vault call answers 503 (sealed). */
export async function vaultOutage(on: boolean): Promise<void> {
  const res = await fetch(`${base()}/control/outage`, { method: 'PUT', body: JSON.stringify({ on }) });
  if (res.status !== 204) throw new Error(`vault outage: ${res.status}`);
}
