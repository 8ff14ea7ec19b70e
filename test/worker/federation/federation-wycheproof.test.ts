// Project Wycheproof vectors (test/fixtures/wycheproof, Apache-2.0) against the federation verifier's own
// code: the JWKS policy and key import (importJwks), the token parser (parseJws), and the JWS layer of the
// verifier (verifyJws: jose's key resolver and signature check with our allow-list and failure reasons).
// A partner "publishes" each group's public key set (or, when the group has none, the key material it
// gives, which must then be refused).
//
// Policy divergences, asserted rather than skipped: the verifier accepts only RS256, PS256, ES256, ES384
// and EdDSA, so vectors that are valid for HS*, RS384/512, PS384/512 or ES512 must be refused — and only
// for that reason. JWE vectors (json_web_crypto_test jwe_*) do not apply to a JWS verifier.
import { describe, expect, it } from 'vitest';
import { FederationVerificationError } from '../../../worker/features/federation/errors.ts';
import { parseJws } from '../../../worker/features/federation/jws.ts';
import { FEDERATION_ALGS, importJwks, type KeySet } from '../../../worker/features/federation/key-policy.ts';
import { type KeySource, verifyJws } from '../../../worker/features/federation/verify-token.ts';
import p1363Vectors from '../../fixtures/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json';
import cryptoVectors from '../../fixtures/wycheproof/json_web_crypto_test.json';
import keyVectors from '../../fixtures/wycheproof/json_web_key_test.json';
import sigVectors from '../../fixtures/wycheproof/json_web_signature_test.json';
import { b64url, fromB64url } from '../../support/federation.ts';

interface JwsTest {
  tcId: number;
  comment: string;
  jws: unknown;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}
interface JwsGroup {
  comment: string;
  private?: Record<string, unknown>;
  public?: Record<string, unknown>;
  tests: JwsTest[];
}

type Outcome = { accepted: true } | { accepted: false; stage: 'import' | 'verify'; reason: string };

const asKeySet = (k: Record<string, unknown>) => (Array.isArray(k.keys) ? k : { keys: [k] });
/** The published set and nothing newer: a refetch finds no other key. */
const fixedKeys = (keySet: KeySet): KeySource => ({ current: async () => keySet, refresh: async () => undefined });

async function verifyWith(keySet: KeySet, jws: unknown): Promise<Outcome> {
  if (typeof jws !== 'string') return { accepted: false, stage: 'verify', reason: 'malformed' }; // JSON serialization
  try {
    await verifyJws(parseJws(jws, 16_384), fixedKeys(keySet));
    return { accepted: true };
  } catch (err) {
    if (err instanceof FederationVerificationError) return { accepted: false, stage: 'verify', reason: err.reason };
    throw err;
  }
}

async function run(group: JwsGroup, test: JwsTest): Promise<Outcome> {
  const published = group.public ?? group.private;
  if (!published) throw new Error(`group ${group.comment} has no keys`);
  const imported = await importJwks(asKeySet(published));
  if (!imported.ok) return { accepted: false, stage: 'import', reason: imported.reason };
  return verifyWith(imported.keySet, test.jws);
}

function headerAlg(jws: unknown): string | undefined {
  if (typeof jws !== 'string') return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(fromB64url(jws.split('.')[0]!))).alg;
  } catch {
    return undefined;
  }
}

function parseReason(jws: unknown): string | undefined {
  try {
    parseJws(jws as string, 16_384);
    return undefined;
  } catch (err) {
    return err instanceof FederationVerificationError ? err.reason : String(err);
  }
}

const policyAllows = (jws: unknown) => (FEDERATION_ALGS as readonly string[]).includes(headerAlg(jws) ?? '');

