// Starts the baseline server (bench/baseline/server.ts) in a child Node process, so that it has its own event
// loop as workerd has its own process, pointed at the same Postgres and Redis as the Worker under test.
import { spawn } from 'node:child_process';

export interface Baseline {
  url: string;
  stop(): Promise<void>;
}

export interface BaselineOptions {
  databaseUrl: string;
  redisUrl?: string;
  didWebDomain?: string;
  /** Count calls in Redis (the spec's daily counter) on /v1/*; default true. */
  limiter?: boolean;
}

/** Why the baseline cannot run in this environment, or undefined when it can. */
export function baselineUnavailable(): string | undefined {
  return process.env.DATABASE_URL
    ? undefined
    : 'baseline needs DATABASE_URL (a Postgres server; PGlite serves one connection at a time)';
}

export function startBaseline(opts: BaselineOptions): Promise<Baseline> {
  const child = spawn(process.execPath, [new URL('./server.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl,
      REDIS_URL: opts.redisUrl ?? '',
      DID_WEB_DOMAIN: opts.didWebDomain ?? 'bench.test',
      BASELINE_KEY_PREFIX: `bench-baseline-${process.pid}:`,
      BASELINE_LIMITER: opts.limiter === false ? 'false' : 'true',
      PORT: '0',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({ url: `http://127.0.0.1:${m[1]}`, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`baseline server exited (${code}) before listening`)));
    child.once('error', reject);
  });
}
