// Vault mode: DID private keys and webhook signing secrets in Vault KV v2 (the stand-in of
// test/support/servers/vault-kv.ts, through node-oidc), never in Postgres.

import { importJWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../worker/http/errors.ts';
import { Encryptor, parseEncryptionKeys } from '../../../worker/platform/crypto.ts';
import { utf8 } from '../../../worker/platform/encoding.ts';
import { sql } from '../../support/db.ts';
import { bindings, workerServices } from '../../support/did.ts';
import { inProcessWorker } from '../../support/oidc.ts';
import { vaultLog, vaultOutage, vaultPaths } from '../../support/vault.ts';
import { deliveries, eventually, receiver, verify } from '../../support/webhooks.ts';
import { agentInput, createOrg, json, type Org } from '../../support/worker.ts';

const VAULT = { KEY_CUSTODY: 'vault' };
const worker = inProcessWorker({ env: VAULT });
const encryptor = new Encryptor(parseEncryptionKeys(bindings.ENCRYPTION_KEY));

async function api(org: Org, method: string, path: string, body?: unknown): Promise<Response> {
  return worker(
    new Request(`https://idp.test${path}`, {
      method,
      headers: {
        authorization: `Bearer ${org.api_key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

async function createAgentVault(org: Org, n = 0) {
  const res = await api(org, 'POST', '/v1/agents', agentInput(n));
  if (res.status !== 201) throw new Error(`createAgent: ${res.status} ${await res.text()}`);
  return json(res);
}

/** Every text column of every row that belongs to the organization, as one string to search. */
async function everythingStoredFor(orgId: string): Promise<string> {
  const tables = [
    'organizations',
    'agents',
    'credentials',
    'agent_did_keys',
    'webhook_subscriptions',
    'webhook_deliveries',
    'audit_events',
  ];
  const parts: string[] = [];
  for (const t of tables) {
    const rows = await sql<{ r: string }>(`SELECT row_to_json(x)::text AS r FROM ${t} x WHERE organization_id = $1`, [
      orgId,
    ]);
    parts.push(...rows.map((r) => r.r));
  }
  return parts.join('\n');
}

afterEach(async () => {
  await vaultOutage(false);
});

describe('DID private keys in Vault (KEY_CUSTODY=vault)', () => {
  it('writes the private key to Vault KV v2 and keeps only the encrypted path in Postgres', async () => {
    const org = await createOrg();
    const agent = await createAgentVault(org);
    const [key] = await sql<{ kid: string; custody: string; private_key_ref: string; public_key_jwk: JsonWebKey }>(
      'SELECT kid, custody, private_key_ref, public_key_jwk FROM agent_did_keys WHERE agent_id = $1',
      [agent.agent_id],
    );
    expect(key!.custody).toBe('vault');
    const path = `agentidp/agents/${agent.agent_id}/did-key/${key!.kid}`;
    expect(await encryptor.decrypt(key!.private_key_ref)).toBe(path);

    const writes = (await vaultLog()).filter((e) => e.path === path && e.method !== 'GET');
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ method: 'POST', kind: 'data', version: 1, status: 200 });
    const stored = writes[0]!.data!.private_jwk as JsonWebKey;
    expect(stored).toMatchObject({ kty: 'EC', crv: 'P-256', x: key!.public_key_jwk.x, y: key!.public_key_jwk.y });
    expect(stored.d).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The private scalar is nowhere in this tenant's rows; the path is not in plaintext either.
    const all = await everythingStoredFor(org.organization_id);
    expect(all).not.toContain(stored.d!);
    expect(all).not.toContain(path);
  });

  it('signs ES256 (raw r‖s) with the Vault-held key, verifiable with the DID document key', async () => {
    const org = await createOrg();
    const agent = await createAgentVault(org);
    const { services, close } = workerServices(VAULT);
    try {
      const data = utf8('sign me through vault');
      const { kid, signature } = await services.did.sign(org.organization_id, agent.agent_id, data);
      expect(signature.byteLength).toBe(64);
      const doc = await json(await worker(new Request(`https://idp.test/agents/${agent.agent_id}/did.json`)));
      const vm = doc.verificationMethod.find((m: { id: string }) => m.id.endsWith(`#${kid}`));
      const pub = (await importJWK(vm.publicKeyJwk, 'ES256')) as CryptoKey;
      expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, signature, data)).toBe(true);
      expect(
        (await vaultLog()).some((e) => e.method === 'GET' && e.path.startsWith(`agentidp/agents/${agent.agent_id}/`)),
      ).toBe(true);
    } finally {
      await close();
    }
  });

  it('deletes the key from Vault (every version), idempotently; signing then fails key_unavailable', async () => {
    const org = await createOrg();
    const agent = await createAgentVault(org);
    const [key] = await sql<{ private_key_ref: string }>(
      'SELECT private_key_ref FROM agent_did_keys WHERE agent_id = $1',
      [agent.agent_id],
    );
    const path = await encryptor.decrypt(key!.private_key_ref);
    const { services, close } = workerServices(VAULT);
    try {
      const custody = services.keyCustody.of('vault');
      await custody.delete(key!.private_key_ref);
      await custody.delete(key!.private_key_ref);
      expect((await vaultPaths())[path]).toBeUndefined();
      expect(
        (await vaultLog()).filter((e) => e.path === path && e.method === 'DELETE' && e.kind === 'metadata'),
      ).toHaveLength(2);
      const err = await custody.sign(key!.private_key_ref, utf8('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('key_unavailable');
    } finally {
      await close();
    }
  });

  it('fails agent creation with 503 key_custody_unavailable while Vault is down, and creates nothing', async () => {
    const org = await createOrg();
    await vaultOutage(true);
    const res = await api(org, 'POST', '/v1/agents', agentInput(3));
    expect(res.status).toBe(503);
    expect((await json(res)).code).toBe('key_custody_unavailable');
    await vaultOutage(false);
    const [row] = await sql<{ n: string }>('SELECT count(*)::text AS n FROM agents WHERE organization_id = $1', [
      org.organization_id,
    ]);
    expect(Number(row!.n)).toBe(0);
  });

  it('keeps local custody when KEY_CUSTODY is not vault (and Vault is never written)', async () => {
    const org = await createOrg();
    const local = inProcessWorker();
    const res = await local(
      new Request('https://idp.test/v1/agents', {
        method: 'POST',
        headers: { authorization: `Bearer ${org.api_key}`, 'content-type': 'application/json' },
        body: JSON.stringify(agentInput(4)),
      }),
    );
    expect(res.status).toBe(201);
    const agent = await json(res);
    const [key] = await sql<{ custody: string }>('SELECT custody FROM agent_did_keys WHERE agent_id = $1', [
      agent.agent_id,
    ]);
    expect(key!.custody).toBe('local');
    expect((await vaultLog()).some((e) => e.path.includes(agent.agent_id))).toBe(false);
  });
});

describe('webhook signing secrets in Vault (KEY_CUSTODY=vault)', () => {
  it('stores the secret in Vault, keeps an encrypted versioned path in Postgres, and signs deliveries with it', async () => {
    const org = await createOrg();
    const rx = receiver('vault');
    const res = await api(org, 'POST', '/v1/webhooks', { name: 'vault hook', url: rx.url, events: ['agent.created'] });
    expect(res.status).toBe(201);
    const hook = await json(res);
    expect(hook.secret).toMatch(/^whsec_/);
    const path = `agentidp/webhooks/${org.organization_id}/${hook.id}/secret`;

    const writes = (await vaultLog()).filter((e) => e.path === path && e.method === 'POST');
    expect(writes).toEqual([
      { method: 'POST', kind: 'data', path, version: 1, data: { secret: hook.secret }, status: 200 },
    ]);
    const [row] = await sql<{ secret_ciphertext: string }>(
      'SELECT secret_ciphertext FROM webhook_subscriptions WHERE id = $1',
      [hook.id],
    );
    expect(await encryptor.decrypt(row!.secret_ciphertext)).toBe(`vault:${path}#1`);

    await createAgentVault(org, 5);
    const [d] = await eventually(
      () => deliveries(org, hook.id),
      (ds) => ds.length === 1 && ds[0].status === 'delivered',
      'delivery',
    );
    expect(d.event_type).toBe('agent.created');
    const [req] = await rx.requests();
    expect(verify(hook.secret, req!).type).toBe('agent.created');

    const all = await everythingStoredFor(org.organization_id);
    expect(all).not.toContain(hook.secret);
    expect(all).not.toContain(hook.secret.slice('whsec_'.length));
    expect(all).not.toContain(path);
  });

  it('rotates into a new Vault version and keeps the previous version for the overlap', async () => {
    const org = await createOrg();
    const rx = receiver('vault-rot');
    const hook = await json(
      await api(org, 'POST', '/v1/webhooks', { name: 'rot', url: rx.url, events: ['agent.created'] }),
    );
    const rotated = await api(org, 'POST', `/v1/webhooks/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const { secret } = await json(rotated);
    const path = `agentidp/webhooks/${org.organization_id}/${hook.id}/secret`;
    const held = (await vaultPaths())[path]!;
    expect(held.current_version).toBe(2);
    expect(held.versions['1']!.data).toEqual({ secret: hook.secret });
    expect(held.versions['2']!.data).toEqual({ secret });
    const [row] = await sql<{ secret_ciphertext: string; previous_secret_ciphertext: string }>(
      'SELECT secret_ciphertext, previous_secret_ciphertext FROM webhook_subscriptions WHERE id = $1',
      [hook.id],
    );
    expect(await encryptor.decrypt(row!.secret_ciphertext)).toBe(`vault:${path}#2`);
    expect(await encryptor.decrypt(row!.previous_secret_ciphertext)).toBe(`vault:${path}#1`);

    // Deliveries during the overlap carry both signatures.
    await createAgentVault(org, 6);
    await eventually(
      () => deliveries(org, hook.id),
      (ds) => ds.length === 1 && ds[0].status === 'delivered',
      'delivery',
    );
    const [req] = await rx.requests();
    expect(verify(secret, req!).type).toBe('agent.created');
    expect(verify(hook.secret, req!).type).toBe('agent.created');
  });

  it('reads both secrets back from Vault for GET /v1/webhooks/{id}/secret; 503 and no record while Vault is down', async () => {
    const org = await createOrg();
    const body = { name: 'read', url: receiver('vault-read').url, events: ['agent.created'] };
    const hook = await json(await api(org, 'POST', '/v1/webhooks', body));
    const rotated = await json(await api(org, 'POST', `/v1/webhooks/${hook.id}/rotate-secret`));
    const path = `agentidp/webhooks/${org.organization_id}/${hook.id}/secret`;
    const logged = (await vaultLog()).length;
    const res = await api(org, 'GET', `/v1/webhooks/${hook.id}/secret`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      secret: rotated.secret,
      previous_secret: hook.secret,
      previous_expires_at: rotated.previous_secret_expires_at,
    });
    const reads = (await vaultLog()).slice(logged).filter((e) => e.path === path && e.method === 'GET');
    expect(reads.map((e) => e.version).sort()).toEqual([1, 2]);

    await vaultOutage(true);
    const down = await api(org, 'GET', `/v1/webhooks/${hook.id}/secret`);
    expect(down.status).toBe(503);
    expect((await json(down)).code).toBe('key_custody_unavailable');
    await vaultOutage(false);
    const recorded = await sql<{ n: string }>(
      `SELECT count(*)::text AS n FROM audit_events WHERE organization_id = $1 AND event_type = 'webhook.secret_read'`,
      [org.organization_id],
    );
    expect(Number(recorded[0]!.n)).toBe(1);
  });

  it('removes every version from Vault when the subscription is deleted', async () => {
    const org = await createOrg();
    const hook = await json(
      await api(org, 'POST', '/v1/webhooks', {
        name: 'del',
        url: receiver('vault-del').url,
        events: ['agent.created'],
      }),
    );
    await api(org, 'POST', `/v1/webhooks/${hook.id}/rotate-secret`);
    const path = `agentidp/webhooks/${org.organization_id}/${hook.id}/secret`;
    expect((await vaultPaths())[path]?.current_version).toBe(2);
    expect((await api(org, 'DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect((await vaultPaths())[path]).toBeUndefined();
  });

  it('refuses to rotate an unknown subscription without writing to Vault', async () => {
    const org = await createOrg();
    const id = crypto.randomUUID();
    const res = await api(org, 'POST', `/v1/webhooks/${id}/rotate-secret`);
    expect(res.status).toBe(404);
    expect((await vaultLog()).some((e) => e.path.includes(id))).toBe(false);
  });

  it('answers 503 key_custody_unavailable when Vault is down at creation, and creates nothing', async () => {
    const org = await createOrg();
    await vaultOutage(true);
    const res = await api(org, 'POST', '/v1/webhooks', {
      name: 'down',
      url: receiver('vault-down').url,
      events: ['agent.created'],
    });
    expect(res.status).toBe(503);
    expect((await json(res)).code).toBe('key_custody_unavailable');
    await vaultOutage(false);
    const [row] = await sql<{ n: string }>(
      'SELECT count(*)::text AS n FROM webhook_subscriptions WHERE organization_id = $1',
      [org.organization_id],
    );
    expect(Number(row!.n)).toBe(0);
  });
});
