import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { LocalKeyCustody } from '../../../worker/features/did/key-custody/index.ts';
import { secretCustodyMode } from '../../../worker/features/oidc/node-oidc.ts';
import { statusOf } from '../../../worker/http/errors.ts';
import { Encryptor, parseEncryptionKeys, randomBytes } from '../../../worker/platform/crypto.ts';
import { toBase64, toBase64Url, utf8 } from '../../../worker/platform/encoding.ts';
import { AppError } from '../../../worker/platform/errors.ts';
import { bindings, workerServices } from '../../support/did.ts';
import { createAgent, createOrg } from '../../support/worker.ts';

const newKey = () => toBase64(randomBytes(32));

async function p256(): Promise<{ privateJwk: JsonWebKey; publicJwk: JsonWebKey }> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const privateJwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey;
  const { kty, crv, x, y } = privateJwk;
  return { privateJwk, publicJwk: { kty, crv, x, y } };
}

async function expectCode(p: Promise<unknown>, status: number, code: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect(statusOf((err as AppError).code)).toBe(status);
  expect((err as AppError).code).toBe(code);
}

describe('LocalKeyCustody', () => {
  it('stores an AES-256-GCM envelope, never the private key, and signs ES256 (raw r‖s) with it', async () => {
    const custody = new LocalKeyCustody(new Encryptor({ k1: newKey() }));
    const { privateJwk, publicJwk } = await p256();
    const ref = await custody.store(privateJwk, { kid: 'kid', owner: 'agent:test' });
    expect(ref).toMatch(/^v1\.k1\.[\w-]+\.[\w-]+$/);
    expect(ref).not.toContain(privateJwk.d!);

    const data = utf8('payload to sign');
    const sig = await custody.sign(ref, data);
    expect(sig.byteLength).toBe(64);
    const verifyKey = await crypto.subtle.importKey('jwk', publicJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'verify',
    ]);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifyKey, sig, data)).toBe(true);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifyKey, sig, utf8('other'))).toBe(false);
  });

  it('opens refs made under an older ENCRYPTION_KEY after rotation', async () => {
    const [oldKey, newer] = [newKey(), newKey()];
    const { privateJwk } = await p256();
    const ref = await new LocalKeyCustody(new Encryptor(parseEncryptionKeys(`k1:${oldKey}`))).store(privateJwk, {
      kid: 'k',
      owner: 'o',
    });
    const rotated = new LocalKeyCustody(new Encryptor(parseEncryptionKeys(`k2:${newer},k1:${oldKey}`)));
    expect((await rotated.sign(ref, utf8('x'))).byteLength).toBe(64);
    expect(await rotated.store(privateJwk, { kid: 'k', owner: 'o' })).toMatch(/^v1\.k2\./);
  });

  it('refuses refs it cannot open, without saying what they hold', async () => {
    const custody = new LocalKeyCustody(new Encryptor({ k1: newKey() }));
    const other = new LocalKeyCustody(new Encryptor({ k1: newKey() }));
    const ref = await custody.store((await p256()).privateJwk, { kid: 'k', owner: 'o' });
    await expectCode(other.sign(ref, utf8('x')), 500, 'key_unavailable');
    const [v, kid, iv, ct] = ref.split('.');
    const flipped = `${ct![0] === 'A' ? 'B' : 'A'}${ct!.slice(1)}`;
    await expectCode(custody.sign(`${v}.${kid}.${iv}.${flipped}`, utf8('x')), 500, 'key_unavailable');
    await expectCode(custody.sign('not-a-ref', utf8('x')), 500, 'key_unavailable');
    const err = await custody.sign('v1.k1.AAAA.BBBB', utf8('x')).catch((e: Error) => e);
    expect(String((err as Error).message)).not.toContain('AAAA');
  });

  it('stores only EC P-256 private keys', async () => {
    const custody = new LocalKeyCustody(new Encryptor({ k1: newKey() }));
    const { publicJwk } = await p256();
    await expect(custody.store(publicJwk, { kid: 'k', owner: 'o' })).rejects.toThrow(TypeError);
    await expect(custody.store({ kty: 'RSA', n: 'x', e: 'AQAB', d: 'y' }, { kid: 'k', owner: 'o' })).rejects.toThrow(
      TypeError,
    );
    await expect(custody.delete('anything')).resolves.toBeUndefined();
  });
});

