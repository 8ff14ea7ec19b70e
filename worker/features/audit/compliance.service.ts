import type { Cache } from '../../platform/cache.ts';
import { type Clock, toIso } from '../../platform/clock.ts';
import type { Queryable } from '../../platform/db.ts';
import { AuditFullWalks } from './audit-full-walk.ts';
import type { AuditVerificationService } from './audit-verification.service.ts';
import type {
  ComplianceAgentCard,
  ComplianceFinding,
  ComplianceReport,
  ComplianceSection,
  ComplianceStatus,
} from './compliance-contract.ts';

export const CACHE_TTL_SECONDS = 300;
export const AGNTCY_SCHEMA_VERSION = '1.0';
/** A credential expiring within this window makes the agent-identity section `warn`. */
export const EXPIRY_WARNING_DAYS = 7;
/** Findings listed per kind; past it one `findings_truncated` finding gives the total (keeps reports small). */
export const MAX_FINDINGS_PER_KIND = 100;

type ReportCache = Pick<Cache, 'getJson' | 'setJson'>;

const RANK: Record<ComplianceStatus, number> = { pass: 0, warn: 1, fail: 2 };
const worst = (statuses: ComplianceStatus[]): ComplianceStatus =>
  statuses.reduce<ComplianceStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'pass');
const statusOf = (findings: ComplianceFinding[]): ComplianceStatus =>
  worst(findings.map((f) => (f.severity === 'info' ? 'pass' : f.severity)));

export const reportCacheKey = (organizationId: string) => `compliance:report:${organizationId}`;

/** When the report's content was read: its generation, or the earlier start of the chain walk it reports. */
function asOf(report: Omit<ComplianceReport, 'from_cache'>): number {
  const times = report.sections
    .flatMap((s) => s.findings.map((f) => f.walked_at))
    .filter((t): t is string => t !== undefined);
  return Math.min(Date.parse(report.generated_at ?? ''), ...times.map(Date.parse));
}

/**
 * AGNTCY compliance for a tenant: a report over agent identity and the audit trail, and the export of agent
 * cards. Reports are cached for {@link CACHE_TTL_SECONDS}; freshness is judged by the injected clock against
 * the time the report's content was read (`generated_at`, or the earlier start of the chain walk it reports;
 * Redis' own TTL only bounds storage), so a moved clock expires a report and nothing it says is older than
 * 300 s.
 */
export class ComplianceService {
  readonly #walks: AuditFullWalks;

  constructor(
    private readonly db: Queryable,
    private readonly cache: ReportCache,
    private readonly clock: Clock,
    verifier: Pick<AuditVerificationService, 'verifyChain'>,
  ) {
    this.#walks = new AuditFullWalks(db, clock, verifier);
  }

