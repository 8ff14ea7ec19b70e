import type { LeaseReply, LeaseRequest } from '../../../durable-objects/lease-policy.ts';
import type {
  CounterKind,
  LimitResult,
  TakeResult,
  TenantLimiter,
  UsageResult,
} from '../../../durable-objects/tenant-limiter.do.ts';
import { count } from '../../platform/metrics.ts';

/** blocking: a request waits for the answer; background: nobody does (renewals, returns, flushes). */
export type CallMode = 'blocking' | 'background';

/**
 * Calls to one organization's TenantLimiter object. Every call is counted in the operator metrics, and,
 * when `rttMs` is set (LIMITER_SIMULATED_RTT_MS, development only), delayed first, so tests and benchmarks
 * can show what a far-away object costs. A stub is made per call: one that saw an exception is broken.
 */
export class LimiterLink {
  constructor(
    private readonly ns: DurableObjectNamespace<TenantLimiter>,
    readonly organizationId: string,
    private readonly rttMs = 0,
  ) {}

  lease(req: LeaseRequest, mode: CallMode): Promise<LeaseReply> {
    return this.#call('lease', mode, (stub) => stub.lease(req));
  }

  increment(kind: CounterKind, limit: number | null, nowMs: number, n: number, mode: CallMode): Promise<LimitResult> {
    return this.#call('increment', mode, (stub) => stub.increment(kind, limit, nowMs, n));
  }

  release(kind: CounterKind, nowMs: number, n: number, mode: CallMode): Promise<number> {
    return this.#call('release', mode, (stub) => stub.release(kind, nowMs, n));
  }

  take(kind: CounterKind, limit: number | null, nowMs: number, wanted: number, mode: CallMode): Promise<TakeResult> {
    return this.#call('take', mode, (stub) => stub.take(kind, limit, nowMs, wanted));
  }

  usage(nowMs: number, mode: CallMode): Promise<UsageResult> {
    return this.#call('usage', mode, (stub) => stub.usage(nowMs));
  }

  async #call<T>(
    method: string,
    mode: CallMode,
    fn: (stub: DurableObjectStub<TenantLimiter>) => Promise<T>,
  ): Promise<T> {
    count('agentidp_limiter_calls_total', { method, mode });
    try {
      if (this.rttMs > 0) {
        count('agentidp_limiter_delayed_calls_total');
        await new Promise((resolve) => setTimeout(resolve, this.rttMs));
      }
      // Stubs are typed with Rpc.Result wrappers; the methods return plain serialisable objects.
      return (await fn(this.ns.getByName(this.organizationId))) as T;
    } catch (err) {
      count('agentidp_limiter_call_errors_total', { method });
      throw err;
    }
  }
}
