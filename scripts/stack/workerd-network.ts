// The outbound network service of a self-hosted workerd (`workerd serve` with a Cap'n Proto config): what the
// Worker's fetches may reach. Production allows public addresses only and denies the special-purpose ranges
// the Worker's own URL policy refuses (worker/platform/ip-ranges.ts), so a host name that resolves to a
// private address (127.0.0.1.nip.io, DNS rebinding) is refused by the runtime, which sees the address.
// Development stacks reach local servers (Postgres proxy, node-oidc, receivers) and allow private and local.
//
//   node scripts/stack/workerd-network.ts   prints the production service entry for a config file.
import { fileURLToPath } from 'node:url';
import { runtimeDenyList } from '../../worker/platform/ip-ranges.ts';

/** The `network = (...)` value of the service a Worker uses as `globalOutbound`. */
export function outboundNetwork({ development = false }: { development?: boolean } = {}): string {
  if (development) return 'network = (allow = ["public", "private", "local"])';
  const deny = runtimeDenyList().map((c) => JSON.stringify(c));
  return `network = (\n      allow = ["public"],\n      deny = [\n        ${deny.join(',\n        ')}\n      ]\n    )`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`(name = "internet", ${outboundNetwork()})`);
}
