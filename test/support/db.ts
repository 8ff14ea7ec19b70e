// Direct SQL from tests (inside workerd), through the same Neon driver and proxy the Worker uses.
import { env } from 'cloudflare:workers';
import { Db } from '../../worker/platform/db.ts';

const bindings = env as unknown as Record<string, string>;

/** A fresh Db; call `close()` when done (tests run in workerd, where a pool must not outlive its use). */
export const testDb = () => new Db(bindings.DATABASE_URL!, bindings.NEON_WS_PROXY);

/** Runs one query on a short-lived connection. */
export async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const db = testDb();
  try {
    return await db.query<T>(text, params);
  } finally {
    await db.close();
  }
}
