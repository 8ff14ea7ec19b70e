import type { Cache } from '../../platform/cache.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Config } from '../../platform/config.ts';
import type { Db } from '../../platform/db.ts';
import { AppError, conflict, notFound, validationFailed } from '../../platform/errors.ts';
import { checkOutboundUrl } from '../../platform/ssrf.ts';
import { isStorableText } from '../../platform/text.ts';
import type { VerifiedToken } from './contract.ts';
import { partnerInvalid, verificationFailed } from './errors.ts';
import { type CachedPartner, issuerMemory as defaultMemory, type IssuerMemory } from './issuer-memory.ts';
import { loadRemoteJwks } from './jwks-fetch.ts';
import { JwksStore } from './jwks-store.ts';
import { parseJsonObject, parseJws } from './jws.ts';
import {
  PARTNER_COLUMNS,
  type Partner,
  type PartnerInput,
  type PartnerPatch,
  type PartnerStatus,
  toCachedPartner,
  toPartner,
} from './partner.ts';
import { verifyPartnerToken } from './verify-token.ts';

export type { Partner, PartnerInput, PartnerPatch } from './partner.ts';

export type FederationConfig = Pick<
  Config,
  | 'FEDERATION_JWKS_CACHE_TTL_SECONDS'
  | 'FEDERATION_CLOCK_SKEW_SECONDS'
  | 'FEDERATION_MAX_TOKEN_BYTES'
  | 'FEDERATION_JWKS_REFETCH_COOLDOWN_SECONDS'
  | 'FEDERATION_PARTNER_CACHE_TTL_SECONDS'
  | 'ALLOW_PRIVATE_URLS'
>;

/**
 * Federation partners (other identity providers) and verification of the tokens they issue.
 *
 * Relying-party rule: a token is valid only for the organization it was issued for. The verifying tenant
 * must be the organization named by the partner's `organization_claim` (and on the partner's
 * `allowed_organizations` when that list is not empty); otherwise a token minted for one tenant could be
 * replayed to another tenant's services, which would see `valid: true`.
 */
export class FederationService {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #config: FederationConfig;
  readonly #memory: IssuerMemory;
  readonly #jwks: JwksStore;

