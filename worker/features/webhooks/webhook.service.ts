import { type Clock, toIsoOrNull } from '../../platform/clock.ts';
import type { Db, Queryable } from '../../platform/db.ts';
import { notFound } from '../../platform/errors.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { TierService } from '../tiers/tier.service.ts';
import type { WebhookDelivery } from './contract.ts';
import { generateWebhookSecret } from './standard-webhooks.ts';
import { WEBHOOK_SECRET_OVERLAP_MS, type WebhookEventType } from './webhook-events.ts';
import { checkWebhookEvents, checkWebhookUrl, refuseDuplicate } from './webhook-rules.ts';
import type { WebhookSecretsService } from './webhook-secrets.service.ts';

export interface WebhookSubscription {
  id: string;
  organization_id: string;
  name: string;
  url: string;
  events: WebhookEventType[];
  active: boolean;
  failure_count: number;
  disabled_reason: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookInput {
  name: string;
  url: string;
  events: string[];
}

export interface WebhookPatch {
  name?: string;
  url?: string;
  events?: string[];
  active?: boolean;
}

const COLUMNS = `id, organization_id, name, url, events, active, failure_count, disabled_reason,
  previous_secret_expires_at, created_at, updated_at`;

function toSubscription(row: Record<string, unknown>): WebhookSubscription {
  return {
    id: row.id as string,
    organization_id: row.organization_id as string,
    name: row.name as string,
    url: row.url as string,
    events: row.events as WebhookEventType[],
    active: row.active as boolean,
    failure_count: Number(row.failure_count),
    disabled_reason: (row.disabled_reason as string | null) ?? null,
    previous_secret_expires_at: toIsoOrNull(row.previous_secret_expires_at),
    created_at: toIsoOrNull(row.created_at)!,
    updated_at: toIsoOrNull(row.updated_at)!,
  };
}

/** A subscription's signing secrets as a receiver needs them (`GET /v1/webhooks/{id}/secret`). */
export interface WebhookSecrets {
  secret: string;
  /** The secret replaced by the last rotation, while it still signs (until `previous_expires_at`). */
  previous_secret?: string;
  previous_expires_at?: string;
}

/**
 * Webhook subscriptions of a tenant: registration under the outbound URL policy, signing secrets encrypted
 * at rest or in Vault (returned at creation and rotation, and on an audited read), and the delivery history.
 * Every change is audited. Against amplification (one event fanned out to many subscriptions, each retried):
 * subscriptions are capped per tier (TierService) and one (url, events) pair is subscribed once; deliveries
 * count against a daily quota (delivery-quota.ts).
 */
export class WebhookService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
    /** Signing secrets: encrypted in Postgres, or in Vault (KEY_CUSTODY); see webhook-secrets.service.ts. */
    private readonly secrets: WebhookSecretsService,
    private readonly clock: Clock,
    /** ALLOW_PRIVATE_URLS: development receivers on http://localhost and private addresses. */
    private readonly allowPrivateUrls: boolean,
    /** The tier's subscription cap. */
    private readonly tiers: Pick<TierService, 'enforceWebhookLimit'>,
  ) {}

  /**
   * Registers a subscription and returns it with its `whsec_` secret (shown this once). Throws
   * `validation_failed` (400) for a URL outside the outbound policy or an empty or unknown event list,
   * `conflict` (409, `existing_id`) when the same url is already subscribed to the same events,
   * `tier_limit_exceeded` (429) at the tier's subscription cap.
   */
  async create(
    organizationId: string,
    input: WebhookInput,
    actor: string,
  ): Promise<WebhookSubscription & { secret: string }> {
    const url = checkWebhookUrl(input.url, this.allowPrivateUrls);
    const events = checkWebhookEvents(input.events);
    const secret = generateWebhookSecret();
    const id = crypto.randomUUID();
    const ciphertext = await this.secrets.seal(organizationId, id, secret);
    const now = this.clock.now().toISOString();
    const sub = await this.db.tx(async (q) => {
      // Locks the organization row: concurrent creations count and compare one at a time.
      await this.tiers.enforceWebhookLimit(q, organizationId);
      await refuseDuplicate(q, organizationId, url, events);
      const [row] = await q.query(
        `INSERT INTO webhook_subscriptions (id, organization_id, name, url, events, secret_ciphertext, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${COLUMNS}`,
        [id, organizationId, input.name, url, JSON.stringify(events), ciphertext, now],
      );
      const created = toSubscription(row!);
      await this.audit.append(q, organizationId, {
        event_type: 'webhook.created',
        actor,
        subject: created.id,
        payload: { url: created.url, events: created.events },
      });
      return created;
    });
    return { ...sub, secret };
  }

  /** The organization's subscriptions, newest first, without secrets. */
  async list(organizationId: string, limit: number, offset: number): Promise<WebhookSubscription[]> {
    const rows = await this.db.query(
      `SELECT ${COLUMNS} FROM webhook_subscriptions WHERE organization_id = $1
       ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [organizationId, limit, offset],
    );
    return rows.map(toSubscription);
  }

  /** One subscription; `not_found` (404) for unknown ids and other tenants' subscriptions alike. */
  async get(organizationId: string, id: string, q: Queryable = this.db): Promise<WebhookSubscription> {
    const [row] = await q.query(`SELECT ${COLUMNS} FROM webhook_subscriptions WHERE id = $1 AND organization_id = $2`, [
      id,
      organizationId,
    ]);
    if (!row) throw notFound('Webhook subscription');
    return toSubscription(row);
  }

  /**
   * Partial update of `name`, `url`, `events`, `active`. Re-activating clears the failure streak and the
   * disable reason. Throws `not_found`, `validation_failed` for a bad URL or event list, `conflict` (409)
   * when the new url and events are another subscription's.
   */
  async update(organizationId: string, id: string, patch: WebhookPatch, actor: string): Promise<WebhookSubscription> {
    const sets: string[] = [];
    const values: unknown[] = [];
    const set = (column: string, value: unknown) => {
      values.push(value);
      sets.push(`${column} = $${values.length + 2}`);
    };
    const url = patch.url === undefined ? undefined : checkWebhookUrl(patch.url, this.allowPrivateUrls);
    const events = patch.events === undefined ? undefined : checkWebhookEvents(patch.events);
    if (patch.name !== undefined) set('name', patch.name);
    if (url !== undefined) set('url', url);
    if (events !== undefined) set('events', JSON.stringify(events));
    if (patch.active !== undefined) {
      set('active', patch.active);
      if (patch.active) sets.push('failure_count = 0', 'first_failure_at = NULL', 'disabled_reason = NULL');
    }
    set('updated_at', this.clock.now().toISOString());
    return this.db.tx(async (q) => {
      if (url !== undefined || events !== undefined) {
        await q.query('SELECT 1 FROM organizations WHERE organization_id = $1 FOR UPDATE', [organizationId]);
        const current = await this.get(organizationId, id, q);
        await refuseDuplicate(q, organizationId, url ?? current.url, events ?? current.events, id);
      }
      const [row] = await q.query(
        `UPDATE webhook_subscriptions SET ${sets.join(', ')} WHERE id = $1 AND organization_id = $2 RETURNING ${COLUMNS}`,
        [id, organizationId, ...values],
      );
      if (!row) throw notFound('Webhook subscription');
      await this.audit.append(q, organizationId, {
        event_type: 'webhook.updated',
        actor,
        subject: id,
        payload: { fields: Object.keys(patch).filter((k) => patch[k as keyof WebhookPatch] !== undefined) },
      });
      return toSubscription(row);
    });
  }

  /** Deletes the subscription and (by cascade) its deliveries. Throws `not_found`. */
  async delete(organizationId: string, id: string, actor: string): Promise<void> {
    const stored = await this.db.tx(async (q) => {
      const [row] = await q.query<{ secret_ciphertext: string; previous_secret_ciphertext: string | null }>(
        `DELETE FROM webhook_subscriptions WHERE id = $1 AND organization_id = $2
         RETURNING secret_ciphertext, previous_secret_ciphertext`,
        [id, organizationId],
      );
      if (!row) throw notFound('Webhook subscription');
      await this.audit.append(q, organizationId, { event_type: 'webhook.deleted', actor, subject: id });
      return [row.secret_ciphertext, row.previous_secret_ciphertext];
    });
    // After commit, best effort: a secret left behind in Vault is unreachable (nothing refers to it).
    await this.secrets.forget(stored).catch((err: unknown) => {
      console.error(
        JSON.stringify({
          level: 'warn',
          msg: 'webhook secret not removed from custody',
          subscription: id,
          error: String(err),
        }),
      );
    });
  }

  /**
   * Replaces the signing secret and returns the new one (shown this once). The secret it replaces keeps
   * signing, alongside the new one, for 24 hours; a second rotation within that window drops the oldest.
   * Throws `not_found`.
   */
  async rotateSecret(
    organizationId: string,
    id: string,
    actor: string,
  ): Promise<{ secret: string; previous_secret_expires_at: string }> {
    const secret = generateWebhookSecret();
    // Unknown ids are refused before anything is written to secret custody.
    await this.get(organizationId, id);
    const ciphertext = await this.secrets.seal(organizationId, id, secret);
    const now = this.clock.now();
    const overlapEnd = new Date(now.getTime() + WEBHOOK_SECRET_OVERLAP_MS).toISOString();
    await this.db.tx(async (q) => {
      const [row] = await q.query(
        `UPDATE webhook_subscriptions
         SET previous_secret_ciphertext = secret_ciphertext, previous_secret_expires_at = $3,
             secret_ciphertext = $4, updated_at = $5
         WHERE id = $1 AND organization_id = $2 RETURNING id`,
        [id, organizationId, overlapEnd, ciphertext, now.toISOString()],
      );
      if (!row) throw notFound('Webhook subscription');
      await this.audit.append(q, organizationId, {
        event_type: 'webhook.secret_rotated',
        actor,
        subject: id,
        payload: { previous_secret_expires_at: overlapEnd },
      });
    });
    return { secret, previous_secret_expires_at: overlapEnd };
  }

  /**
   * The subscription's signing secret, and the previous one while it still signs, for a receiver that lost
   * them (no rotation needed). Recorded as `webhook.secret_read`; nothing is returned unless that record
   * commits. Throws `not_found` (404, another tenant's subscription too), `key_unavailable` (500) or
   * `key_custody_unavailable` (503) when the secret cannot be opened.
   */
  async readSecret(organizationId: string, id: string, actor: string): Promise<WebhookSecrets> {
    const [row] = await this.db.query<{
      secret_ciphertext: string;
      previous_secret_ciphertext: string | null;
      previous_secret_expires_at: string | Date | null;
    }>(
      `SELECT secret_ciphertext, previous_secret_ciphertext, previous_secret_expires_at FROM webhook_subscriptions
        WHERE id = $1 AND organization_id = $2`,
      [id, organizationId],
    );
    if (!row) throw notFound('Webhook subscription');
    const previousUntil = toIsoOrNull(row.previous_secret_expires_at);
    const previousLive =
      row.previous_secret_ciphertext && previousUntil && Date.parse(previousUntil) > this.clock.now().getTime();
    const [secret, previous] = await Promise.all([
      this.secrets.open(row.secret_ciphertext),
      previousLive ? this.secrets.open(row.previous_secret_ciphertext!) : undefined,
    ]);
    await this.db.tx((q) =>
      this.audit.append(q, organizationId, {
        event_type: 'webhook.secret_read',
        actor,
        subject: id,
        payload: { previous_included: Boolean(previous) },
      }),
    );
    return previous ? { secret, previous_secret: previous, previous_expires_at: previousUntil! } : { secret };
  }

  /** The subscription's deliveries, newest first. Throws `not_found` for another tenant's subscription. */
  async listDeliveries(organizationId: string, id: string, limit: number, offset: number): Promise<WebhookDelivery[]> {
    await this.get(organizationId, id);
    const rows = await this.db.query(
      `SELECT id, event_id, event_type, status, http_status_code, attempt_count, next_retry_at, delivered_at, last_error, created_at
       FROM webhook_deliveries WHERE subscription_id = $1 AND organization_id = $2
       ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`,
      [id, organizationId, limit, offset],
    );
    return rows.map((r) => ({
      id: r.id as string,
      event_id: r.event_id as string,
      event_type: r.event_type as string,
      status: r.status as WebhookDelivery['status'],
      http_status_code: r.http_status_code == null ? null : Number(r.http_status_code),
      attempt_count: Number(r.attempt_count),
      next_retry_at: toIsoOrNull(r.next_retry_at),
      delivered_at: toIsoOrNull(r.delivered_at),
      last_error: (r.last_error as string | null) ?? null,
      created_at: toIsoOrNull(r.created_at)!,
    }));
  }
}
