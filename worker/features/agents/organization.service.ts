import type { Db } from '../../platform/db.ts';
import { newApiKey } from '../api-keys/api-key.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { TierName } from '../tiers/tiers.ts';
import type { CreatedOrganization } from './admin-contract.ts';

export class OrganizationService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
  ) {}

  /**
   * Creates an organization and its first API key in one transaction. The key is returned here and
   * never again.
   */
  async create(name: string, tier: TierName): Promise<CreatedOrganization> {
    const { keyId, key, hash } = await newApiKey();
    return this.db.tx(async (q) => {
      const [org] = await q.query<{ organization_id: string }>(
        `INSERT INTO organizations (name, tier, tier_updated_at) VALUES ($1, $2, now()) RETURNING organization_id`,
        [name, tier],
      );
      const organizationId = org!.organization_id;
      await q.query('INSERT INTO api_keys (key_id, organization_id, key_hash) VALUES ($1, $2, $3)', [
        keyId,
        organizationId,
        hash,
      ]);
      await this.audit.append(q, organizationId, {
        event_type: 'organization.created',
        actor: 'admin',
        subject: organizationId,
        payload: { name, tier, api_key_id: keyId },
      });
      return { organization_id: organizationId, name, tier, api_key: key };
    });
  }
}
