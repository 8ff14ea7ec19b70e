// The fixed Stripe signature vector (stripe-dotnet EventUtilityTest; test/fixtures/stripe-webhooks/README.md)
// through the Worker's webhook endpoint, with its own secret and the clock set to its own timestamp.
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../worker/platform/clock.ts';
import payload from '../../fixtures/stripe-webhooks/event_test_signature.json?raw';
import vectors from '../../fixtures/stripe-webhooks/stripe_webhook_vectors.json';
import { clockedApp, MovableClock } from '../../support/clocked-app.ts';
import { postWebhook } from '../../support/stripe.ts';
import { expectProblem, json } from '../../support/worker.ts';

const vector = vectors.vectors[0]!;
const at = (seconds: number) => new Date(seconds * 1000).toISOString();
/** The Worker with the vector's secret, at `seconds` (or the real time). */
const appAt = (seconds?: number) =>
  clockedApp(seconds === undefined ? systemClock : new MovableClock(at(seconds)), {
    STRIPE_WEBHOOK_SECRET: vector.secret,
  });

describe('fixed Stripe vector (stripe-dotnet)', () => {
  it('is the exact signed bytes', () => {
    expect(new TextEncoder().encode(payload).length).toBe(484);
  });

  it('verifies with its own secret and timestamp', async () => {
    for (const outcome of vector.outcomes_in_source.filter((o) => o.expected === 'valid')) {
      const res = await postWebhook(payload, vector.stripe_signature_header, appAt(outcome.now));
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.event_id).toBe('evt_123');
      // customer.created is not a billing event: handled (or already handled) and ignored.
      expect(['ignored', 'duplicate']).toContain(body.outcome);
    }
  });

  it('is refused as stale at the current time and just past its tolerance', async () => {
    const stale = await expectProblem(
      await postWebhook(payload, vector.stripe_signature_header, appAt()),
      400,
      'stripe_signature_invalid',
    );
    expect(stale.reason).toBe('timestamp_outside_tolerance');
    for (const outcome of vector.outcomes_in_source.filter((o) => o.expected.startsWith('invalid: timestamp'))) {
      const body = await expectProblem(
        await postWebhook(payload, vector.stripe_signature_header, appAt(outcome.now)),
        400,
        'stripe_signature_invalid',
      );
      expect(body.reason).toBe('timestamp_outside_tolerance');
    }
  });

  it('refuses the payload with bytes appended', async () => {
    const body = await expectProblem(
      await postWebhook(`${payload}this_changes_the_json`, vector.stripe_signature_header, appAt(vector.timestamp)),
      400,
      'stripe_signature_invalid',
    );
    expect(body.reason).toBe('signature_mismatch');
  });

  it('derived cases (stripe-node semantics: only age is checked)', async () => {
    for (const c of vectors.derived_cases.cases) {
      const app = clockedApp(new MovableClock(at(c.now)), {
        STRIPE_WEBHOOK_SECRET: 'secret' in c ? c.secret : vector.secret,
      });
      const res = await postWebhook(payload, c.header, app);
      const valid = c.expected === 'valid' || c.expected.includes('stripe-node: valid');
      if (valid) expect(res.status, c.name).toBe(200);
      else await expectProblem(res, 400, 'stripe_signature_invalid');
    }
  });

  it('malformed headers are refused with 400', async () => {
    const headers =
      vectors.malformed_headers_expected_invalid[
        "stripe-dotnet (EventUtilityTest.cs lines 146-158, payload '{}', secret '')"
      ];
    for (const header of [...headers, 'bad_header', "I'm not even a real signature header"]) {
      await expectProblem(await postWebhook(payload, header, appAt(vector.timestamp)), 400, 'stripe_signature_invalid');
    }
  });
});
