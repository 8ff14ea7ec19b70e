import { LEASE_TTL_MS, type LeaseReply, type LeaseReport } from '../../../durable-objects/lease-policy.ts';
import { utcDate } from '../../platform/clock.ts';
import { count } from '../../platform/metrics.ts';
import type { CallMode, LimiterLink } from './limiter-link.ts';
import type { QuotaDecision } from './quota-decision.ts';

/** A block lasts about this long at the isolate's recent rate. */
const BLOCK_SECONDS = 2;
const MIN_BLOCK = 32;
const MAX_BLOCK = 10_000;
/** Once the object said the day's quota is all spent, refuse locally for this long before asking again. */
const SPENT_RECHECK_MS = 1_000;
/** How often a request looks again while another request's renewal of this lease is in flight. */
const POLL_MS = 1;
/** A call in flight longer than this is taken as lost (its request was cancelled before it settled). */
const BUSY_STALE_MS = 15_000;
const MAX_ROUNDS = 8;

/** What one request brings to a lease: its limiter link, clock reading and waitUntil. */
export interface LeaseContext {
  link: LimiterLink;
  /** The daily limit the caller's tier sets; a lease taken under another limit is given back. */
  limit: number;
  nowMs: number;
  waitUntil(p: Promise<unknown>): void;
}

interface Held {
  day: string;
  /** The caller's limit the lease was taken under, and the limit the object applied (headers). */
  policy: number;
  limit: number;
  expiresAt: number;
  remaining: number;
  /** Renew in the background once `remaining` falls to this. */
  lowWater: number;
  /** Quota nobody held at the last answer (for RateLimit-Remaining). */
  unleased: number;
  resetAt: string;
}