/** Checks every test of a file against its expected result; returns counts for the summary assertions. */
async function checkFile(groups: JwsGroup[], only: (g: JwsGroup) => boolean = () => true) {
  const counts = { accepted: 0, rejected: 0, policy: 0 };
  const failures: string[] = [];
  for (const group of groups.filter(only)) {
    for (const test of group.tests) {
      const outcome = await run(group, test);
      const id = `${group.comment} #${test.tcId} ${test.comment}`;
      if (test.result === 'valid' && policyAllows(test.jws)) {
        if (!outcome.accepted) failures.push(`${id}: valid vector refused (${outcome.stage}: ${outcome.reason})`);
        else counts.accepted++;
      } else if (test.result === 'valid') {
        // Valid elsewhere, outside our algorithm policy: refused as alg_not_allowed, or at import when
        // the group's keys are of a kind we never accept (symmetric, P-521).
        if (outcome.accepted) failures.push(`${id}: accepted outside the algorithm policy`);
        else if (outcome.stage === 'verify' && outcome.reason !== 'alg_not_allowed')
          failures.push(`${id}: refused for ${outcome.reason}, not policy`);
        else counts.policy++;
      } else if (test.result === 'invalid') {
        if (outcome.accepted) failures.push(`${id}: invalid vector accepted`);
        else counts.rejected++;
        // alg none is refused by the parser, whatever the partner's keys.
        if (test.flags.includes('AlgIsNone') && parseReason(test.jws) !== 'alg_not_allowed')
          failures.push(`${id}: ${parseReason(test.jws)}`);
        if (!outcome.accepted && test.flags.includes('ModifiedPadding') && outcome.reason !== 'signature_invalid')
          failures.push(`${id}: ${outcome.reason}`);
      }
    }
  }
  expect(failures).toEqual([]);
  return counts;
}

describe('json_web_signature_test.json', () => {
  const groups = sigVectors.testGroups as unknown as JwsGroup[];

  it('every vector gets its expected result (401 vectors)', async () => {
    const counts = await checkFile(groups);
    expect(counts.accepted + counts.rejected + counts.policy).toBe(sigVectors.numberOfTests);
    expect(counts.accepted).toBe(16); // every valid RS256, PS256 and ES256 vector (RFC 7520 RS256 included)
  });

  it('SpecialCaseEs256: only the genuine signature verifies; edge-case r and s are signature_invalid', async () => {
    const group = groups.find((g) => g.comment === 'SpecialCaseEs256')!;
    for (const test of group.tests) {
      const outcome = await run(group, test);
      if (test.result === 'valid') expect(outcome, test.comment).toEqual({ accepted: true });
      else expect(outcome, test.comment).toEqual({ accepted: false, stage: 'verify', reason: 'signature_invalid' });
    }
  });

  it('keys marked for encryption (use or key_ops) are never used to verify', async () => {
    for (const group of groups.filter((g) => g.comment === 'rsa_encryption' || g.comment === 'ec_key_for_encryption')) {
      const outcome = await run(group, group.tests[0]!);
      expect(outcome).toMatchObject({
        accepted: false,
        stage: 'import',
        reason: 'the JWKS holds no usable signing key',
      });
    }
  });

  it('an embedded attacker jwk (es256 #32) is ignored, and an HMAC key made from the EC key (#31) is refused', async () => {
    const group = groups.find((g) => g.comment === 'es256')!;
    const byId = (id: number) => group.tests.find((t) => t.tcId === id)!;
    expect(await run(group, byId(32))).toEqual({ accepted: false, stage: 'verify', reason: 'signature_invalid' });
    expect(await run(group, byId(31))).toEqual({ accepted: false, stage: 'verify', reason: 'alg_not_allowed' });
  });
});

