// pgbouncer (Debian's `pgbouncer` package) in front of a Postgres server, in transaction pooling mode, as a
// child process with a generated ini in a temp directory. Postgres forks a backend per connection, and the
// Worker opens a connection per request: without a pooler one query per request tops out at a few hundred
// requests a second and past max_connections Postgres refuses clients. In production Neon's pooled endpoint
// or Hyperdrive plays this role.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pingPostgres } from './postgres.ts';

export interface PgbouncerOptions {
  /** The Postgres server it pools (its host, port, user and password; the database name is ignored). */
  serverUrl: string;
  port: number;
  /** Server connections per database and user; default 20 (the server's max_connections is shared). */
  poolSize?: number;
  /** Client connections it accepts; default 4000 (the Worker under load opens one per request). */
  maxClients?: number;
}

export interface PgbouncerHandle {
  /** `serverUrl` through pgbouncer (pooledUrl); any database name works (a wildcard pool per database). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** `serverUrl` (database, user, password, parameters kept) reached through a local pgbouncer on `port`. */
export function pooledUrl(serverUrl: string, port: number): string {
  const url = new URL(serverUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

/** Path of the pgbouncer binary (PGBOUNCER, then PATH, then /usr/sbin where Debian puts it), or undefined. */
export function findPgbouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  const candidates = process.env.PGBOUNCER
    ? [process.env.PGBOUNCER]
    : dirs.filter(Boolean).map((d) => join(d, 'pgbouncer'));
  return candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// Every pgbouncer still running when this process exits, however it exits, is stopped with it.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts pgbouncer; resolves once a query through it reaches the server. */
export async function startPgbouncer(opts: PgbouncerOptions): Promise<PgbouncerHandle> {
  const binary = findPgbouncer();
  if (!binary) throw new Error('pgbouncer is not installed (Debian: apt-get install pgbouncer)');
  const server = new URL(opts.serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const password = decodeURIComponent(server.password);
  const dir = mkdtempSync(join(tmpdir(), 'agentidp-pgbouncer-'));
  const args: string[] = [];
  // pgbouncer refuses to run as root: it reads its files as root, then switches to `nobody`, which must be
  // able to create the unix socket in the directory.
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'nobody']).toString());
    const gid = Number(execFileSync('id', ['-g', 'nobody']).toString());
    chownSync(dir, uid, gid);
    args.push('-u', 'nobody');
  }
  // auth_type trust: clients are this machine's own processes on 127.0.0.1. The password (if the server
  // needs one) is what pgbouncer logs in with; the file is readable by this user only.
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  writeFileSync(join(dir, 'users.txt'), `${quote(user)} ${quote(password)}\n`, { mode: 0o600 });
  const ini = `[databases]
* = host=${server.hostname} port=${server.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${opts.port}
unix_socket_dir = ${dir}
auth_type = trust
auth_file = ${join(dir, 'users.txt')}
pool_mode = transaction
default_pool_size = ${opts.poolSize ?? 20}
max_client_conn = ${opts.maxClients ?? 4000}
; a client waiting longer than this for a server connection gets an error instead of waiting for minutes
query_wait_timeout = 10
; the server's connections are shared with everything else on this machine: give idle ones back soon, and
; the pools of dropped throwaway test databases with them
server_idle_timeout = 30
autodb_idle_timeout = 60
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
`;
  writeFileSync(join(dir, 'pgbouncer.ini'), ini);
  const child = spawn(binary, [...args, join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); // immediate shutdown; SIGINT would wait for clients
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    live.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const url = pooledUrl(opts.serverUrl, opts.port);
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`pgbouncer exited (${child.exitCode}): ${stderr.trim()}`);
    }
    try {
      await pingPostgres(url, 1000);
      return { url, port: opts.port, stop };
    } catch (err) {
      if (Date.now() > until) {
        await stop();
        throw new Error(`pgbouncer did not answer on port ${opts.port}: ${(err as Error).message} ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
