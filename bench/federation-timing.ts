// Timing helpers of bench/federation.bench.ts: verification loops inside workerd (timed from outside, since
// workerd's clock stands still during a request) and the Node baseline's own per-token work.
import { createPublicKey } from 'node:crypto';
import jwt from 'jsonwebtoken';

const LOOP_N = 3000;
const LOOP_ROUNDS = 9;

/**
 * Wall time (ms) of one loop iteration in workerd, (time of N − time of 0) / N, for the service and the
 * bare check measured back to back in each round; medians over the rounds of each figure and of their
 * per-round ratio (pairing cancels most of the drift of a shared machine).
 */
export async function pairedLoopMs(
  url: string,
  body: Record<string, unknown>,
): Promise<{ service: number; bare: number; ratio: number }> {
  const timeOne = async (mode: string, n: number) => {
    const t0 = performance.now();
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, mode, n }) });
    const text = await res.text();
    if (res.status !== 200 || JSON.parse(text).ok !== n)
      throw new Error(`loop ${mode} ${body.alg}: ${res.status} ${text}`);
    return performance.now() - t0;
  };
  const perIteration = async (mode: string) => {
    const empty = await timeOne(mode, 0);
    return ((await timeOne(mode, LOOP_N)) - empty) / LOOP_N;
  };
  // Warm-up: JIT, and for the service the partner row and keys.
  await timeOne('service', 300);
  await timeOne('bare', 300);
  const service: number[] = [];
  const bare: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < LOOP_ROUNDS; r++) {
    const s = await perIteration('service');
    const b = await perIteration('bare');
    service.push(s);
    bare.push(b);
    ratios.push(s / b);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { service: median(service), bare: median(bare), ratio: median(ratios) };
}

export const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** ms per JWK → PEM + jsonwebtoken.verify in this Node process (the baseline's own work per token), median of 5. */
export function nodeVerifyMs(token: string, jwk: Record<string, unknown>, alg: 'ES256' | 'RS256'): number {
  const once = () => {
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    jwt.verify(token, pem, { algorithms: [alg] });
  };
  for (let i = 0; i < 200; i++) once();
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) once();
    times.push((performance.now() - t0) / 1000);
  }
  return times.sort((a, b) => a - b)[2]!;
}
