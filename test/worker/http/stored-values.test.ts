// Values Postgres cannot store exactly are refused before any query: NUL characters and lone surrogates in
// string fields, cursors whose timestamps JavaScript accepts but Postgres does not, a Stripe event id with a
// NUL, a federated token whose issuer holds one. Identifiers are stored in Unicode NFC.

import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { Db } from '../../../worker/platform/db.ts';
import { toBase64Url, utf8 } from '../../../worker/platform/encoding.ts';
import { encodeCursor } from '../../../worker/platform/pagination.ts';
import { isStorableInstant, isStorableText } from '../../../worker/platform/text.ts';
import { bindings } from '../../support/clocked-app.ts';
import { PartnerIdp } from '../../support/federation.ts';
import { deliver, postWebhook, signature, stripeEvent } from '../../support/stripe.ts';
import { ADMIN_TOKEN, agentInput, call, createAgent, createOrg, expectProblem, json } from '../../support/worker.ts';

const fieldErrors = (p: { errors?: Array<{ path: string }> }) => (p.errors ?? []).map((e) => e.path);

describe('text rules', () => {
  it('isStorableText refuses NUL and lone surrogates, and accepts any other Unicode', () => {
    for (const ok of ['', 'plain', 'café', '日本語', '😀', 'tab\there', 'line\nbreak'])
      expect(isStorableText(ok), ok).toBe(true);
    for (const bad of ['\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\ude00\ud83d'])
      expect(isStorableText(bad), JSON.stringify(bad)).toBe(false);
  });

  it('isStorableInstant accepts strict ISO instants and refuses what Postgres would', () => {
    for (const ok of [
      '2026-01-31T12:00:00Z',
      '2024-02-29T00:00:00.123Z',
      '2026-06-01T08:30:00+02:00',
      '9999-12-31T23:59:59.999999Z',
    ]) {
      expect(isStorableInstant(ok), ok).toBe(true);
    }
    const bad = [
      '2020-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '1',
      '2020-02-30',
      '+275760-09-13T00:00:00.000Z',
      '0000-01-01T00:00:00Z',
      '2020-13-01T00:00:00Z',
      '2020-01-01T24:00:00Z',
      '2020-01-01T00:00:00+15:00',
      '2020-01-01T00:00:00',
      '2020-01-01 00:00:00Z',
      ' 2020-01-01T00:00:00Z',
    ];
    for (const b of bad) expect(isStorableInstant(b), b).toBe(false);
  });

  it('the data layer refuses an unstorable parameter without sending it', async () => {
    const db = new Db(bindings.DATABASE_URL as string, bindings.NEON_WS_PROXY as string);
    try {
      await expect(db.query('SELECT $1::text AS v', ['a\u0000b'])).rejects.toMatchObject({ code: 'validation_failed' });
      expect(db.queries).toBe(0);
      expect(await db.query('SELECT $1::text AS v', ['café'])).toEqual([{ v: 'café' }]);
    } finally {
      await db.close();
    }
  });
});

