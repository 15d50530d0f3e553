import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  await db.exec(`
    create table notes (id bigint primary key, body jsonb not null, at timestamptz not null);
    create table counters (name text primary key, value int not null);
  `);
});

afterAll(async () => {
  await testDb.drop();
});

describe(`the ${process.env.DATABASE_URL ? 'postgres' : 'pglite'} driver`, () => {
  it('sends parameters and parses bigint, jsonb and timestamptz the same on both drivers', async () => {
    const at = new Date('2026-12-03T10:00:00.000Z');
    await db.query('insert into notes values ($1, $2::jsonb, $3)', [
      42,
      { a: [1, 'two'] },
      at.toISOString(),
    ]);

    const [row] = await db.query<{ id: unknown; body: unknown; at: unknown }>(
      'select id, body, at from notes where id = $1',
      [42],
    );

    expect(row).toEqual({ id: 42, body: { a: [1, 'two'] }, at });
  });

  it('runs several statements with exec', async () => {
    await db.exec(`insert into counters values ('a', 1); insert into counters values ('b', 2);`);

    const rows = await db.query<{ n: number }>('select count(*)::int as n from counters');
    expect(rows[0]?.n).toBe(2);
  });

  it('commits a transaction that resolves and returns its value', async () => {
    const value = await db.transaction(async (tx) => {
      await tx.query(`insert into counters values ('committed', 1)`);
      return 'done';
    });

    expect(value).toBe('done');
    expect(await db.query(`select 1 from counters where name = 'committed'`)).toHaveLength(1);
  });

  it('rolls back a transaction that throws and rethrows the same error', async () => {
    const failure = new Error('work failed');

    await expect(
      db.transaction(async (tx) => {
        await tx.query(`insert into counters values ('rolled_back', 1)`);
        throw failure;
      }),
    ).rejects.toBe(failure);

    expect(await db.query(`select 1 from counters where name = 'rolled_back'`)).toHaveLength(0);
  });

  it('runs a batch as one transaction: later statements see earlier ones and local settings', async () => {
    const [, inserted, setting] = await db.batch([
      { text: "select set_config('kai.batch_test', $1, true)", params: ['on'] },
      { text: "insert into counters values ('batched', 7) returning value", params: [] },
      {
        text: "select current_setting('kai.batch_test') as setting, value from counters where name = $1",
        params: ['batched'],
      },
    ]);

    expect(inserted).toEqual([{ value: 7 }]);
    expect(setting).toEqual([{ setting: 'on', value: 7 }]);
    // Local to the batch's transaction: gone once it committed.
    const [after] = await db.query<{ setting: string | null }>(
      "select current_setting('kai.batch_test', true) as setting",
    );
    expect(after?.setting ?? '').toBe('');
  });

  it('commits nothing of a batch whose statement fails, and rejects with that error', async () => {
    const outcome = db.batch([
      { text: "insert into counters values ('batch_lost', 1)" },
      { text: "insert into counters values ('batch_lost', 2)" },
      { text: "insert into counters values ('batch_never', 3)" },
    ]);

    await expect(outcome).rejects.toMatchObject({ code: '23505' });
    expect(
      await db.query("select 1 from counters where name in ('batch_lost', 'batch_never')"),
    ).toHaveLength(0);
  });

  it('delivers notifications to listeners until they unlisten', async () => {
    const received: string[] = [];
    const unlisten = await db.listen('kai_test_channel', (payload) => received.push(payload));

    await db.notify('kai_test_channel', 'first');
    await expect.poll(() => received).toEqual(['first']);

    await unlisten();
    await db.notify('kai_test_channel', 'second');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual(['first']);
  });

  it('delivers a notification sent in a transaction only when it commits', async () => {
    const received: string[] = [];
    const unlisten = await db.listen('kai_tx_channel', (payload) => received.push(payload));

    await db
      .transaction(async (tx) => {
        await tx.query(`select pg_notify('kai_tx_channel', 'rolled back')`);
        throw new Error('abort');
      })
      .catch(() => {});
    await db.transaction(async (tx) => {
      await tx.query(`select pg_notify('kai_tx_channel', 'committed')`);
    });

    await expect.poll(() => received).toEqual(['committed']);
    await unlisten();
  });

  it("never lets a query see an open transaction's writes", async () => {
    const order: string[] = [];
    let releaseTx: () => void = () => {};
    const txMayFinish = new Promise<void>((resolve) => {
      releaseTx = resolve;
    });

    const tx = db.transaction(async (t) => {
      await t.query(`insert into counters values ('isolated', 1)`);
      await txMayFinish;
    });
    const outside = db
      .query(`select 1 from counters where name = 'isolated'`)
      .finally(() => order.push('query'));
    setTimeout(releaseTx, 100);
    await tx.then(() => order.push('commit'));
    const seen = await outside;

    if (testDb.driver === 'postgres') {
      // The server runs the query at once, beside the open transaction, and sees nothing.
      expect(order).toEqual(['query', 'commit']);
      expect(seen).toHaveLength(0);
    } else {
      // PGlite runs one thing at a time: the query waits for the commit, then sees the row.
      expect(order).toEqual(['commit', 'query']);
      expect(seen).toHaveLength(1);
    }
  });
});