describe('json_web_key_test.json', () => {
  const groups = keyVectors.testGroups as unknown as JwsGroup[];

  it('every vector gets its expected result (26 vectors)', async () => {
    const counts = await checkFile(groups);
    expect(counts.accepted + counts.rejected + counts.policy).toBe(keyVectors.numberOfTests);
  });

  it.each([
    ['jws_rsa_roca_key', /ROCA/],
    ['keysize_too_small', /1024 bits/],
    ['exponentOne', /exponent/],
    ['invalid_point', /cannot be imported/],
    ['wrong_curve', /48-byte/],
    ['wrong_kty', /"n" and "e"/],
    ['invalid_use', /no usable signing key/],
    ['wrong_algorithm', /no usable signing key/],
    ['invalid_algorithm', /no usable signing key/],
    ['jws_mixedSymmetryKeyset', /symmetric/],
    ['jws_duplicate_kid', /symmetric/],
    ['invalid_aes_gcm_key', /symmetric/],
  ])('the %s key set is refused at import (%s)', async (name, why) => {
    const group = groups.find((g) => g.comment === name)!;
    const outcome = await run(group, group.tests[0]!);
    expect(outcome.accepted).toBe(false);
    if (!outcome.accepted) {
      expect(outcome.stage).toBe('import');
      expect(outcome.reason).toMatch(why);
    }
  });

  it('duplicate kids among public keys are refused', async () => {
    const group = groups.find((g) => g.comment === 'rs256' && g.public)!;
    const key = (group.public!.keys as Record<string, unknown>[])[0]!;
    const imported = await importJwks({
      keys: [
        { ...key, kid: 'same' },
        { ...key, kid: 'same' },
      ],
    });
    expect(imported).toMatchObject({ ok: false, reason: 'duplicate kid "same"' });
  });
});

describe('json_web_crypto_test.json (JWS groups)', () => {
  it('every JWS vector gets its expected result', async () => {
    const groups = cryptoVectors.testGroups as unknown as JwsGroup[];
    const counts = await checkFile(groups, (g) => g.comment.startsWith('jws_'));
    const jwsTests = groups.filter((g) => g.comment.startsWith('jws_')).reduce((n, g) => n + g.tests.length, 0);
    expect(counts.accepted + counts.rejected + counts.policy).toBe(jwsTests);
    expect(counts.accepted).toBe(2); // jws_ec and jws_rsa acceptsValid
  });
});

describe('ecdsa_secp256r1_sha256_p1363_test.json', () => {
  interface EcdsaTest {
    tcId: number;
    comment: string;
    msg: string;
    sig: string;
    result: 'valid' | 'invalid' | 'acceptable';
  }
  interface EcdsaGroup {
    publicKey: { wx: string; wy: string };
    publicKeyJwk?: { x: string; y: string };
    tests: EcdsaTest[];
  }
  const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
  const coord = (h: string) => {
    const b = hex(h.length % 2 ? `0${h}` : h);
    let i = 0;
    while (b.length - i > 32 && b[i] === 0) i++;
    const out = new Uint8Array(Math.max(32, b.length - i));
    out.set(b.slice(i), out.length - (b.length - i));
    return b64url(out);
  };

  it('imports every key; the resolved key accepts the valid signatures and refuses the invalid ones, in tokens too', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const group of p1363Vectors.testGroups as unknown as EcdsaGroup[]) {
      const jwk = { kty: 'EC', crv: 'P-256', kid: 'k', x: coord(group.publicKey.wx), y: coord(group.publicKey.wy) };
      const imported = await importJwks({ keys: [jwk] });
      if (!imported.ok) {
        failures.push(`key ${group.publicKey.wx}: ${imported.reason}`);
        continue;
      }
      const key = await imported.keySet.resolve({ alg: 'ES256', kid: 'k' });
      for (const test of group.tests) {
        checked++;
        // The key the verifier resolves, with the ES256 signature check, over the vector's message instead
        // of a JWS signing input.
        const primitive = await crypto.subtle
          .verify({ name: 'ECDSA', hash: 'SHA-256' }, key, hex(test.sig), hex(test.msg))
          .catch(() => false);
        if (test.result === 'valid' && !primitive)
          failures.push(`#${test.tcId} ${test.comment}: valid signature refused`);
        if (test.result === 'invalid') {
          if (primitive) failures.push(`#${test.tcId} ${test.comment}: invalid signature accepted`);
          // An invalid signature is invalid over any message: carried in a token, the verifier must refuse it.
          const token = `${b64url({ alg: 'ES256', kid: 'k' })}.${b64url({ msg: test.msg })}.${b64url(hex(test.sig))}`;
          const outcome = await verifyWith(imported.keySet, token);
          if (outcome.accepted || !['signature_invalid', 'malformed'].includes(outcome.reason)) {
            failures.push(`#${test.tcId} ${test.comment}: token ${JSON.stringify(outcome)}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(p1363Vectors.numberOfTests);
  });
});