describe('agent DID keys at rest', () => {
  it('keeps the public JWK with its thumbprint as kid and the private key only as an envelope', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const { db, config, close } = workerServices();
    try {
      const rows = await db.query<{
        kid: string;
        organization_id: string;
        public_key_jwk: JsonWebKey;
        custody: string;
        private_key_ref: string;
      }>(
        'SELECT kid, organization_id, public_key_jwk, custody, private_key_ref FROM agent_did_keys WHERE agent_id = $1',
        [agent.agent_id],
      );
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(row.organization_id).toBe(org.organization_id);
      expect(row.custody).toBe(secretCustodyMode(config));
      expect(row.public_key_jwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
      expect(row.kid).toBe(await calculateJwkThumbprint(row.public_key_jwk as never, 'sha256'));
      expect(row.private_key_ref).toMatch(/^v1\.k1\.[\w-]+\.[\w-]+$/);

      // The envelope opens under ENCRYPTION_KEY: in local custody to the private half of exactly this public
      // key, in Vault custody to a Vault path.
      const opened = await new Encryptor(parseEncryptionKeys(bindings.ENCRYPTION_KEY)).decrypt(row.private_key_ref);
      if (row.custody === 'local') {
        const jwk = JSON.parse(opened);
        expect(jwk).toMatchObject({ ...row.public_key_jwk, d: expect.stringMatching(/^[\w-]{43}$/) });
        expect(row.private_key_ref).not.toContain(jwk.d);
      } else {
        expect(opened).not.toMatch(/"d"/);
      }
      const withPrivate = { ...row.public_key_jwk, d: 'AAAA' };
      await expect(
        db.query('UPDATE agent_did_keys SET public_key_jwk = $2 WHERE kid = $1', [
          row.kid,
          JSON.stringify(withPrivate),
        ]),
      ).rejects.toThrow();
    } finally {
      await close();
    }
  });

  it('signs with the agent key through DidService.sign, verifiable with the published JWK', async () => {
    const org = await createOrg();
    const agent = await createAgent(org);
    const { services, close } = workerServices();
    try {
      const header = { alg: 'ES256', kid: '' };
      const payload = toBase64Url(utf8(JSON.stringify({ sub: agent.did })));
      const first = await services.did.sign(org.organization_id, agent.agent_id, utf8('probe'));
      header.kid = first.verificationMethod;
      const signingInput = `${toBase64Url(utf8(JSON.stringify(header)))}.${payload}`;
      const { signature } = await services.did.sign(org.organization_id, agent.agent_id, utf8(signingInput));
      const doc = await services.did.buildAgentDocument(agent.agent_id);
      const vm = doc.verificationMethod.find((m) => m.id === header.kid)!;
      const { protectedHeader } = await compactVerify(
        `${signingInput}.${toBase64Url(signature)}`,
        await importJWK(vm.publicKeyJwk, 'ES256'),
        {
          algorithms: ['ES256'],
        },
      );
      expect(protectedHeader.kid).toBe(`${agent.did}#${first.kid}`);

      // Another tenant cannot sign with it; a decommissioned agent cannot sign at all.
      const other = await createOrg();
      await expectCode(services.did.sign(other.organization_id, agent.agent_id, utf8('x')), 404, 'not_found');
      await services.agents.decommission(org.organization_id, agent.agent_id, 'test');
      await expectCode(services.did.sign(org.organization_id, agent.agent_id, utf8('x')), 409, 'agent_not_active');
      await expectCode(services.did.sign(org.organization_id, 'not-a-uuid', utf8('x')), 404, 'not_found');
    } finally {
      await close();
    }
  });
});
