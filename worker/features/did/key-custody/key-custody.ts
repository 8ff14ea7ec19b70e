/**
 * Private-key custody for DID keys. A custody holds P-256 private keys and signs with them; callers keep
 * only an opaque `ref` (stored in `agent_did_keys.private_key_ref` / `instance_keys.private_key_ref`) and the
 * custody's `kind` (the `custody` column), and never see a private key again after `store`.
 *
 * Contract, for every implementation:
 * - `store(privateJwk, hint)` takes an EC P-256 private JWK (`kty`, `crv`, `x`, `y`, `d`) and returns a ref.
 *   The ref is safe to keep in Postgres: it is never a plaintext private key (local custody: an AES-256-GCM
 *   envelope of the key; Vault custody: an AES-256-GCM envelope of the Vault path). `hint.kid` (RFC 7638
 *   thumbprint) and `hint.owner` (`agent:<uuid>` or `instance:did`) name the key; they are not secret.
 * - `sign(ref, data)` returns an ES256 signature over `data` (ECDSA P-256 with SHA-256) as the raw 64-byte
 *   `r‖s` (IEEE P1363, as JWS wants), never DER.
 * - `delete(ref)` removes the key; it is idempotent (deleting an unknown or deleted key succeeds).
 * - Errors: a custody that cannot be reached throws `AppError(503, 'key_custody_unavailable')`; a ref that
 *   cannot be opened (wrong key version, tampering, deleted key) throws `AppError(500, 'key_unavailable')`.
 *   Neither message nor log line carries key material or the ref.
 * - Nothing logs a private key, a Vault path or a ref.
 *
 * The Vault implementation (vault-key-custody.ts) goes through node-oidc, the only component that talks to Vault.
 * Its internal endpoints take `Authorization: Bearer <INTERNAL_TOKEN>` and JSON bodies, at `OIDC_ORIGIN`:
 * - `POST /internal/keys/store`  `{ kid, owner, private_jwk }` → 201 `{ path }`; node-oidc writes the JWK to
 *   Vault KV v2 under `agentidp/` (per owner and kid, e.g. `agentidp/agents/<id>/did-key/<kid>`) and answers
 *   the path. The Worker's ref is
 *   `Encryptor.encrypt(path)`.
 * - `POST /internal/keys/sign`   `{ path, alg: "ES256", data: <base64url> }` → 200 `{ signature: <base64url r‖s> }`.
 * - `POST /internal/keys/delete` `{ path }` → 204, also when the path does not exist.
 * - 401 on a wrong token; 404 `{ code: "key_not_found" }` from sign when the path is unknown; 5xx or a
 *   timeout (5 s) means unavailable. The private JWK crosses the wire once, on store, over the internal link.
 * A key stored inside a transaction that later rolls back is left behind in Vault, unreferenced: harmless
 * (nothing can ask to sign with it), and a sweeper can delete paths absent from both key tables.
 */
export type CustodyKind = 'local' | 'vault';

export interface KeyHint {
  kid: string;
  owner: string;
}

export interface KeyCustody {
  readonly kind: CustodyKind;
  store(privateJwk: JsonWebKey, hint: KeyHint): Promise<string>;
  sign(ref: string, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
  delete(ref: string): Promise<void>;
}

/** The custodies of a request: `active` receives new keys; `of(kind)` opens refs stored under `kind`. */
export interface KeyCustodies {
  active(): KeyCustody;
  /** Throws `AppError(503, 'key_custody_unavailable')` when that custody is not configured here. */
  of(kind: CustodyKind): KeyCustody;
}
