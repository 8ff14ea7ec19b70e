// node-oidc's Vault KV v2 client against the KV v2 stand-in (same HTTP API). The client is plain fetch, so
// it runs here in workerd as it does in Node.
import { describe, expect, inject, it } from 'vitest';
import { assertSafePath, VaultClient, VaultError } from '../../node-oidc/src/vault.ts';
import { vaultLog } from '../support/vault.ts';

const url = () => inject('vaultUrl');
const token = inject('vaultToken');

describe('VaultClient (KV v2)', () => {
  it('refuses paths outside agentidp/ and dot segments before any request', () => {
    for (const bad of [
      '',
      'secret/x',
      'agentidp',
      'agentidp/',
      'agentidp//x',
      'agentidp/../x',
      'agentidp/./x',
      'agentidp/a b',
      'agentidp/x?y',
      'agentidp/x#y',
      'agentidp/%2e%2e',
    ]) {
      expect(() => assertSafePath(bad), bad).toThrow(TypeError);
    }
    for (const good of [
      'agentidp/agents/0b6f2c1e-0000-4000-8000-000000000000/did-key/abc_DEF-123',
      'agentidp/webhooks/a/b/secret',
    ]) {
      expect(() => assertSafePath(good)).not.toThrow();
    }
  });

  it('answers permission denied (403) as a VaultError without echoing the body', async () => {
    const client = new VaultClient({ addr: url(), token: 'wrong-token', mount: 'secret' });
    const err = await client.write('agentidp/test/denied', { a: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultError);
    expect((err as VaultError).status).toBe(403);
    expect((err as Error).message).not.toContain('permission denied');
  });

  it('writes versions, reads the latest or a given one, and removes every version', async () => {
    expect(token).toBeTruthy();
    const client = new VaultClient({ addr: url(), token, mount: 'secret' });
    const path = `agentidp/test/${crypto.randomUUID()}/secret`;
    expect(await client.read(path)).toBeUndefined();
    expect(await client.write(path, { v: 'one' })).toBe(1);
    expect(await client.write(path, { v: 'two' })).toBe(2);
    expect(await client.read(path)).toEqual({ data: { v: 'two' }, version: 2 });
    expect(await client.read(path, 1)).toEqual({ data: { v: 'one' }, version: 1 });
    expect(await client.read(path, 3)).toBeUndefined();
    await client.remove(path);
    await client.remove(path);
    expect(await client.read(path)).toBeUndefined();
    expect(await client.read(path, 1)).toBeUndefined();
    const calls = (await vaultLog()).filter((e) => e.path === path).map((e) => `${e.method} ${e.kind} ${e.status}`);
    expect(calls).toEqual([
      'GET data 404',
      'POST data 200',
      'POST data 200',
      'GET data 200',
      'GET data 200',
      'GET data 404',
      'DELETE metadata 204',
      'DELETE metadata 204',
      'GET data 404',
      'GET data 404',
    ]);
  });

  it('reports an unreachable Vault as VaultError 503', async () => {
    const client = new VaultClient({ addr: 'http://127.0.0.1:1', token: 't', mount: 'secret' });
    const err = await client.read('agentidp/x/y').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultError);
    expect((err as VaultError).status).toBe(503);
    expect(await client.healthy()).toBe(false);
  });
});
