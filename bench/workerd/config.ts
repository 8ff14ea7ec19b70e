// Cap'n Proto text config for `workerd serve`: one Worker from ES modules, its text bindings read from
// workerd's environment (so no secret is written to disk), Durable Objects stored on local disk, and a
// network service as its outbound that may reach this machine's local servers (Postgres proxy, Redis
// bridge, node-oidc, webhook receivers). Production self-hosting would allow ["public"] only.
import { relative } from 'node:path';

export interface WorkerdWorkerSpec {
  /** ES modules, the first is the entry point; absolute paths (embedded relative to the config file). */
  modules: Array<{ name: string; path: string }>;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Binding name → environment variable of the workerd process holding its text value. */
  textFromEnv?: Record<string, string>;
  /** Durable Object bindings; every class is SQLite-backed. */
  durableObjects?: Array<{ binding: string; className: string }>;
  /** Absolute directory for Durable Object storage; required with `durableObjects`. */
  storageDir?: string;
  /** Address of the HTTP socket, `127.0.0.1:0` (any free port, reported on the control fd) by default. */
  address?: string;
}

/** A capnp text literal. JSON's escapes for quotes, backslashes and control characters are valid capnp. */
const text = (s: string) => JSON.stringify(s);

/** The config file's text for `spec`, to be written into `configDir` (embed paths are relative to it). */
export function workerdConfig(configDir: string, spec: WorkerdWorkerSpec): string {
  const dos = spec.durableObjects ?? [];
  if (dos.length > 0 && !spec.storageDir) throw new TypeError('durableObjects need a storageDir');
  const modules = spec.modules.map(
    (m) => `(name = ${text(m.name)}, esModule = embed ${text(relative(configDir, m.path))})`,
  );
  const bindings = [
    ...Object.entries(spec.textFromEnv ?? {}).map(
      ([name, variable]) => `(name = ${text(name)}, fromEnvironment = ${text(variable)})`,
    ),
    ...dos.map((d) => `(name = ${text(d.binding)}, durableObjectNamespace = ${text(d.className)})`),
  ];
  const classes = [...new Set(dos.map((d) => d.className))];
  const services = [
    '(name = "main", worker = .worker)',
    '(name = "outbound", network = (allow = ["public", "private", "local"]))',
  ];
  if (classes.length > 0)
    services.push(`(name = "do-disk", disk = (path = ${text(spec.storageDir!)}, writable = true))`);
  const worker = [
    `modules = [\n    ${modules.join(',\n    ')}\n  ]`,
    `compatibilityDate = ${text(spec.compatibilityDate)}`,
    `compatibilityFlags = [${spec.compatibilityFlags.map(text).join(', ')}]`,
    `bindings = [\n    ${bindings.join(',\n    ')}\n  ]`,
    'globalOutbound = "outbound"',
  ];
  if (classes.length > 0) {
    const ns = classes.map((c) => `(className = ${text(c)}, uniqueKey = ${text(`agentidp-${c}`)}, enableSql = true)`);
    worker.push(
      `durableObjectNamespaces = [\n    ${ns.join(',\n    ')}\n  ]`,
      'durableObjectStorage = (localDisk = "do-disk")',
    );
  }
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    ${services.join(',\n    ')}
  ],
  sockets = [(name = "http", address = ${text(spec.address ?? '127.0.0.1:0')}, http = (), service = "main")],
);

const worker :Workerd.Worker = (
  ${worker.join(',\n  ')}
);
`;
}
