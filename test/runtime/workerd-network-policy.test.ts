// The runtime half of the outbound URL policy: checkOutboundUrl judges a URL by its spelling, so a name that
// resolves to a private address (127.0.0.1.nip.io, localhost, a rebinding DNS name) passes it. Under a
// self-hosted workerd, what stops the request is the outbound network service (allow = ["public"] and the
// special-purpose ranges denied; scripts/stack/workerd-network.ts, README.md "Security model"); on
// Cloudflare, the platform's own outbound network. This runs a real workerd with that service and a local
// receiver, and shows the same Worker reaching the receiver only under the development policy.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundNetwork } from '../../scripts/stack/workerd-network.ts';
import { networkPolicyConfig, type ServedWorker, serveWorker } from '../support/workerd-serve.ts';

// Fetches ?url= and reports what happened; the runtime's refusal is an exception from fetch().
const FETCHER = `export default {
  async fetch(request) {
    const target = new URL(request.url).searchParams.get('url');
    try {
      const res = await fetch(target);
      return new Response('reached ' + res.status + ' ' + (await res.text()));
    } catch (err) {
      return new Response('refused: ' + err.message, { status: 502 });
    }
  },
};`;

const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(new URL('../../wrangler.toml', import.meta.url).pathname, 'utf8'),
)![1]!;

let receiver: http.Server;
let port: number;

/** Non-loopback addresses of this machine (private, documentation or ULA ranges here), if any. */
const lanAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal)
    .map((i) => (i!.family === 'IPv6' ? `[${i!.address}]` : i!.address))
    .filter((a) => !a.startsWith('[fe80'));

async function ask(worker: ServedWorker, target: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${worker.url}/?url=${encodeURIComponent(target)}`);
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  receiver = http.createServer((_req, res) => res.end('internal secret'));
  await new Promise<void>((resolve) => receiver.listen(0, '::', resolve));
  port = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('workerd outbound network policy', () => {
  it("the production policy refuses loopback and this machine's own addresses, by address or by name", async () => {
    const worker = await serveWorker(networkPolicyConfig(outboundNetwork(), compatibilityDate), FETCHER);
    try {
      const targets = [
        `http://127.0.0.1:${port}/`,
        `http://localhost:${port}/`,
        `http://[::1]:${port}/`,
        ...lanAddresses().map((a) => `http://${a}:${port}/`),
      ];
      for (const target of targets) {
        const { status, text } = await ask(worker, target);
        expect(text, target).not.toContain('internal secret');
        expect(status, target).toBe(502);
      }
    } finally {
      await worker.stop();
    }
  });

  it('the same Worker reaches the receiver under the development policy (private and local allowed)', async () => {
    const worker = await serveWorker(
      networkPolicyConfig(outboundNetwork({ development: true }), compatibilityDate),
      FETCHER,
    );
    try {
      for (const target of [
        `http://127.0.0.1:${port}/`,
        `http://localhost:${port}/`,
        ...lanAddresses().map((a) => `http://${a}:${port}/`),
      ]) {
        expect(await ask(worker, target), target).toEqual({ status: 200, text: 'reached 200 internal secret' });
      }
    } finally {
      await worker.stop();
    }
  });
});
