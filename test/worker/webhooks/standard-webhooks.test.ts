import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  signWebhook,
  webhookHeaders,
} from '../../../worker/features/webhooks/standard-webhooks.ts';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../worker/features/webhooks/webhook-http.ts';
import { fromBase64 } from '../../../worker/platform/encoding.ts';
// Copied from ../shared/vectors/standard-webhooks (standard-webhooks/standard-webhooks@b2fa7b8, Apache-2.0/MIT).
import vectors from '../../fixtures/standard-webhooks/standard_webhooks_vectors.json';

const signVector = vectors.vectors.find((v) => v.name === 'sign function works')!;

describe('Standard Webhooks signer', () => {
  it('reproduces the published vector byte for byte', async () => {
    const { secret, msg_id, timestamp, payload, expected_signature } = signVector as Required<typeof signVector>;
    expect(await signWebhook(secret, msg_id, timestamp, payload)).toBe(expected_signature);
    // The same key without the whsec_ prefix (webhook.test.ts lines 186-194).
    expect(await signWebhook(secret.slice('whsec_'.length), msg_id, timestamp, payload)).toBe(expected_signature);
  });

  it('signs what the derived cases say verifies, and only that', async () => {
    for (const c of vectors.derived_cases.cases) {
      const ts = Number(c.headers['webhook-timestamp']);
      const ours = await signWebhook(c.secret, c.headers['webhook-id'] ?? '', ts, c.payload);
      const listed = c.headers['webhook-signature'].split(' ');
      if (c.name === 'payload changed by one space') expect(listed).not.toContain(ours);
      else if (c.expected === 'valid') expect(listed).toContain(ours);
    }
  });

  it('refuses empty secrets and invalid timestamps', async () => {
    const v = signVector as Required<typeof signVector>;
    for (const s of ['', 'whsec_'])
      await expect(signWebhook(s, v.msg_id, v.timestamp, v.payload)).rejects.toThrow(TypeError);
    for (const ts of [161426533.5, -161426533, Number.NaN]) {
      await expect(signWebhook(v.secret, v.msg_id, ts, v.payload)).rejects.toThrow(TypeError);
    }
  });

  it('signs with every secret during an overlap, each verifiable on its own', async () => {
    const [a, b] = [generateWebhookSecret(), generateWebhookSecret()];
    const body = '{"type":"agent.created","timestamp":"2026-01-01T00:00:00.000Z","data":{}}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = await webhookHeaders([b, a], 'evt_1', ts, body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(a).verify(body, headers)).toMatchObject({ type: 'agent.created' });
    expect(new Webhook(b).verify(body, headers)).toMatchObject({ type: 'agent.created' });
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('makes whsec_ secrets of 32 random bytes', () => {
    const s = generateWebhookSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(fromBase64(s.slice(6))).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(s);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    ['120', 120_000],
    ['0', 0],
    ['Sun, 01 Mar 2026 12:01:30 GMT', 90_000],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
    ['999999999', MAX_RETRY_AFTER_MS],
    [null, null],
    ['soon', null],
    ['-5', null],
  ])('%s → %s', (v, ms) => {
    expect(parseRetryAfter(v, now)).toBe(ms);
  });
});
