import type { Db, Queryable } from '../../platform/db.ts';
import { checkOutboundUrl } from '../../platform/ssrf.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { type DeliveryQuota, withinDeliveryQuota } from './delivery-quota.ts';
import { WEBHOOK_DISABLE_AFTER_MS } from './webhook-events.ts';
import { type AttemptResult, sendWebhook } from './webhook-http.ts';
import type { WebhookSecretOpener } from './webhook-secrets.service.ts';

export interface DeliveryOptions {
  /** Delay in seconds before each attempt (WEBHOOK_RETRY_SCHEDULE); its length is the number of attempts. */
  schedule: readonly number[];
  /** WEBHOOK_TIMEOUT_MS. */
  timeoutMs: number;
  /** ALLOW_PRIVATE_URLS: the outbound URL policy is re-checked before every attempt. */
  allowPrivateUrls: boolean;
  /** Rows claimed per round, rounds per run, attempts in flight at once. */
  batchSize?: number;
  maxRounds?: number;
  concurrency?: number;
  fetch?: typeof fetch;
}

/** What one run did, and when the subscription next has work (null: none). */
export interface DispatchSummary {
  attempted: number;
  delivered: number;
  nextDueMs: number | null;
  /** The subscription no longer exists (deleted): its dispatcher can forget it. */
  gone: boolean;
}

interface SubscriptionRow {
  id: string;
  organization_id: string;
  tier: string;
  url: string;
  active: boolean;
  secret_ciphertext: string;
  previous_secret_ciphertext: string | null;
  previous_secret_expires_at: string | null;
}

interface ClaimedRow {
  id: string;
  event_id: string;
  payload: { type: string; timestamp: string; data: unknown };
  attempt_count: number;
}

/** Time beyond the request timeout before an unfinished claim may be taken over (the sender died). */
const LEASE_MARGIN_MS = 60_000;
const OUTSTANDING = `status IN ('pending', 'failed')`;

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Subscriptions with a delivery that was due more than `graceMs` before `nowMs` and is not being sent: their
 * dispatcher missed a kick (the cron sweep wakes them).
 */
export async function overdueSubscriptions(
  q: Queryable,
  nowMs: number,
  graceMs = 60_000,
  limit = 500,
): Promise<string[]> {
  const rows = await q.query<{ subscription_id: string }>(
    `SELECT DISTINCT subscription_id FROM webhook_deliveries
     WHERE ${OUTSTANDING} AND next_retry_at <= $1 AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
     LIMIT $3`,
    [new Date(nowMs - graceMs).toISOString(), new Date(nowMs).toISOString(), limit],
  );
  return rows.map((r) => r.subscription_id);
}

/**
 * Sends a subscription's due deliveries and records the outcome: the part of webhooks that runs inside the
 * WebhookDispatcher Durable Object (and the cron sweep's query). All time comes from the `nowMs` passed in.
 *
 * Claiming: one statement selects due rows `FOR UPDATE SKIP LOCKED`, counts the attempt and stamps a lease
 * (random token, expiry = timeout + margin). The HTTP call happens outside any transaction; its outcome is
 * written only `WHERE lease_token = <ours>`. So two dispatchers never send the same attempt concurrently, and
 * a dispatcher that dies mid-attempt leaves a lease that expires and is retried (at-least-once).
 */
export class WebhookDeliveryService {
  readonly #batchSize: number;
  readonly #maxRounds: number;
  readonly #concurrency: number;

  constructor(
    private readonly db: Db,
    /** Opens stored signing secrets of either custody (webhook-secrets.service.ts). */
    private readonly secrets: WebhookSecretOpener,
    private readonly audit: AuditService,
    /** Every attempt counts against the organization's daily delivery quota (delivery-quota.ts). */
    private readonly quota: DeliveryQuota,
    private readonly opts: DeliveryOptions,
  ) {
    if (opts.schedule.length === 0) throw new TypeError('the webhook retry schedule needs at least one entry');
    this.#batchSize = opts.batchSize ?? 25;
    this.#maxRounds = opts.maxRounds ?? 8;
    this.#concurrency = opts.concurrency ?? 6;
  }

