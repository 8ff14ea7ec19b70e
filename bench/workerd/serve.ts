// Runs `workerd serve` (the binary of the `workerd` npm package, the runtime wrangler and Miniflare embed)
// as a child process with a generated config (config.ts), and reports the port it listens on.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type WorkerdWorkerSpec, workerdConfig } from './config.ts';

const BINARY = join(dirname(createRequire(import.meta.url).resolve('workerd/package.json')), 'bin', 'workerd');

export interface WorkerdHandle {
  url: string;
  pid: number;
  /** The temp directory holding the config (and Durable Object storage unless placed elsewhere). */
  dir: string;
  stop(): Promise<void>;
}

export interface WorkerdOptions extends Omit<WorkerdWorkerSpec, 'textFromEnv' | 'storageDir'> {
  /** Text bindings (secrets included): handed to workerd through its environment, never written to disk. */
  bindings?: Record<string, string>;
  /** Parent of the temp directory (e.g. /dev/shm to keep Durable Object storage in memory); os.tmpdir() by default. */
  tmpRoot?: string;
  /** Where workerd's stdout/stderr go (appended); discarded when absent. */
  logFile?: string;
  timeoutMs?: number;
}

// Every workerd still running when this process exits, however it exits, is killed with it.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts workerd serving one Worker; resolves once its HTTP socket listens. */
export async function startWorkerd(opts: WorkerdOptions): Promise<WorkerdHandle> {
  const dir = mkdtempSync(join(opts.tmpRoot ?? tmpdir(), 'agentidp-workerd-'));
  const env: Record<string, string> = {};
  const textFromEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(opts.bindings ?? {})) {
    textFromEnv[name] = `AIDP_BINDING_${name}`;
    env[`AIDP_BINDING_${name}`] = value;
  }
  const storageDir = join(dir, 'do');
  mkdirSync(storageDir);
  const config = join(dir, 'config.capnp');
  writeFileSync(config, workerdConfig(dir, { ...opts, textFromEnv, storageDir }));

  let log: ReturnType<typeof createWriteStream> | undefined;
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'a' });
  }
  const child = spawn(BINARY, ['serve', '--experimental', '--control-fd=3', config], {
    stdio: ['ignore', log ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    // Only the bindings: none of this process's variables (secrets of other services) reach the Worker.
    env: env as unknown as NodeJS.ProcessEnv,
  });
  live.add(child);
  // The last lines of stderr go into the error when workerd fails to start (a config or script error).
  let stderrTail = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-2000);
  });
  if (log) {
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    live.delete(child);
    log?.end();
    rmSync(dir, { recursive: true, force: true });
  };

  const control = child.stdio[3] as NodeJS.ReadableStream;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(
        () => reject(new Error(`workerd did not listen within ${(opts.timeoutMs ?? 20_000) / 1000}s`)),
        opts.timeoutMs ?? 20_000,
      );
      control.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const msg = JSON.parse(buffered.slice(0, nl)) as { event?: string; socket?: string; port?: number };
          buffered = buffered.slice(nl + 1);
          if (msg.event === 'listen' && msg.socket === 'http' && msg.port) {
            clearTimeout(timer);
            resolve(msg.port);
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`workerd exited (${code ?? signal}) before listening: ${stderrTail.trim()}`));
      });
      child.once('error', reject);
    });
    return { url: `http://127.0.0.1:${port}`, pid: child.pid!, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
