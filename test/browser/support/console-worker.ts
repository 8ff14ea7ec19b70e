// The deploy bundle with the console's static assets, for the browser tests. Served by workerd through
// Miniflare's API rather than `workerd serve` (bench/harness.ts): Miniflare wires Cloudflare's asset router
// (wrangler.toml [assets] and console/dist/_headers) in front of the Worker as production does, and lets this
// process reach a Durable Object (the tests spend a tenant's daily calls through it). It measures nothing.
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { buildBundle } from '../../../bench/bundle.ts';
import { type Stack, startStack } from '../../../scripts/stack/index.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

export interface ConsoleWorker {
  url: string;
  stack: Stack;
  bindings: Record<string, string>;
  adminToken: string;
  /** The Miniflare instance (`getDurableObjectNamespace` to reach a Durable Object from Node). */
  mf: Miniflare;
  stop(): Promise<void>;
}

export interface ConsoleWorkerOptions {
  bindings?: Record<string, string>;
  /** Postgres to use (a throwaway database on a server); PGlite when absent. */
  databaseUrl?: string;
  /** Bundle this entry instead of wrangler.toml's `main` (see buildBundle). */
  entry?: string;
}

/** Starts the stack and the bundled Worker with its assets. */
export async function startConsoleWorker(opts: ConsoleWorkerOptions = {}): Promise<ConsoleWorker> {
  const script = buildBundle(opts.entry);
  const stack = await startStack({
    databaseUrl: opts.databaseUrl,
    redisUrl: process.env.REDIS_URL || undefined,
    poolSize: 5,
  });
  const adminToken = randomBytes(24).toString('hex');
  const bindings: Record<string, string> = {
    ...stack.bindings,
    ADMIN_TOKEN: adminToken,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ALLOW_PRIVATE_URLS: 'true',
    LOG_REQUESTS: 'false',
    ...opts.bindings,
  };
  const { workerOptions } = unstable_getMiniflareWorkerOptions(`${ROOT}wrangler.toml`);
  // wrangler still describes the Worker in Miniflare's v4 option shape; Miniflare 5 converts it.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      cf: false,
      logRequests: false,
      port: 0,
      workers: [
        {
          compatibilityDate: workerOptions.compatibilityDate,
          compatibilityFlags: workerOptions.compatibilityFlags,
          durableObjects: workerOptions.durableObjects,
          name: 'agentidp',
          modules: true,
          scriptPath: script,
          modulesRoot: dirname(script),
          bindings: { ...(workerOptions.bindings ?? {}), ...bindings },
          // Miniflare reads the folder's _headers itself, as the deployed asset router does.
          assets: workerOptions.assets,
        },
      ],
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  try {
    const url = (await mf.ready).toString().replace(/\/$/, '');
    return {
      url,
      stack,
      bindings,
      adminToken,
      mf,
      stop: async () => {
        await mf.dispose();
        await stack.stop();
      },
    };
  } catch (err) {
    await mf.dispose().catch(() => undefined);
    await stack.stop();
    throw err;
  }
}