  /**
   * Attempts every delivery of the subscription due at `nowMs` (in rounds, bounded per run), records each
   * outcome, and reports when it next has work. A disabled subscription's outstanding deliveries are
   * dead-lettered. Errors from Postgres propagate (the alarm that called this is retried).
   */
  async runDue(subscriptionId: string, nowMs: number): Promise<DispatchSummary> {
    let attempted = 0;
    let delivered = 0;
    let now = nowMs;
    for (let round = 0; round < this.#maxRounds; round++) {
      now = Math.max(now, Date.now());
      const [sub] = await this.db.query<SubscriptionRow>(
        `SELECT s.id, s.organization_id, o.tier, s.url, s.active, s.secret_ciphertext, s.previous_secret_ciphertext,
                s.previous_secret_expires_at
         FROM webhook_subscriptions s JOIN organizations o USING (organization_id) WHERE s.id = $1`,
        [subscriptionId],
      );
      if (!sub) return { attempted, delivered, nextDueMs: null, gone: true };
      if (!sub.active) {
        await this.#deadLetterOutstanding(sub.id, now, 'subscription is disabled');
        return { attempted, delivered, nextDueMs: null, gone: false };
      }
      const token = crypto.randomUUID();
      const due = await this.#claim(sub.id, now, token);
      if (due.length === 0) break;
      const claimed = await withinDeliveryQuota(this.db, this.quota, sub, due, token, now);
      if (claimed.length === 0) break;
      const secrets = await this.#secrets(sub, now);
      const results = await mapLimit(claimed, this.#concurrency, (d) => this.#attempt(sub, secrets, d, now));
      // Outcomes (and the next retry) count from when the attempts ended, not from when they began.
      now = Math.max(now, Date.now());
      let disabled = false;
      for (let i = 0; i < claimed.length; i++) {
        const ok = await this.#record(sub, claimed[i]!, results[i]!, token, now, disabled);
        attempted++;
        if (ok === 'delivered') delivered++;
        if (ok === 'disabled') disabled = true;
      }
      if (disabled) return { attempted, delivered, nextDueMs: null, gone: false };
      // Nothing else was due (nextDueMs says if that changed), or the day's quota is spent.
      if (due.length < this.#batchSize || claimed.length < due.length) break;
    }
    return { attempted, delivered, nextDueMs: await this.nextDueMs(subscriptionId), gone: false };
  }

  /** When the subscription's earliest outstanding delivery can next be attempted (ms), or null. */
  async nextDueMs(subscriptionId: string): Promise<number | null> {
    const [row] = await this.db.query<{ due: string | null }>(
      `SELECT min(GREATEST(next_retry_at, COALESCE(lease_expires_at, next_retry_at))) AS due
       FROM webhook_deliveries WHERE subscription_id = $1 AND ${OUTSTANDING}`,
      [subscriptionId],
    );
    return row?.due == null ? null : new Date(row.due).getTime();
  }

  async #claim(subscriptionId: string, now: number, token: string): Promise<ClaimedRow[]> {
    const at = new Date(now).toISOString();
    const rows = await this.db.query<ClaimedRow>(
      `WITH due AS (
         SELECT id FROM webhook_deliveries
         WHERE subscription_id = $1 AND ${OUTSTANDING} AND next_retry_at <= $2
           AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
         ORDER BY next_retry_at, created_at
         LIMIT $5
         FOR UPDATE SKIP LOCKED)
       UPDATE webhook_deliveries d
       SET attempt_count = d.attempt_count + 1, lease_token = $3, lease_expires_at = $4, updated_at = $2
       FROM due WHERE d.id = due.id
       RETURNING d.id, d.event_id, d.payload, d.attempt_count`,
      [subscriptionId, at, token, new Date(now + this.opts.timeoutMs + LEASE_MARGIN_MS).toISOString(), this.#batchSize],
    );
    return rows.map((r) => ({ ...r, attempt_count: Number(r.attempt_count) }));
  }

  async #secrets(sub: SubscriptionRow, now: number): Promise<string[]> {
    const secrets = [await this.secrets.open(sub.secret_ciphertext)];
    if (
      sub.previous_secret_ciphertext &&
      sub.previous_secret_expires_at &&
      Date.parse(sub.previous_secret_expires_at) > now
    ) {
      secrets.push(await this.secrets.open(sub.previous_secret_ciphertext));
    }
    return secrets;
  }

  #attempt(sub: SubscriptionRow, secrets: string[], d: ClaimedRow, now: number): Promise<AttemptResult> {
    const check = checkOutboundUrl(sub.url, { allowPrivate: this.opts.allowPrivateUrls });
    if (!check.ok) return Promise.resolve({ kind: 'error', error: `url refused at dispatch: ${check.reason}` });
    // Built from the stored fields in a fixed order, so the body is the same bytes on every attempt.
    const body = JSON.stringify({ type: d.payload.type, timestamp: d.payload.timestamp, data: d.payload.data });
    return sendWebhook(
      {
        url: check.url,
        secrets,
        msgId: d.event_id,
        timestampSec: Math.floor(now / 1000),
        body,
        timeoutMs: this.opts.timeoutMs,
        fetch: this.opts.fetch,
      },
      now,
    );
  }

