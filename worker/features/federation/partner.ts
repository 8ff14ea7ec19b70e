import { toIsoOrNull } from '../../platform/clock.ts';
import type { Partner } from './contract.ts';
import type { CachedPartner } from './issuer-memory.ts';

export type { Partner } from './contract.ts';
export type PartnerStatus = Partner['status'];

export interface PartnerInput {
  name: string;
  issuer: string;
  jwks_uri: string;
  allowed_organizations?: string[];
  audiences?: string[];
  organization_claim?: string;
  expires_at?: string | null;
}

export interface PartnerPatch {
  name?: string;
  jwks_uri?: string;
  allowed_organizations?: string[];
  audiences?: string[];
  organization_claim?: string;
  status?: 'active' | 'suspended';
  expires_at?: string | null;
}

/** uuid[] is cast to text[] so every driver hands back a plain string array. */
export const PARTNER_COLUMNS = `id, name, issuer, jwks_uri, allowed_organizations::text[] AS allowed_organizations, audiences,
  organization_claim, status, created_at, updated_at, expires_at`;

export function toPartner(row: Record<string, unknown>): Partner {
  return {
    id: row.id as string,
    name: row.name as string,
    issuer: row.issuer as string,
    jwks_uri: row.jwks_uri as string,
    allowed_organizations: (row.allowed_organizations as string[] | null) ?? [],
    audiences: (row.audiences as string[] | null) ?? [],
    organization_claim: row.organization_claim as string,
    status: row.status as PartnerStatus,
    created_at: toIsoOrNull(row.created_at)!,
    updated_at: toIsoOrNull(row.updated_at)!,
    expires_at: toIsoOrNull(row.expires_at),
  };
}

export function toCachedPartner(p: Partner): CachedPartner {
  return {
    id: p.id,
    issuer: p.issuer,
    jwksUri: p.jwks_uri,
    status: p.status,
    expiresAtMs: p.expires_at === null ? null : Date.parse(p.expires_at),
    audiences: p.audiences,
    allowedOrganizations: p.allowed_organizations,
    organizationClaim: p.organization_claim,
  };
}
