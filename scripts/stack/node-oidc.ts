// Starts node-oidc (node-oidc/src/server.ts) as a child Node process, for `npm start` and the tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const SERVER = `${ROOT}node-oidc/src/server.ts`;

export interface NodeOidcOptions {
  port: number;
  /** node-oidc's environment (DATABASE_URL, OIDC_ISSUER, INTERNAL_TOKEN, VAULT_*, ...); PORT is set from `port`. */
  env: Record<string, string | undefined>;
  /** Where its log lines go: 'inherit' (this terminal) or a file path (appended). */
  output: 'inherit' | string;
  /** How long to wait for it to answer. */
  timeoutMs?: number;
}

export interface NodeOidcHandle {
  url: string;
  pid: number;
  /** Settles with the exit code when the process ends, for whatever reason. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Node 22.18+ runs .ts directly; under an older Node (npx outside npm scripts) use the `node` devDependency's. */
function nodeBinary(): string {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major > 22 || (major === 22 && minor >= 18)) return process.execPath;
  const local = `${ROOT}node_modules/.bin/node`;
  return existsSync(local) ? local : process.execPath;
}

/**
 * Spawns node-oidc and resolves once it answers HTTP on `port` (its /internal/health, any status). Rejects
 * if it exits first or does not answer within the timeout. `stop()` sends SIGTERM and waits for the exit.
 */
export async function startNodeOidc(opts: NodeOidcOptions): Promise<NodeOidcHandle> {
  let sink: ReturnType<typeof createWriteStream> | undefined;
  if (opts.output !== 'inherit') {
    mkdirSync(dirname(opts.output), { recursive: true });
    sink = createWriteStream(opts.output, { flags: 'a' });
  }
  const child: ChildProcess = spawn(nodeBinary(), [SERVER], {
    cwd: ROOT,
    // stdin is a pipe that nothing writes to: when this process dies, however abruptly, the pipe closes and
    // node-oidc (EXIT_WITH_STDIN) exits too, so a killed test run or dev stack leaves no orphan behind.
    stdio: sink ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'inherit', 'inherit'],
    // Only what node-oidc needs: none of this process's other variables (secrets of other services).
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...opts.env,
      PORT: String(opts.port),
      EXIT_WITH_STDIN: '1',
    } as unknown as NodeJS.ProcessEnv,
  });
  if (sink) {
    child.stdout?.pipe(sink, { end: false });
    child.stderr?.pipe(sink, { end: false });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code: number | null) => resolve(code)));
  const url = `http://127.0.0.1:${opts.port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    sink?.end();
  };

  const until = Date.now() + (opts.timeoutMs ?? 20_000);
  let early: number | null | undefined;
  void exited.then((code) => (early = code));
  while (Date.now() < until) {
    if (early !== undefined) {
      sink?.end();
      throw new Error(`node-oidc exited (${early}) before answering${sink ? `; see ${opts.output}` : ''}`);
    }
    try {
      const res = await fetch(`${url}/internal/health`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return { url, pid: child.pid!, exited, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  await stop();
  throw new Error(`node-oidc did not answer on ${url} within ${(opts.timeoutMs ?? 20_000) / 1000}s`);
}