  /** Writes one attempt's outcome under our lease; returns what became of the delivery. */
  async #record(
    sub: SubscriptionRow,
    d: ClaimedRow,
    r: AttemptResult,
    token: string,
    now: number,
    subscriptionDisabled: boolean,
  ): Promise<'delivered' | 'retry' | 'dead_letter' | 'disabled' | 'lost'> {
    const at = new Date(now).toISOString();
    const status = r.kind === 'response' ? r.status : null;
    if (status !== null && status >= 200 && status < 300) {
      const done = await this.#finish(
        d.id,
        token,
        { status: 'delivered', code: status, next: null, error: null, deliveredAt: at },
        at,
        'success',
      );
      return done ? 'delivered' : 'lost';
    }
    const error = r.kind === 'error' ? r.error : `receiver answered HTTP ${r.status}`;
    if (status === 410) {
      const outcome = {
        status: 'dead_letter',
        code: 410,
        next: null,
        error: `${error}; subscription disabled`,
        deliveredAt: null,
      };
      await this.#finish(d.id, token, outcome, at, 'none');
      await this.#disable(sub, 'endpoint_gone', now, token);
      return 'disabled';
    }
    const retryAfterMs = r.kind === 'response' ? (r.retryAfterMs ?? 0) : 0;
    const left = d.attempt_count < this.opts.schedule.length && !subscriptionDisabled;
    const nextAt = left
      ? new Date(now + Math.max(this.opts.schedule[d.attempt_count]! * 1000, retryAfterMs)).toISOString()
      : null;
    const outcome = { status: left ? 'failed' : 'dead_letter', code: status, next: nextAt, error, deliveredAt: null };
    const done = await this.#finish(d.id, token, outcome, at, 'failure');
    if (!done) return 'lost';
    if (done.first_failure_at && now - new Date(done.first_failure_at).getTime() >= WEBHOOK_DISABLE_AFTER_MS) {
      await this.#disable(sub, 'failing_for_5_days', now, token);
      return 'disabled';
    }
    return left ? 'retry' : 'dead_letter';
  }

  /**
   * Records the outcome if we still hold the lease, and in the same statement moves the subscription's
   * failure streak: reset by a success, extended by a failure. Null when the lease was lost.
   */
  async #finish(
    id: string,
    token: string,
    o: { status: string; code: number | null; next: string | null; error: string | null; deliveredAt: string | null },
    at: string,
    streak: 'success' | 'failure' | 'none',
  ): Promise<{ first_failure_at: string | null } | null> {
    const subscriptionUpdate = {
      success: `UPDATE webhook_subscriptions s SET failure_count = 0, first_failure_at = NULL FROM fin
                WHERE s.id = fin.subscription_id AND (s.failure_count <> 0 OR s.first_failure_at IS NOT NULL)
                RETURNING s.first_failure_at`,
      failure: `UPDATE webhook_subscriptions s SET failure_count = s.failure_count + 1,
                  first_failure_at = COALESCE(s.first_failure_at, $8::timestamptz)
                FROM fin WHERE s.id = fin.subscription_id RETURNING s.first_failure_at`,
      none: 'SELECT NULL::timestamptz AS first_failure_at FROM fin WHERE false',
    }[streak];
    const [row] = await this.db.query<{ finished: string; first_failure_at: string | null }>(
      `WITH fin AS (
         UPDATE webhook_deliveries
         SET status = $3, http_status_code = $4, next_retry_at = $5, last_error = $6, delivered_at = $7,
             lease_token = NULL, lease_expires_at = NULL, updated_at = $8
         WHERE id = $1 AND lease_token = $2 RETURNING subscription_id),
       sub AS (${subscriptionUpdate})
       SELECT (SELECT count(*) FROM fin) AS finished, (SELECT first_failure_at FROM sub LIMIT 1) AS first_failure_at`,
      [id, token, o.status, o.code, o.next, o.error, o.deliveredAt, at],
    );
    if (!row || Number(row.finished) !== 1) return null;
    return { first_failure_at: row.first_failure_at == null ? null : new Date(row.first_failure_at).toISOString() };
  }

  /**
   * Turns the subscription off (audited, actor `system`) and dead-letters what it still had to send, except
   * the rows of this round (`token`): their outcomes are recorded next, as dead letters unless delivered.
   */
  async #disable(
    sub: SubscriptionRow,
    reason: 'endpoint_gone' | 'failing_for_5_days',
    now: number,
    token: string,
  ): Promise<void> {
    const at = new Date(now).toISOString();
    await this.db.tx(async (q) => {
      const [row] = await q.query(
        `UPDATE webhook_subscriptions SET active = false, disabled_reason = $2, updated_at = $3
         WHERE id = $1 AND active RETURNING id`,
        [sub.id, reason, at],
      );
      if (!row) return;
      await this.audit.append(q, sub.organization_id, {
        event_type: 'webhook.disabled',
        actor: 'system',
        subject: sub.id,
        payload: { reason },
      });
    });
    await this.#deadLetterOutstanding(sub.id, now, `subscription disabled (${reason})`, token);
  }

  async #deadLetterOutstanding(
    subscriptionId: string,
    now: number,
    reason: string,
    exceptToken?: string,
  ): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries SET status = 'dead_letter', next_retry_at = NULL, last_error = $2,
         lease_token = NULL, lease_expires_at = NULL, updated_at = $3
       WHERE subscription_id = $1 AND ${OUTSTANDING} AND lease_token IS DISTINCT FROM $4::uuid`,
      [subscriptionId, reason, new Date(now).toISOString(), exceptToken ?? null],
    );
  }
}