interface CallPlan {
  need: number;
  want: number;
  release: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One isolate's lease on one limited daily counter of one organization. Calls are admitted from the lease
 * with no I/O; the lease is renewed in the background before it runs out or expires. A call that finds no
 * quota makes its own call to the object, which counts it directly (so the last calls of the day are
 * exact) and may grant a new block. At most one call that changes the lease is in flight at a time; while
 * one is, other requests ask the object to count them directly instead of waiting for it.
 *
 * No request ever awaits a promise of another request (workerd does not allow continuing one request's
 * work from another's context): requests share plain numbers only, and make and await their own calls.
 *
 * Local state mirrors the object's row for this holder: `remaining + unreported` equals what the object
 * believes the holder holds. A lease the object took back unreturned was counted in full there.
 */
export class QuotaLease {
  readonly kind: 'calls' | 'tokens';
  #holder: string | undefined;
  #held: Held | null = null;
  /** Bumped whenever the object may no longer hold this holder's row: refunds of older tickets go direct. */
  #epoch = 0;
  #unreported = 0;
  /** When the call that changes the lease started (null: none in flight). */
  #busySince: number | null = null;
  #spentOut: { day: string; policy: number; until: number; reply: LeaseReply } | null = null;
  #takes = 0;
  #rate = 0;
  #lastPlanAt: number | null = null;
  #lastUseMs = 0;

  constructor(kind: 'calls' | 'tokens') {
    this.kind = kind;
  }

  /**
   * Admits one call (from the lease, or counted by the object) or refuses it at the daily limit. Rejects
   * when the object is unreachable and the lease has nothing left.
   */
  async take(ctx: LeaseContext): Promise<QuotaDecision> {
    let last: LeaseReply | undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const local = this.#takeLocal(ctx);
      if (local) {
        this.#maybeRenew(ctx);
        return local;
      }
      const spent = this.#spentOut;
      if (
        spent &&
        spent.day === utcDate(new Date(ctx.nowMs)) &&
        spent.policy === ctx.limit &&
        ctx.nowMs < spent.until
      ) {
        return this.#refuse(spent.reply);
      }
      if (!this.busy) {
        const release = this.#held !== null && !this.#usable(ctx);
        const reply = await this.#call(ctx, { need: 1, want: this.#want(ctx.nowMs), release }, 'blocking');
        return reply.admitted > 0 ? this.#direct(ctx, reply) : this.#refuse(reply, ctx);
      }
      // Another request is renewing this lease: be counted directly rather than wait for its answer.
      last = await ctx.link.lease(
        { holder: this.#holderId(), kind: this.kind, limit: ctx.limit, nowMs: ctx.nowMs, need: 1, want: 0 },
        'blocking',
      );
      if (this.#held && this.#held.day === last.day) this.#held.unleased = last.unleased;
      if (last.admitted > 0) return this.#direct(ctx, last);
      // Refused while this very isolate holds quota at the object: it lands with the renewal; look again then.
      if (last.held === 0) return this.#refuse(last, ctx);
      while (this.busy) await sleep(POLL_MS);
    }
    if (!last) throw new Error('quota lease: no answer');
    return this.#refuse(last);
  }

  /**
   * Gives back one call admitted from this lease under `epoch` (a token that was not issued). Answers false
   * when the lease has changed since; the caller then gives it back to the object directly.
   */
  refund(epoch: number, day: string): boolean {
    const held = this.#held;
    if (epoch !== this.#epoch || !held || held.day !== day) return false;
    held.remaining++;
    this.#unreported--;
    this.#spentOut = null;
    return true;
  }

  /** A call that changes the lease is in flight. */
  get busy(): boolean {
    return this.#busySince !== null && Date.now() - this.#busySince < BUSY_STALE_MS;
  }

  /** This holder's calls spent and not yet reported to the object (for usage read in this isolate). */
  get unreported(): number {
    return this.#unreported;
  }

  /** True when nothing is held or owed: the lease can be forgotten. */
  get idle(): boolean {
    return !this.#held && this.#unreported === 0 && !this.busy;
  }

  /**
   * Gives the lease back when it has not been used for `idleMs` or can no longer be used (expired, another
   * day); with `report`, otherwise reports what was spent. Does nothing while a call is in flight.
   */
  async settle(
    link: LimiterLink,
    nowMs: number,
    waitUntil: (p: Promise<unknown>) => void,
    { idleMs, report }: { idleMs: number; report: boolean },
  ): Promise<void> {
    const held = this.#held;
    if (this.busy || !held) return;
    const ctx: LeaseContext = { link, limit: held.policy, nowMs, waitUntil };
    const release = !this.#usable(ctx) || held.remaining === 0 || nowMs - this.#lastUseMs >= idleMs;
    if (!release && !(report && this.#unreported !== 0)) return;
    await this.#call(ctx, { need: 0, want: 0, release }, 'background');
  }

  #usable(ctx: LeaseContext): Held | null {
    const h = this.#held;
    if (!h || h.policy !== ctx.limit || h.day !== utcDate(new Date(ctx.nowMs)) || ctx.nowMs >= h.expiresAt) return null;
    return h;
  }

  #takeLocal(ctx: LeaseContext): QuotaDecision | null {
    const h = this.#usable(ctx);
    if (!h || h.remaining === 0) return null;
    h.remaining--;
    this.#unreported++;
    this.#takes++;
    this.#lastUseMs = ctx.nowMs;
    count('agentidp_quota_admissions_total', { kind: this.kind, via: 'lease' });
    return {
      allowed: true,
      limit: h.limit,
      remaining: h.unleased + h.remaining,
      reset_at: h.resetAt,
      retry_at: null,
      ticket: { via: 'lease', epoch: this.#epoch, day: h.day, nowMs: ctx.nowMs },
    };
  }

  /** Renews ahead of exhaustion or expiry, without making anyone wait. */
  #maybeRenew(ctx: LeaseContext): void {
    const h = this.#held;
    if (this.busy || !h) return;
    if (h.remaining <= h.lowWater || h.expiresAt - ctx.nowMs <= LEASE_TTL_MS / 2) {
      this.#call(ctx, { need: 0, want: this.#want(ctx.nowMs), release: false }, 'background').catch(() => undefined);
    }
  }

  /** Size of the next block: the isolate's recent rate × BLOCK_SECONDS, within MIN_BLOCK..MAX_BLOCK. */
  #want(nowMs: number): number {
    const seconds = Math.max(0.25, (nowMs - (this.#lastPlanAt ?? nowMs)) / 1000);
    this.#rate = this.#lastPlanAt === null ? this.#takes / seconds : (this.#rate + this.#takes / seconds) / 2;
    this.#takes = 0;
    this.#lastPlanAt = nowMs;
    return Math.min(MAX_BLOCK, Math.max(MIN_BLOCK, Math.ceil(this.#rate * BLOCK_SECONDS)));
  }

  /**
   * The one kind of call that changes this holder's row: reports spends, gives back (release), counts
   * `need` and asks for a block. Made and kept alive (waitUntil) in the calling request's context.
   */
  #call(ctx: LeaseContext, plan: CallPlan, mode: CallMode): Promise<LeaseReply> {
    const held = this.#held;
    let report: LeaseReport | undefined;
    if (held) {
      report = { day: held.day, spent: this.#unreported, release: plan.release };
      this.#unreported = 0;
      if (plan.release) {
        count('agentidp_leases_returned_total', { kind: this.kind });
        count('agentidp_lease_units_returned_total', { kind: this.kind }, held.remaining);
        this.#held = null;
        this.#epoch++;
      }
    }
    this.#busySince = Date.now();
    const call = ctx.link
      .lease(
        {
          holder: this.#holderId(),
          kind: this.kind,
          limit: ctx.limit,
          nowMs: ctx.nowMs,
          report,
          need: plan.need,
          want: plan.want,
        },
        mode,
      )
      .then(
        (reply) => {
          this.#accept(ctx, reply);
          return reply;
        },
        (err: unknown) => {
          // A renewal that did not arrive is reported again next time (at worst counted twice: never under).
          // A return that did not arrive is counted in full by the object when the lease expires.
          if (report && !report.release) this.#unreported += report.spent;
          throw err;
        },
      )
      .finally(() => {
        this.#busySince = null;
      });
    ctx.waitUntil(call.catch(() => undefined));
    return call;
  }

  #accept(ctx: LeaseContext, reply: LeaseReply): void {
    if (!reply.known && this.#held) {
      // The object had taken the lease back and counted it in full, spends made meanwhile included.
      this.#held = null;
      this.#unreported = 0;
      this.#epoch++;
    }
    const prev = this.#held;
    this.#takes += reply.admitted;
    if (reply.admitted > 0 || reply.granted > 0) this.#lastUseMs = ctx.nowMs;
    if (reply.granted > 0) {
      count('agentidp_leases_granted_total', { kind: this.kind });
      count('agentidp_lease_units_granted_total', { kind: this.kind }, reply.granted);
      this.#spentOut = null;
    }
    if (reply.held > 0 || prev) {
      const remaining = (prev?.remaining ?? 0) + reply.granted;
      this.#held = {
        day: reply.day,
        policy: ctx.limit,
        limit: reply.limit,
        expiresAt: reply.expiresAt,
        remaining,
        lowWater: reply.granted > 0 ? Math.max(1, Math.floor(remaining / 2)) : (prev?.lowWater ?? 1),
        unleased: reply.unleased,
        resetAt: reply.resetAt,
      };
    }
  }

  #direct(ctx: LeaseContext, reply: LeaseReply): QuotaDecision {
    count('agentidp_quota_admissions_total', { kind: this.kind, via: 'direct' });
    return {
      allowed: true,
      limit: reply.limit,
      remaining: reply.unleased + (this.#held?.remaining ?? 0),
      reset_at: reply.resetAt,
      retry_at: null,
      ticket: { via: 'direct', nowMs: ctx.nowMs },
    };
  }

  /** A refusal; when the object said the day's quota is all spent, later calls are refused locally a while. */
  #refuse(reply: LeaseReply, ctx?: LeaseContext): QuotaDecision {
    count('agentidp_quota_refusals_total', { kind: this.kind });
    if (ctx && reply.retryAt === null) {
      this.#spentOut = { day: reply.day, policy: ctx.limit, until: ctx.nowMs + SPENT_RECHECK_MS, reply };
    }
    return { allowed: false, limit: reply.limit, remaining: 0, reset_at: reply.resetAt, retry_at: reply.retryAt };
  }

  #holderId(): string {
    this.#holder ??= crypto.randomUUID();
    return this.#holder;
  }
}
