// The stack (index.ts) in a child Node process of its own. The WebSocket proxy and the Redis bridge then do
// not share an event loop with whoever starts them: a load generator in the parent (the benchmarks) would
// otherwise delay every database and cache round trip of the Worker it measures, and only the Worker's.
// Run as a script, it starts the stack from AIDP_STACK_OPTIONS (JSON), prints one JSON line describing it,
// and stops it on SIGTERM or when its stdin closes (the parent ended, however abruptly).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Stack, type StackOptions, startStack } from './index.ts';

type Described = Omit<Stack, 'stop'>;

/** Starts the stack in a child process; `stop()` stops it and waits for the process to end. */
export async function startStackProcess(opts: Omit<StackOptions, 'log'>): Promise<Stack> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, AIDP_STACK_OPTIONS: JSON.stringify(opts) },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const described = await new Promise<Described>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      const msg = JSON.parse(line) as { stack?: Described; error?: string };
      if (msg.stack) resolve(msg.stack);
      else reject(new Error(`stack: ${msg.error}`));
    });
    void exited.then((code) => reject(new Error(`stack process exited (${code}) before it was ready`)));
  });
  return {
    ...described,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const opts = JSON.parse(process.env.AIDP_STACK_OPTIONS ?? '{}') as StackOptions;
  let stack: Stack | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stack?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  try {
    stack = await startStack(opts);
    const described: Described = {
      bindings: stack.bindings,
      databaseUrl: stack.databaseUrl,
      postgresKind: stack.postgresKind,
      pooler: stack.pooler,
    };
    process.stdout.write(`${JSON.stringify({ stack: described })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    process.exit(1);
  }
}
