import { isAgentId } from '../../../shared/agent-id.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Queryable } from '../../platform/db.ts';
import type { AnalyticsService } from '../analytics/analytics.service.ts';
import type { QuotaTicket } from '../tiers/quota-decision.ts';
import { isTierName } from '../tiers/tiers.ts';
import type { UsageLimiterService } from '../tiers/usage-limiter.service.ts';

/** One token held on the tenant's daily counter until node-oidc answers. */
export interface TokenReservation {
  organizationId: string;
  agentId: string;
  /** How the token was counted; a refund goes back the same way, to the same UTC day. */
  ticket: QuotaTicket;
}

export type ReserveResult =
  | { kind: 'reserved'; reservation: TokenReservation }
  /** Not an active agent of any tenant, or not its canonical id: nothing counted, nothing forwarded. */
  | { kind: 'unknown_client' }
  | { kind: 'limited'; limit: number | null; resetAt: string; retryAfterSeconds: number };

/**
 * The Worker's side of agent token issuance at /oidc/token: before node-oidc issues a token the agent's
 * tenant is found and one token is reserved on its daily counter (TenantLimiter); afterwards the token is
 * recorded in analytics, or the reservation is given back when no token was issued.
 */
export class OidcTokenService {
  constructor(
    private readonly db: Queryable,
    private readonly limiter: UsageLimiterService,
    private readonly analytics: AnalyticsService,
    private readonly clock: Clock,
  ) {}

  /**
   * Reserves one token for the agent `clientId` on its tenant's daily token limit. `unknown_client` for an
   * id that is not an active agent's in its canonical spelling (shared/agent-id.ts; nothing counted);
   * `limited` when the limit is reached (nothing counted).
   * Rejects when the database or the limiter is unreachable.
   */
  async reserve(clientId: string): Promise<ReserveResult> {
    if (!isAgentId(clientId)) return { kind: 'unknown_client' };
    const [row] = await this.db.query<{ organization_id: string; tier: string }>(
      `SELECT a.organization_id, o.tier FROM agents a JOIN organizations o ON o.organization_id = a.organization_id
       WHERE a.agent_id = $1 AND a.status = 'active'`,
      [clientId],
    );
    if (!row) return { kind: 'unknown_client' };
    const nowMs = this.clock.now().getTime();
    const result = await this.limiter.countTokens(row.organization_id, isTierName(row.tier) ? row.tier : 'free');
    if (!result.allowed || !result.ticket) {
      const until = result.retry_at ?? Date.parse(result.reset_at);
      const retryAfterSeconds = Math.max(1, Math.ceil((until - nowMs) / 1000));
      return { kind: 'limited', limit: result.limit, resetAt: result.reset_at, retryAfterSeconds };
    }
    return {
      kind: 'reserved',
      reservation: { organizationId: row.organization_id, agentId: clientId, ticket: result.ticket },
    };
  }

  /** The token was issued: `token_issued` and `agent:<id>:token_issued` are added to the analytics batch. */
  issued(r: TokenReservation): void {
    this.analytics.recordTokenIssued(r.organizationId, r.agentId);
  }

  /** No token was issued: the reservation is given back the way it was counted. Failures are logged only. */
  notIssued(r: TokenReservation): void {
    this.limiter.refundToken(r.organizationId, r.ticket);
  }
}
