import { type Services, withServices } from './compose.ts';
import type { Deps } from './env.ts';
import { issuedTokens } from './features/analytics/token-batch.ts';
import { usageHeld } from './features/tiers/usage-limiter.service.ts';

/** An idle timer chain runs at most this long under one request's waitUntil (the runtime allows 30 s). */
const TIMER_CHAIN_MS = 20_000;

// Isolate state: at most one idle timer per isolate, whichever request armed it.
let timerArmed = false;

const holdsUsage = () => usageHeld() || issuedTokens.pending > 0;

function logError(msg: string, err: unknown): void {
  console.error(
    JSON.stringify({ level: 'error', msg, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  );
}

/**
 * Writes usage this isolate holds when it is due and gives back idle quota leases: token analytics on
 * `s`'s Db (started before this returns, so call it before that Db is closed), unlimited batches and leases
 * under `d.waitUntil`. With `force`, everything. Answers whether the isolate still holds anything.
 */
async function settleUsage(s: Services, force: boolean): Promise<boolean> {
  s.analytics.flushIssuedTokens({ force });
  await s.limiter.settle({ force });
  return holdsUsage();
}

/**
 * After every request: settles what is due (USAGE_FLUSH_MS = 0: everything). When usage or leases remain,
 * and `idleTimer` is on, one timer per isolate settles again every USAGE_FLUSH_MS under this request's
 * waitUntil until nothing remains (for up to TIMER_CHAIN_MS; a later request arms the next), so a quiet
 * isolate still writes its usage and gives its quota back. Never throws.
 */
export function settleAfterRequest(d: Deps, s: Services, { idleTimer }: { idleTimer: boolean }): void {
  if (!holdsUsage()) return;
  const force = d.config.USAGE_FLUSH_MS === 0;
  const settled = settleUsage(s, force).then((holding) => {
    if (holding && idleTimer && !force && !timerArmed) d.waitUntil(idleTimerChain(d));
  });
  d.waitUntil(settled.catch((err: unknown) => logError('usage settle failed', err)));
}

async function idleTimerChain(d: Deps): Promise<void> {
  timerArmed = true;
  const started = Date.now();
  try {
    let holding = true;
    while (holding && Date.now() - started < TIMER_CHAIN_MS) {
      await new Promise((resolve) => setTimeout(resolve, d.config.USAGE_FLUSH_MS));
      holding = await withServices(d.env, { clock: d.clock, waitUntil: d.waitUntil }, (s) => settleUsage(s, false));
    }
  } catch (err) {
    logError('idle usage settle failed', err);
  } finally {
    timerArmed = false;
  }
}

/** Settles what is due outside a request (the cron sweep): the safety net for a timer that never ran. */
export async function settleDue(env: Env, waitUntil: (p: Promise<unknown>) => void): Promise<void> {
  if (!holdsUsage()) return;
  await withServices(env, { waitUntil }, (s) => settleUsage(s, false));
}