describe('string fields', () => {
  it('a NUL or a lone surrogate in any agent field is a 400 naming the field', async () => {
    const org = await createOrg();
    for (const field of ['owner', 'agent_type', 'version', 'deployment_env', 'email']) {
      for (const bad of ['x\u0000y', 'x\ud800']) {
        const p = await expectProblem(
          await call('POST', '/v1/agents', { token: org.api_key, body: { ...agentInput(), [field]: bad } }),
          400,
          'validation_failed',
        );
        expect(fieldErrors(p), field).toContain(field);
      }
    }
    const p = await expectProblem(
      await call('POST', '/v1/agents', {
        token: org.api_key,
        body: { ...agentInput(), capabilities: ['ok', 'a\u0000'] },
      }),
      400,
      'validation_failed',
    );
    expect(fieldErrors(p)).toContain('capabilities.1');
  });

  it('organization, webhook and partner names with a NUL are a 400', async () => {
    const p = await expectProblem(
      await call('POST', '/v1/admin/organizations', { token: ADMIN_TOKEN, body: { name: 'acme\u0000' } }),
      400,
      'validation_failed',
    );
    expect(fieldErrors(p)).toEqual(['name']);
    const org = await createOrg();
    const hook = await expectProblem(
      await call('POST', '/v1/webhooks', {
        token: org.api_key,
        body: { name: '\u0000', url: 'https://example.com/h', events: ['agent.created'] },
      }),
      400,
      'validation_failed',
    );
    expect(fieldErrors(hook)).toContain('name');
    const partner = await expectProblem(
      await call('POST', '/v1/federation/partners', {
        token: ADMIN_TOKEN,
        body: { name: 'p\u0000', issuer: 'https://i.example', jwks_uri: 'https://i.example/jwks' },
      }),
      400,
      'validation_failed',
    );
    expect(fieldErrors(partner)).toContain('name');
  });

  it('identifiers are stored in NFC: a decomposed spelling is the same value', async () => {
    const org = await createOrg();
    const decomposed = 'cafe\u0301';
    const agent = await createAgent(org, {
      ...agentInput(),
      agent_type: decomposed,
      capabilities: [`re${'\u0301'}sume\u0301`],
    });
    expect(agent.agent_type).toBe('café');
    expect(agent.agent_type).toHaveLength(4);
    expect(agent.capabilities).toEqual(['résumé']);
  });
});

describe('pagination cursors', () => {
  const cursor = (createdAt: unknown, id: unknown = crypto.randomUUID()) =>
    toBase64Url(utf8(JSON.stringify([createdAt, id])));

  it('a cursor holding an impossible or out-of-range date is a 400 on `cursor`, not a 500', async () => {
    const org = await createOrg();
    const bad = [
      cursor('2020-02-30'),
      cursor('2020-02-30T00:00:00Z'),
      cursor('1'),
      cursor('+275760-09-13T00:00:00.000Z'),
      cursor('0000-01-01T00:00:00Z'),
      cursor('2020-01-01T00:00:00Z', '------------------------------------'),
      cursor(1),
      'not-base64-json',
      toBase64Url(new Uint8Array([0xff, 0xfe, 0x00])),
    ];
    for (const c of bad) {
      const p = await expectProblem(
        await call('GET', `/v1/agents?cursor=${encodeURIComponent(c)}`, { token: org.api_key }),
        400,
        'validation_failed',
      );
      expect(fieldErrors(p), c).toEqual(['cursor']);
    }
  });

  it('the cursors the API hands out still page through every agent once', async () => {
    const org = await createOrg();
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await createAgent(org, agentInput(i))).agent_id);
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page: { data: Array<{ agent_id: string }>; next_cursor: string | null } = await json(
        await call('GET', `/v1/agents?limit=2${next ? `&cursor=${next}` : ''}`, { token: org.api_key }),
      );
      seen.push(...page.data.map((a) => a.agent_id));
      next = page.next_cursor;
    } while (next);
    expect(seen.sort()).toEqual(made.sort());
    expect(encodeCursor({ createdAt: '2026-01-01T00:00:00.000Z', id: made[0]! })).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('values from outside the schema', () => {
  it('a signed Stripe event whose id or type holds a NUL is refused as not an event', async () => {
    for (const over of [{ id: 'evt_\u0000' }, { type: 'checkout.session.completed\u0000' }]) {
      const event = { ...stripeEvent('invoice.paid', { id: 'in_test' }), ...over };
      const payload = JSON.stringify(event);
      await expectProblem(await postWebhook(payload, await signature(payload)), 400, 'stripe_event_invalid');
    }
    // A well-formed one still goes through.
    expect((await deliver(stripeEvent('invoice.paid', { id: 'in_test' }))).status).toBe(200);
  });

  it('a federated token whose issuer holds a NUL is an unknown issuer (401), not a 500', async () => {
    const org = await createOrg();
    const idp = new PartnerIdp();
    const key = await idp.addKey('ES256');
    const token = await new SignJWT({ organization_id: org.organization_id })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setIssuer(`${idp.issuer}\u0000`)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.privateKey);
    const p = await expectProblem(
      await call('POST', '/v1/federation/verify', { token: org.api_key, body: { token } }),
      401,
      'federation_verification_failed',
    );
    expect(p.reason).toBe('unknown_issuer');
  });
});
