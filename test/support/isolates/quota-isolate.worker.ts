// An isolate of its own for the lease tests (test/worker/tiers/lease-isolates.test.ts): the same quota code
// the Worker runs (UsageLimiterService → QuotaLease → TenantLimiter), built into a bundle and started as
// several auxiliary Workers of the vitest pool (quota-isolates.ts). Every one is a separate isolate with its
// own module state; all of them reach one TenantLimiter namespace, hosted by the first.
import { TenantLimiter } from '../../../durable-objects/tenant-limiter.do.ts';
import { UsageLimiterService } from '../../../worker/features/tiers/usage-limiter.service.ts';
import { systemClock } from '../../../worker/platform/clock.ts';
import { isolate, samples } from '../../../worker/platform/metrics.ts';

export { TenantLimiter };

interface IsolateEnv {
  TENANT_LIMITER: DurableObjectNamespace<TenantLimiter>;
}

export default {
  async fetch(request: Request, env: IsolateEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const org = url.searchParams.get('org') ?? '';
    // Settling is driven by the test (/settle), as the idle timer would after USAGE_FLUSH_MS.
    const limiter = new UsageLimiterService(env.TENANT_LIMITER, systemClock, {
      flushMs: 60_000,
      waitUntil: (p) => ctx.waitUntil(p),
    });
    switch (url.pathname) {
      case '/call':
        return Response.json(await limiter.countCall(org, 'free'));
      case '/settle':
        await limiter.settle({ force: true });
        return Response.json({ ok: true });
      case '/spend': {
        const n = Number(url.searchParams.get('n'));
        const limit = Number(url.searchParams.get('limit'));
        return Response.json(await env.TENANT_LIMITER.getByName(org).increment('calls', limit, Date.now(), n));
      }
      case '/usage':
        return Response.json(await env.TENANT_LIMITER.getByName(org).usage(Date.now()));
      case '/metrics':
        return Response.json({ isolate: isolate().id, samples: samples() });
      default:
        return new Response('not found', { status: 404 });
    }
  },
};
