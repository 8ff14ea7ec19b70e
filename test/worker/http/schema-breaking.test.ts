// Every operation of /openapi.json, called with valid credentials and one schema-breaking value at a time
// (NUL characters, lone surrogates, over-long strings, wrong types, impossible dates, crafted cursors): the
// answer is never a 500, and a broken JSON body field is refused by validation, naming the field, before
// anything reaches Postgres.

import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { PartnerIdp, unique } from '../../support/federation.ts';
import {
  breakingRequests,
  type Doc,
  type Operation,
  operations,
  type Samples,
  validRequest,
  type WalkRequest,
} from '../../support/openapi-walk.ts';
import { createWebhook, receiver } from '../../support/webhooks.ts';
import { ADMIN_TOKEN, agentInput, BASE, call, createAgent, createOrg, json, type Org } from '../../support/worker.ts';

let doc: Doc;
let org: Org;
let samples: Samples;
let ids: Record<string, string>;

beforeAll(async () => {
  doc = await json(await call('GET', '/openapi.json'));
  // Enterprise: unlimited calls, so the walk never meets the daily limit.
  org = await createOrg('enterprise');
  const agent = await createAgent(org);
  const other = await createAgent(org, { ...agentInput(2) });
  const credential = await json(
    await call('POST', `/v1/agents/${agent.agent_id}/credentials`, { token: org.api_key, body: {} }),
  );
  const hook = await createWebhook(org, receiver('walk').url);
  const idp = new PartnerIdp();
  await idp.addKey('ES256');
  const partner = await json(
    await call('POST', '/v1/federation/partners', {
      token: ADMIN_TOKEN,
      body: { name: 'walk', issuer: idp.issuer, jwks_uri: idp.jwksUri },
    }),
  );
  ids = {
    agent: agent.agent_id,
    credential: credential.credential_id,
    webhook: hook.id,
    partner: partner.id,
    did: agent.did,
  };
  samples = {
    byName: {
      url: receiver('walk').url,
      jwks_uri: idp.jwksUri,
      // Fresh per request: a partner created by one request must not turn the next into a 409.
      issuer: () => `https://${unique('walk')}.partner.test`,
      endpoint: 'https://agent.example.com/a2a',
      success_url: 'https://example.com/ok',
      cancel_url: 'https://example.com/cancel',
      capabilities: ['search'],
      scope: 'search',
      delegator_id: agent.agent_id,
      delegatee_id: other.agent_id,
      target_tier: 'enterprise',
      tier: 'free',
    },
  };
});

/** Opaque credentials: a broken one is an unknown token (401 by contract), not a validation error. */
const OPAQUE = new Set(['token']);

/** Real resources for path parameters, so a request gets past "not found" to the code that stores things. */
function pathValues(op: Operation): Record<string, string> {
  const id = op.path.startsWith('/v1/webhooks')
    ? ids.webhook
    : op.path.startsWith('/v1/federation/partners')
      ? ids.partner
      : crypto.randomUUID();
  return { agent_id: ids.agent!, credential_id: ids.credential!, id: id!, did: ids.did! };
}

function send(op: Operation, r: WalkRequest): Promise<Response> {
  const headers: Record<string, string> = {};
  if (op.security.includes('tenantApiKey')) headers.authorization = `Bearer ${org.api_key}`;
  if (op.security.includes('adminToken')) headers.authorization = `Bearer ${ADMIN_TOKEN}`;
  let body: string | undefined;
  if (r.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(r.form).toString();
  } else if (r.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(r.body);
  }
  return exports.default.fetch(new Request(`${BASE}${r.path}`, { method: r.method, headers, body }));
}

describe('schema-breaking values on every operation of /openapi.json', () => {
  it('starts from valid requests: every JSON body sampled from the document passes validation', async () => {
    const refused: string[] = [];
    for (const op of operations(doc).filter((o) => o.body?.type === 'json' && o.security.length > 0)) {
      const res = await send(op, validRequest(doc, op, samples, pathValues(op)));
      const text = await res.text();
      // Business rules may still refuse (an upgrade of an enterprise tenant); the schema must not.
      if (res.status === 400 && text.includes('Request validation failed'))
        refused.push(`${op.method} ${op.path}: ${text.slice(0, 200)}`);
    }
    expect(refused).toEqual([]);
  });

  it('never answer 500; broken body fields are refused by validation, naming the field', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const op of operations(doc)) {
      for (const r of breakingRequests(doc, op, samples, pathValues(op))) {
        const res = await send(op, r);
        sent++;
        const text = await res.text();
        const label = `${op.method} ${op.path} ${r.where}=${r.value}`;
        if (res.status >= 500) {
          failures.push(`${label} → ${res.status} ${text.slice(0, 160)}`);
          continue;
        }
        if (!r.field || op.body?.type !== 'json') continue;
        if (OPAQUE.has(r.field)) {
          if (res.status < 400) failures.push(`${label} → ${res.status}: accepted`);
          continue;
        }
        // Any other broken JSON body field is a validation error naming that field.
        const problem = res.headers.get('content-type')?.startsWith('application/problem+json') ? JSON.parse(text) : {};
        const named =
          res.status === 400 &&
          (problem.errors ?? []).some((e: { path: string }) => e.path === r.field || e.path.startsWith(`${r.field}.`));
        if (!named)
          failures.push(
            `${label} → ${res.status} ${problem.code ?? text.slice(0, 80)} without a field error for ${r.field}`,
          );
      }
    }
    expect(sent).toBeGreaterThan(500);
    expect(failures).toEqual([]);
  }, 600_000);
});