  /**
   * The tenant's report, from cache when one younger than 300 s exists (`from_cache: true`), otherwise built
   * with both sections in parallel and cached. Never throws for a failing check: a section whose builder fails
   * is `fail` with a `section_error` finding (and such a report is not cached).
   */
  async generateReport(organizationId: string): Promise<ComplianceReport> {
    const key = reportCacheKey(organizationId);
    const cached = await this.cache.getJson<Omit<ComplianceReport, 'from_cache'>>(key);
    const now = this.clock.now();
    if (cached && this.#fresh(asOf(cached), now)) return { ...cached, from_cache: true };

    const sections = await Promise.all([
      this.#guard('agent-identity', () => this.#agentIdentitySection(organizationId, now)),
      this.#guard('audit-trail', () => this.#auditTrailSection(organizationId, now)),
    ]);
    const report: Omit<ComplianceReport, 'from_cache'> = {
      organization_id: organizationId,
      generated_at: now.toISOString(),
      overall_status: worst(sections.map((s) => s.status)),
      sections,
    };
    const errored = sections.some((s) => s.findings.some((f) => f.code === 'section_error'));
    if (!errored) await this.cache.setJson(key, report, CACHE_TTL_SECONDS);
    return { ...report, from_cache: false };
  }

  /** AGNTCY export cards of every agent of the tenant that is not decommissioned, oldest first. */
  async exportAgentCards(organizationId: string): Promise<ComplianceAgentCard[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT agent_id, did, email, capabilities, endpoint, created_at FROM agents
        WHERE organization_id = $1 AND status <> 'decommissioned' ORDER BY created_at, agent_id`,
      [organizationId],
    );
    return rows.map((r) => ({
      id: (r.did as string | null) ?? (r.agent_id as string),
      name: r.email as string,
      capabilities: (r.capabilities as string[]) ?? [],
      endpoint: (r.endpoint as string | null) ?? null,
      created_at: toIso(r.created_at as string | Date),
      agntcy_schema_version: AGNTCY_SCHEMA_VERSION,
    }));
  }

  #fresh(readAtMs: number, now: Date): boolean {
    const age = now.getTime() - readAtMs;
    return age >= 0 && age < CACHE_TTL_SECONDS * 1000;
  }

  async #guard(name: ComplianceSection['name'], build: () => Promise<ComplianceFinding[]>): Promise<ComplianceSection> {
    try {
      const findings = await build();
      return { name, status: statusOf(findings), findings };
    } catch (err) {
      console.error(
        JSON.stringify({
          level: 'error',
          msg: 'compliance section failed',
          section: name,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
      return {
        name,
        status: 'fail',
        findings: [{ severity: 'fail', code: 'section_error', message: `The ${name} check could not be completed` }],
      };
    }
  }

  /**
   * Non-decommissioned agents: each must have a DID; their unrevoked credentials must not be expired (`fail`)
   * nor expire within 7 days (`warn`).
   */
  async #agentIdentitySection(organizationId: string, now: Date): Promise<ComplianceFinding[]> {
    const horizon = new Date(now.getTime() + EXPIRY_WARNING_DAYS * 86_400_000).toISOString();
    // Unrevoked credentials of live agents whose expiry falls in (after, until].
    const credentialsExpiring = (after: string | null, until: string) =>
      this.db.query<{ credential_id: string; agent_id: string; expires_at: string | Date; total: string }>(
        `SELECT c.credential_id, c.agent_id, c.expires_at, count(*) OVER () AS total
           FROM credentials c JOIN agents a ON a.agent_id = c.agent_id
          WHERE c.organization_id = $1 AND a.status <> 'decommissioned' AND c.revoked_at IS NULL
            AND c.expires_at IS NOT NULL AND c.expires_at <= $3::timestamptz
            AND ($2::timestamptz IS NULL OR c.expires_at > $2::timestamptz)
          ORDER BY c.expires_at, c.credential_id LIMIT $4`,
        [organizationId, after, until, MAX_FINDINGS_PER_KIND],
      );
    const [counts, missing, expired, soon] = await Promise.all([
      this.db.query<{ agents: string; credentials: string }>(
        `SELECT (SELECT count(*) FROM agents WHERE organization_id = $1 AND status <> 'decommissioned') AS agents,
                (SELECT count(*) FROM credentials c JOIN agents a ON a.agent_id = c.agent_id
                  WHERE c.organization_id = $1 AND a.status <> 'decommissioned' AND c.revoked_at IS NULL) AS credentials`,
        [organizationId],
      ),
      this.db.query<{ agent_id: string; total: string }>(
        `SELECT agent_id, count(*) OVER () AS total FROM agents
          WHERE organization_id = $1 AND status <> 'decommissioned' AND did IS NULL
          ORDER BY created_at, agent_id LIMIT $2`,
        [organizationId, MAX_FINDINGS_PER_KIND],
      ),
      credentialsExpiring(null, now.toISOString()),
      credentialsExpiring(now.toISOString(), horizon),
    ]);

    const findings: ComplianceFinding[] = [];
    const c = counts[0];
    findings.push({
      severity: 'info',
      code: 'agents_checked',
      message: `${c?.agents ?? 0} agents and ${c?.credentials ?? 0} unrevoked credentials checked`,
      count: Number(c?.agents ?? 0),
    });
    for (const r of missing) {
      findings.push({
        severity: 'fail',
        code: 'agent_missing_did',
        message: `Agent ${r.agent_id} has no DID`,
        agent_id: r.agent_id,
      });
    }
    truncated(findings, 'agent_missing_did', Number(missing[0]?.total ?? 0));
    for (const r of expired) {
      const at = toIso(r.expires_at);
      findings.push({
        severity: 'fail',
        code: 'credential_expired',
        message: `Credential ${r.credential_id} of agent ${r.agent_id} expired at ${at} and is not revoked`,
        agent_id: r.agent_id,
        credential_id: r.credential_id,
        expires_at: at,
      });
    }
    truncated(findings, 'credential_expired', Number(expired[0]?.total ?? 0));
    for (const r of soon) {
      const at = toIso(r.expires_at);
      findings.push({
        severity: 'warn',
        code: 'credential_expiring',
        message: `Credential ${r.credential_id} of agent ${r.agent_id} expires at ${at}, within ${EXPIRY_WARNING_DAYS} days`,
        agent_id: r.agent_id,
        credential_id: r.credential_id,
        expires_at: at,
      });
    }
    truncated(findings, 'credential_expiring', Number(soon[0]?.total ?? 0));
    return findings;
  }

  /**
   * The audit hash chain must verify from seq 1: a full walk that re-hashes every event (see AuditFullWalks),
   * reused for the report's cache lifetime. A routine verification would start at the last checkpoint and
   * could not see a changed, deleted or swapped event below it.
   */
  async #auditTrailSection(organizationId: string, now: Date): Promise<ComplianceFinding[]> {
    const w = await this.#walks.latest(organizationId, CACHE_TTL_SECONDS, now);
    if (!w.verified) {
      return [
        {
          severity: 'fail',
          code: 'audit_chain_broken',
          message:
            `The audit hash chain is broken at seq ${w.first_broken_seq} (${w.reason}), ` +
            `found by a full walk at ${w.walked_at} that re-hashed ${w.checked} events`,
          seq: w.first_broken_seq ?? undefined,
          reason: w.reason ?? undefined,
          count: w.checked,
          walked_at: w.walked_at,
        },
      ];
    }
    return [
      {
        severity: 'info',
        code: 'audit_chain_verified',
        message: `The audit hash chain is intact: a full walk at ${w.walked_at} re-hashed all ${w.checked} events (seq 1..${w.head_seq})`,
        seq: w.head_seq,
        count: w.checked,
        walked_at: w.walked_at,
      },
    ];
  }
}

function truncated(findings: ComplianceFinding[], code: string, total: number): void {
  if (total <= MAX_FINDINGS_PER_KIND) return;
  findings.push({
    severity: 'info',
    code: 'findings_truncated',
    message: `${total - MAX_FINDINGS_PER_KIND} more ${code} findings not listed`,
    reason: code,
    count: total,
  });
}
