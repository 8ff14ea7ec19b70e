// The Worker's database access as it runs behind a pooler: with a Postgres server the tests (like
// `npm start` and the benchmarks) put pgbouncer in transaction mode between the Worker and Postgres, so
// consecutive statements outside a transaction may run on different server connections, and only a
// transaction is guaranteed one. The same assertions hold on embedded PGlite.
import { describe, expect, it } from 'vitest';
import { testDb } from '../../support/db.ts';

describe('Postgres behind the pooler', () => {
  it('answers parameterised statements (unnamed prepared statements) from many connections at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const db = testDb();
        try {
          // Different parameter counts and types back to back: a statement or portal left over from another
          // client on the same server connection would fail with "bind message supplies N parameters".
          const [a] = await db.query<{ s: number }>('SELECT $1::int + $2::int AS s', [i, 1]);
          const [b] = await db.query<{ t: string }>('SELECT $1::text || $2::text || $3::text AS t', [
            'a',
            String(i),
            'z',
          ]);
          const [c] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM generate_series(1, $1::int)', [
            i + 1,
          ]);
          return [a!.s, b!.t, c!.n];
        } finally {
          await db.close();
        }
      }),
    );
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => [i + 1, `a${i}z`, i + 1]));
  });

  it('keeps a transaction on one server connection, its writes visible to it and committed at the end', async () => {
    const db = testDb();
    const other = testDb();
    const name = `pooling-${crypto.randomUUID()}`;
    try {
      const seen = await db.tx(async (q) => {
        const [first] = await q.query<{ pid: number; xid: string }>(
          'SELECT pg_backend_pid() AS pid, txid_current()::text AS xid',
        );
        await q.query('INSERT INTO organizations (name) VALUES ($1)', [name]);
        const [mine] = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM organizations WHERE name = $1', [
          name,
        ]);
        const [last] = await q.query<{ pid: number; xid: string }>(
          'SELECT pg_backend_pid() AS pid, txid_current()::text AS xid',
        );
        return { same: first!.pid === last!.pid && first!.xid === last!.xid, mine: mine!.n };
      });
      expect(seen).toEqual({ same: true, mine: 1 });
      const [after] = await other.query<{ n: number }>('SELECT count(*)::int AS n FROM organizations WHERE name = $1', [
        name,
      ]);
      expect(after!.n).toBe(1);
    } finally {
      await other.query('DELETE FROM organizations WHERE name = $1', [name]);
      await db.close();
      await other.close();
    }
  });

  it('rolls a failed transaction back entirely and leaves the connection usable', async () => {
    const db = testDb();
    const name = `pooling-${crypto.randomUUID()}`;
    try {
      await expect(
        db.tx(async (q) => {
          await q.query('INSERT INTO organizations (name) VALUES ($1)', [name]);
          await q.query("INSERT INTO organizations (name, tier) VALUES ($1, 'platinum')", [name]);
        }),
      ).rejects.toThrow();
      const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM organizations WHERE name = $1', [
        name,
      ]);
      expect(row!.n).toBe(0);
    } finally {
      await db.close();
    }
  });
});
