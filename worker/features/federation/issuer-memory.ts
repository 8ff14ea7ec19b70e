import type { KeySet } from './key-policy.ts';

/** What the verifier needs of a partner row. */
export interface CachedPartner {
  id: string;
  issuer: string;
  jwksUri: string;
  status: 'active' | 'suspended' | 'expired';
  expiresAtMs: number | null;
  audiences: string[];
  allowedOrganizations: string[];
  organizationClaim: string;
}

export interface CachedKeys {
  /** The jwks_uri these keys came from: after a change of jwks_uri they are not used again. */
  jwksUri: string;
  keySet: KeySet;
  fetchedAtMs: number;
}

interface IssuerEntry {
  partner?: CachedPartner;
  partnerLoadedAtMs?: number;
  keys?: CachedKeys;
  /** Cooldown window (index) of this isolate's last JWKS fetch for the issuer. */
  fetchWindow?: number;
}

/**
 * Per-issuer state kept in the isolate's memory for the verification hot path: the partner row, its
 * imported keys and the refetch cooldown. Bounded in size (oldest issuer dropped first); lifetimes are
 * enforced by the readers (FederationService, JwksStore), who pass the clock. Holds only public data.
 */
export class IssuerMemory {
  readonly #entries = new Map<string, IssuerEntry>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get(issuer: string): Readonly<IssuerEntry> | undefined {
    return this.#entries.get(issuer);
  }

  #entry(issuer: string): IssuerEntry {
    let e = this.#entries.get(issuer);
    if (!e) {
      if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
      e = {};
      this.#entries.set(issuer, e);
    }
    return e;
  }

  setPartner(partner: CachedPartner, nowMs: number): void {
    const e = this.#entry(partner.issuer);
    if (e.keys && e.keys.jwksUri !== partner.jwksUri) e.keys = undefined;
    e.partner = partner;
    e.partnerLoadedAtMs = nowMs;
  }

  setKeys(issuer: string, keys: CachedKeys): void {
    this.#entry(issuer).keys = keys;
  }

  /** Claims the fetch slot of `window`; false when this isolate already fetched in that window. */
  claimFetchWindow(issuer: string, window: number): boolean {
    const e = this.#entry(issuer);
    if (e.fetchWindow === window) return false;
    e.fetchWindow = window;
    return true;
  }

  /** Forgets everything about an issuer (partner changed or deleted through this isolate). */
  delete(issuer: string): void {
    this.#entries.delete(issuer);
  }
}

export const MAX_ISSUERS = 1_000;

/**
 * The isolate's one instance. Module-level on purpose (style.md rule 3): a deliberately lossy cache of
 * public data, bounded to MAX_ISSUERS issuers, with partner rows trusted for
 * FEDERATION_PARTNER_CACHE_TTL_SECONDS and keys for FEDERATION_JWKS_CACHE_TTL_SECONDS (and only while the
 * partner's jwks_uri is unchanged). A change made through this isolate clears the issuer at once; other
 * isolates see it when their partner row's lifetime ends.
 */
export const issuerMemory = new IssuerMemory(MAX_ISSUERS);
