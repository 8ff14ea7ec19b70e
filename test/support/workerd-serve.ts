// A minimal `workerd serve` for tests that need the runtime's own behaviour outside Miniflare: one Worker
// module and the network service it uses as its global outbound, with the `allow` list under test. Runs in
// Node (the `runtime` vitest project). The binary is the one wrangler and the vitest plugin use.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const BINARY = join(dirname(createRequire(import.meta.url).resolve('workerd/package.json')), 'bin', 'workerd');

export interface ServedWorker {
  url: string;
  stop(): Promise<void>;
}

/**
 * The Cap'n Proto config of one Worker whose every outbound fetch goes through the service `network`
 * (`network = (allow = [...], deny = [...])`, as scripts/stack/workerd-network.ts renders it).
 */
export function networkPolicyConfig(network: string, compatibilityDate: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "outbound", ${network}),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  globalOutbound = "outbound",
);
`;
}

/** Starts workerd with `config` and the module `workerJs`; resolves once it listens. */
export async function serveWorker(config: string, workerJs: string, timeoutMs = 20_000): Promise<ServedWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'agentidp-workerd-test-'));
  writeFileSync(join(dir, 'config.capnp'), config);
  writeFileSync(join(dir, 'worker.js'), workerJs);
  const child = spawn(BINARY, ['serve', '--control-fd=3', join(dir, 'config.capnp')], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('workerd did not start listening')), timeoutMs);
      let buffered = '';
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const msg = JSON.parse(buffered.slice(0, nl)) as { event?: string; port?: number };
          buffered = buffered.slice(nl + 1);
          if (msg.event === 'listen' && msg.port) {
            clearTimeout(timer);
            resolve(msg.port);
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`workerd exited (${code}): ${stderr.trim()}`));
      });
    });
    return { url: `http://127.0.0.1:${port}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
