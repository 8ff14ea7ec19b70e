import { z } from '@hono/zod-openapi';
import { AGENT_ID } from '../../../shared/agent-id.ts';
import type { DelegationRecord } from '../../../shared/oidc-link.ts';

const Id = z.string().regex(AGENT_ID);
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

const RecordSchema = z
  .object({
    chain_id: Id,
    organization_id: Id,
    parent_chain_id: Id.nullable(),
    depth: z.number().int().min(1),
    subject_id: Id,
    delegator_id: Id,
    delegatee_id: Id,
    scope: z.string().max(2048).regex(SCOPE),
    expires_at: z.iso.datetime(),
    token_jti: Id,
  })
  .strict();

/**
 * The chain row node-oidc asks the Worker to record after a token exchange (DELEGATION_RECORD_HEADER).
 * node-oidc is trusted, so a missing or malformed record is a fault of the link: throws TypeError.
 */
export function parseDelegationRecord(header: string | null): DelegationRecord {
  if (!header) throw new TypeError('node-oidc answered a token exchange without its delegation record');
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    throw new TypeError('node-oidc answered a delegation record that is not JSON');
  }
  const parsed = RecordSchema.safeParse(value);
  if (!parsed.success) throw new TypeError('node-oidc answered a malformed delegation record');
  return parsed.data;
}

/** Why a recorded exchange was refused after all: what changed since node-oidc checked it. */
export interface ExchangeRefusal {
  error: 'invalid_grant' | 'invalid_target';
  description: string;
}