  constructor(db: Db, cache: Cache, clock: Clock, config: FederationConfig, memory: IssuerMemory = defaultMemory) {
    this.#db = db;
    this.#clock = clock;
    this.#config = config;
    this.#memory = memory;
    this.#jwks = new JwksStore(cache, memory, {
      ttlSeconds: config.FEDERATION_JWKS_CACHE_TTL_SECONDS,
      cooldownSeconds: config.FEDERATION_JWKS_REFETCH_COOLDOWN_SECONDS,
      allowPrivateUrls: config.ALLOW_PRIVATE_URLS,
    });
  }

  /**
   * Registers a partner: fetches and validates its JWKS (5 s, size-capped, no redirects, usable public
   * keys only), inserts the row and caches the keys under `federation:jwks:<issuer>`.
   * Throws `federation_partner_invalid` (400), `conflict` (409) when the issuer exists, `validation_failed`.
   */
  async registerPartner(input: PartnerInput): Promise<Partner> {
    const now = this.#clock.now();
    if (input.expires_at && Date.parse(input.expires_at) <= now.getTime()) {
      throw validationFailed('expires_at must be in the future', [
        { path: 'expires_at', message: 'must be in the future' },
      ]);
    }
    const url = checkOutboundUrl(input.jwks_uri, { allowPrivate: this.#config.ALLOW_PRIVATE_URLS });
    if (!url.ok) throw partnerInvalid(`jwks_uri ${url.reason}`);
    const [taken] = await this.#db.query('SELECT 1 FROM federation_partners WHERE issuer = $1', [input.issuer]);
    if (taken) throw conflict('A federation partner with this issuer already exists');
    const loaded = await loadRemoteJwks(input.jwks_uri, { allowPrivate: this.#config.ALLOW_PRIVATE_URLS });
    if (!loaded.ok) throw partnerInvalid(loaded.reason);
    const [row] = await this.#db
      .query(
        `INSERT INTO federation_partners (name, issuer, jwks_uri, allowed_organizations, audiences, organization_claim, expires_at)
         VALUES ($1, $2, $3, $4::uuid[], $5::text[], $6, $7) RETURNING ${PARTNER_COLUMNS}`,
        [
          input.name,
          input.issuer,
          input.jwks_uri,
          input.allowed_organizations ?? [],
          input.audiences ?? [],
          input.organization_claim ?? 'organization_id',
          input.expires_at ?? null,
        ],
      )
      .catch((err: unknown) => {
        throw err instanceof AppError && err.code === 'conflict'
          ? conflict('A federation partner with this issuer already exists')
          : err;
      });
    const partner = toPartner(row!);
    this.#memory.delete(partner.issuer);
    await this.#jwks.prime(toCachedPartner(partner), loaded.keySet, now.getTime());
    return partner;
  }

  /** All partners, newest first; active partners past `expires_at` are marked `expired` first. */
  async listPartners(): Promise<Partner[]> {
    await this.#db.query(
      `UPDATE federation_partners SET status = 'expired', updated_at = now()
       WHERE status = 'active' AND expires_at <= $1`,
      [this.#clock.now()],
    );
    const rows = await this.#db.query(
      `SELECT ${PARTNER_COLUMNS} FROM federation_partners ORDER BY created_at DESC, id DESC`,
    );
    return rows.map(toPartner);
  }

  /** One partner, marked `expired` first when past `expires_at`. Throws `not_found` (404). */
  async getPartner(id: string): Promise<Partner> {
    const [row] = await this.#db.query(
      `WITH marked AS (
         UPDATE federation_partners SET status = 'expired', updated_at = now()
         WHERE id = $1 AND status = 'active' AND expires_at <= $2 RETURNING ${PARTNER_COLUMNS})
       SELECT * FROM marked
       UNION ALL
       SELECT ${PARTNER_COLUMNS} FROM federation_partners WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM marked)`,
      [id, this.#clock.now()],
    );
    if (!row) throw notFound('Federation partner');
    return toPartner(row);
  }

  /**
   * Partial update. A new `jwks_uri` is fetched and validated like at registration, and the issuer's
   * cached keys are replaced at once (Redis and this isolate). An `expired` partner given a future (or no)
   * `expires_at` becomes `active` again unless `status` says otherwise.
   * Throws `not_found` (404), `federation_partner_invalid` (400).
   */
  async updatePartner(id: string, patch: PartnerPatch): Promise<Partner> {
    const now = this.#clock.now();
    const current = await this.getPartner(id);
    const newUri = patch.jwks_uri !== undefined && patch.jwks_uri !== current.jwks_uri ? patch.jwks_uri : undefined;
    const loaded =
      newUri === undefined
        ? undefined
        : await loadRemoteJwks(newUri, { allowPrivate: this.#config.ALLOW_PRIVATE_URLS });
    if (loaded && !loaded.ok) throw partnerInvalid(loaded.reason);

    const expiresAt = patch.expires_at !== undefined ? patch.expires_at : current.expires_at;
    let status: PartnerStatus = patch.status ?? (current.status === 'expired' ? 'active' : current.status);
    if (status === 'active' && expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) status = 'expired';

    const [row] = await this.#db.query(
      `UPDATE federation_partners SET name = $2, jwks_uri = $3, allowed_organizations = $4::uuid[], audiences = $5::text[],
         organization_claim = $6, status = $7, expires_at = $8, updated_at = now()
       WHERE id = $1 RETURNING ${PARTNER_COLUMNS}`,
      [
        id,
        patch.name ?? current.name,
        newUri ?? current.jwks_uri,
        patch.allowed_organizations ?? current.allowed_organizations,
        patch.audiences ?? current.audiences,
        patch.organization_claim ?? current.organization_claim,
        status,
        expiresAt,
      ],
    );
    if (!row) throw notFound('Federation partner');
    const partner = toPartner(row);
    // Status, expiry, audiences or allow list may have changed: this isolate re-reads the row next time.
    this.#memory.delete(partner.issuer);
    if (loaded?.ok) {
      // The old jwks_uri's keys go at once (Redis and this isolate); the new ones take their place.
      await this.#jwks.invalidate(partner.issuer);
      await this.#jwks.prime(toCachedPartner(partner), loaded.keySet, now.getTime());
    }
    return partner;
  }

  /** Deletes a partner and its cached keys. Throws `not_found` (404). */
  async deletePartner(id: string): Promise<void> {
    const [row] = await this.#db.query<{ issuer: string }>(
      'DELETE FROM federation_partners WHERE id = $1 RETURNING issuer',
      [id],
    );
    if (!row) throw notFound('Federation partner');
    await this.#jwks.invalidate(row.issuer);
  }

  /**
   * Verifies a partner-issued JWT for the tenant `tenantOrganizationId`: shape checked without trust
   * (parseJws), partner by exact `iss`, its status and expiry, then jose's jwtVerify (verify-token.ts):
   * only RS256/PS256/ES256/ES384/EdDSA matching the key's type, key by `kid` (one cooldown-limited refetch
   * on a miss), signature, `exp`/`nbf`/`iat` with FEDERATION_CLOCK_SKEW_SECONDS, audiences, and the
   * organization rule (see the class comment).
   * Throws FederationVerificationError (401 `federation_verification_failed`) with `reason`.
   */
  async verifyFederatedToken(token: string, tenantOrganizationId: string): Promise<VerifiedToken> {
    const nowMs = this.#clock.now().getTime();
    const parsed = parseJws(token, this.#config.FEDERATION_MAX_TOKEN_BYTES);
    const claims = parseJsonObject(parsed.payload);
    if (!claims) throw verificationFailed('malformed', 'Token payload is not a JSON object');
    const issuer = claims.iss;
    if (typeof issuer !== 'string' || issuer === '')
      throw verificationFailed('unknown_issuer', 'Token has no "iss" claim');
    // No partner's issuer holds a NUL or broken Unicode (registration refuses them): unknown, not a query.
    if (!isStorableText(issuer)) throw verificationFailed('unknown_issuer', 'No federation partner has this issuer');

    const partner = await this.#partnerByIssuer(issuer, nowMs);
    if (!partner) throw verificationFailed('unknown_issuer', 'No federation partner has this issuer');
    if (partner.status === 'suspended')
      throw verificationFailed('partner_suspended', 'The federation partner is suspended');
    if (partner.status === 'expired' || (partner.expiresAtMs !== null && partner.expiresAtMs <= nowMs)) {
      throw verificationFailed('partner_expired', 'The federation partner has expired');
    }

    const { claims: verified, organizationId } = await verifyPartnerToken(
      parsed,
      {
        current: () => this.#jwks.current(partner, nowMs),
        refresh: (wanted) => this.#jwks.refresh(partner, nowMs, wanted),
      },
      {
        issuer: partner.issuer,
        nowMs,
        skewSeconds: this.#config.FEDERATION_CLOCK_SKEW_SECONDS,
        audiences: partner.audiences,
        organizationClaim: partner.organizationClaim,
        allowedOrganizations: partner.allowedOrganizations,
        tenantOrganizationId,
      },
    );
    return { valid: true, issuer, subject: verified.sub ?? null, organization_id: organizationId, claims: verified };
  }

  /** The partner for `iss`, from isolate memory while fresh, else Postgres. Unknown issuers are not cached. */
  async #partnerByIssuer(issuer: string, nowMs: number): Promise<CachedPartner | undefined> {
    const ttlMs = this.#config.FEDERATION_PARTNER_CACHE_TTL_SECONDS * 1000;
    const mem = this.#memory.get(issuer);
    if (mem?.partner && mem.partnerLoadedAtMs !== undefined && Math.abs(nowMs - mem.partnerLoadedAtMs) < ttlMs)
      return mem.partner;
    const [row] = await this.#db.query(`SELECT ${PARTNER_COLUMNS} FROM federation_partners WHERE issuer = $1`, [
      issuer,
    ]);
    if (!row) {
      this.#memory.delete(issuer);
      return undefined;
    }
    const partner = toCachedPartner(toPartner(row));
    if (partner.status === 'active' && partner.expiresAtMs !== null && partner.expiresAtMs <= nowMs) {
      await this.#db.query(
        `UPDATE federation_partners SET status = 'expired', updated_at = now() WHERE id = $1 AND status = 'active'`,
        [partner.id],
      );
      partner.status = 'expired';
    }
    this.#memory.setPartner(partner, nowMs);
    return partner;
  }
}
