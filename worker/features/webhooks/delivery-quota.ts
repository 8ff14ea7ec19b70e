import type { Queryable } from '../../platform/db.ts';
import { isTierName, type TierName } from '../tiers/tiers.ts';

/** The tenant's daily delivery quota (UsageLimiterService.takeDeliveries, kept by the TenantLimiter object). */
export interface DeliveryQuota {
  takeDeliveries(
    organizationId: string,
    tier: TierName,
    nowMs: number,
    wanted: number,
  ): Promise<{ granted: number; reset_at: string }>;
}

/**
 * Counts the claimed attempts against the organization's daily delivery quota and hands back the ones that
 * may be sent now. The rest are released from the claim and wait for the quota's reset (the next UTC
 * midnight) without spending an attempt: over the quota nothing is dropped, only delayed. When the quota
 * cannot be reached the attempts go out uncounted, as API calls do when the rate limiter is down.
 */
export async function withinDeliveryQuota<T extends { id: string }>(
  q: Queryable,
  quota: DeliveryQuota,
  sub: { organization_id: string; tier: string },
  claimed: T[],
  leaseToken: string,
  nowMs: number,
): Promise<T[]> {
  let taken: { granted: number; reset_at: string };
  try {
    taken = await quota.takeDeliveries(
      sub.organization_id,
      isTierName(sub.tier) ? sub.tier : 'free',
      nowMs,
      claimed.length,
    );
  } catch (err) {
    console.error(
      JSON.stringify({
        level: 'error',
        msg: 'webhook delivery quota unavailable; sending uncounted',
        tenant: sub.organization_id,
        error: String(err),
      }),
    );
    return claimed;
  }
  if (taken.granted >= claimed.length) return claimed;
  const postponed = claimed.slice(taken.granted).map((d) => d.id);
  await q.query(
    `UPDATE webhook_deliveries
     SET attempt_count = attempt_count - 1, next_retry_at = $3, lease_token = NULL, lease_expires_at = NULL,
         last_error = 'daily webhook delivery quota reached; waiting for the next UTC day', updated_at = $4
     WHERE id = ANY($1::uuid[]) AND lease_token = $2`,
    [postponed, leaseToken, taken.reset_at, new Date(nowMs).toISOString()],
  );
  return claimed.slice(0, taken.granted);
}
