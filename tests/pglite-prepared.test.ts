import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase, type PgliteDatabase } from '../core/db/pglite-database.ts';
import { createPreparedStatements } from '../core/db/pglite-prepared.ts';

// The embedded driver's statements go as named prepared statements; these show that they
// answer what PGlite's own `query` answers, and where a cached plan meets a changed table.
// PGlite only: the server driver has its own (postgres.js) statement cache.

let db: PgliteDatabase;

beforeAll(async () => {
  db = await createPgliteDatabase();
  await db.exec(`
    create table items (
      id bigint primary key, tags text[], ids uuid[], body jsonb, at timestamptz, n numeric
    );
  `);
});

afterAll(async () => {
  await db.close();
});

const preparedNames = async (pg: PGlite) =>
  (await pg.query<{ name: string }>('select name from pg_prepared_statements order by name')).rows;

describe('prepared statements on PGlite', () => {
  it('sends and parses every kind of value as PGlite.query does', async () => {
    const pg = await PGlite.create();
    const prepared = createPreparedStatements(pg);
    const text = `select $1::bigint as big, $2::text[] as tags, $3::uuid[] as ids,
      $4::jsonb as body, $5::timestamptz as at, $6::int as missing, $7::bool as yes`;
    const params = [
      9_007_199_254_740_993n,
      ['a', 'b,c', 'd"e'],
      ['7b1f4a52-1c1e-4d5a-9b7a-0c7f6c0f1a11'],
      { nested: [1, 'two', null] },
      '2026-12-04T10:00:00.000Z',
      null,
      true,
    ];

    const mine = await prepared.query(text, params, 'alone');
    const theirs = (await pg.query(text, params)).rows;

    expect(mine).toEqual(theirs);
    expect(mine[0]).toMatchObject({
      tags: ['a', 'b,c', 'd"e'],
      body: { nested: [1, 'two', null] },
    });
    await pg.close();
  });

  it('reads answers larger than one send of the backend, as PGlite.query does', async () => {
    const pg = await PGlite.create();
    const prepared = createPreparedStatements(pg);
    // Many rows, a value of several sends on its own, text of more than one byte a character,
    // nulls and a column name used twice (the last one wins, as in PGlite's rows).
    const text = `select n, case n when 1 then repeat('żółw ', $1::int) end as long,
        null::text as nothing,
        n * 2 as n, $2::text as said
      from generate_series(1, $3::int) as n`;
    const params = [30_000, 'naïve – “quoted”', 2_000];

    const mine = await prepared.query(text, params, 'alone');
    const theirs = (await pg.query(text, params)).rows;

    expect(mine).toHaveLength(2_000);
    expect(mine).toEqual(theirs);
    expect(mine[1]).toMatchObject({ n: 4, nothing: null, said: 'naïve – “quoted”' });
    expect((mine[0] as { long: string }).long).toHaveLength(5 * 30_000);
    await pg.close();
  });

  it('sends every parameter as PGlite.query sends it, nulls and bytes included', async () => {
    const pg = await PGlite.create();
    const prepared = createPreparedStatements(pg);
    const text = `select $1::bytea as bytes, $2::text as none, $3::text as empty,
      $4::int[] as list, $5::text as emoji`;
    const params = [Uint8Array.from([0, 1, 254, 255]), null, '', [1, null, 3], '🧱 tile'];

    const mine = await prepared.query(text, params, 'alone');

    expect(mine).toEqual((await pg.query(text, params)).rows);
    expect(mine[0]).toMatchObject({ none: null, empty: '', list: [1, null, 3], emoji: '🧱 tile' });
    await pg.close();
  });

  it('parses a statement once and runs it again by name', async () => {
    const pg = await PGlite.create();
    const prepared = createPreparedStatements(pg);

    for (let i = 0; i < 3; i++) {
      expect(await prepared.query('select $1::int + 1 as n', [i], 'alone')).toEqual([{ n: i + 1 }]);
    }

    expect(await preparedNames(pg)).toHaveLength(1);
    await pg.close();
  });

  it('keeps at most its limit prepared, closing the least recently used first', async () => {
    const pg = await PGlite.create();
    const prepared = createPreparedStatements(pg, { maxStatements: 2 });

    await prepared.query('select 1 as a', [], 'alone');
    await prepared.query('select 2 as b', [], 'alone');
    await prepared.query('select 1 as a', [], 'alone');
    await prepared.query('select 3 as c', [], 'alone');
    // The close of the evicted one goes out with the next request.
    await prepared.query('select 1 as a', [], 'alone');

    const names = await preparedNames(pg);
    expect(names).toHaveLength(2);
    expect(await prepared.query('select 2 as b', [], 'alone')).toEqual([{ b: 2 }]);
    await pg.close();
  });

  it('runs a batch as one transaction: settings carry over, a failure keeps nothing', async () => {
    const [, , setting] = await db.batch([
      { text: `select set_config('kai.batch_test', $1, true)`, params: ['on'] },
      { text: 'insert into items (id) values ($1)', params: [10] },
      { text: `select current_setting('kai.batch_test', true) as value` },
    ]);
    expect(setting).toEqual([{ value: 'on' }]);
    // Local to the batch's transaction, which has ended.
    expect(await db.query(`select current_setting('kai.batch_test', true) as value`)).toEqual([
      { value: '' },
    ]);

    await expect(
      db.batch([
        { text: 'insert into items (id) values ($1)', params: [11] },
        { text: 'insert into items (id) values ($1)', params: [10] },
        { text: 'insert into items (id) values ($1)', params: [12] },
      ]),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await db.query('select id from items where id >= 10 order by id')).toEqual([{ id: 10 }]);
    await db.query('delete from items where id >= 10');
  });

  it('runs a batch of more statements than it keeps prepared', async () => {
    const pg = await PGlite.create();
    const prepared = createPreparedStatements(pg, { maxStatements: 2 });

    const results = await prepared.batch(
      [1, 2, 3, 4, 1].map((n) => ({ text: `select ${n} as n, $1::int as p`, params: [n * 10] })),
    );

    expect(results).toEqual([1, 2, 3, 4, 1].map((n) => [{ n, p: n * 10 }]));
    expect(await prepared.query('select 2 as n, $1::int as p', [5], 'alone')).toEqual([
      { n: 2, p: 5 },
    ]);
    expect((await preparedNames(pg)).length).toBeLessThanOrEqual(3);
    await pg.close();
  });

  it('answers a statement whose table changed shape after it was prepared', async () => {
    await db.query('insert into items (id, tags) values ($1, $2)', [1, ['x']]);
    const before = await db.query('select * from items where id = $1', [1]);
    expect(Object.keys(before[0] ?? {})).not.toContain('extra');

    // DDL through query, not exec, so nothing told the driver: the cached plan no longer fits.
    await db.query('alter table items add column extra int default 7');

    const after = await db.query('select * from items where id = $1', [1]);
    expect(after[0]).toMatchObject({ id: 1, tags: ['x'], extra: 7 });
  });

  it('forgets its statements after a script, so a transaction meets no stale plan', async () => {
    await db.query('insert into items (id) values ($1)', [2]);
    await db.query('select * from items where id = $1', [2]);
    await db.exec('alter table items add column later text');

    const row = await db.transaction(async (tx) => {
      const [found] = await tx.query('select * from items where id = $1', [2]);
      return found;
    });

    expect(row).toHaveProperty('later', null);
  });

  it("keeps a failing statement's error and code, and goes on after it", async () => {
    await expect(db.query('select 1 / $1::int', [0])).rejects.toMatchObject({ code: '22012' });
    await expect(db.query('select nope from items')).rejects.toMatchObject({ code: '42703' });

    expect(await db.query('select 1 / $1::int as n', [1])).toEqual([{ n: 1 }]);
  });

  it('rolls back a transaction whose statement failed, and then serves the next', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into items (id) values ($1)', [3]);
        await tx.query('insert into items (id) values ($1)', [3]);
      }),
    ).rejects.toMatchObject({ code: '23505' });

    expect(await db.query('select id from items where id = $1', [3])).toEqual([]);
    expect(await db.query('select count(*)::int as n from items')).toEqual([{ n: 2 }]);
  });

  it("does not run inside another caller's open transaction", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let opened = () => {};
    const insertedInOpen = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const open = db.transaction(async (tx) => {
      await tx.query('insert into items (id) values ($1)', [4]);
      opened();
      await held;
      throw new Error('rolled back on purpose');
    });

    // Asked while the transaction is open: it waits for the transaction to end, and so its
    // insert survives the rollback (inside the transaction, it would have gone with it).
    await insertedInOpen;
    let settled = false;
    const alone = db.query('insert into items (id) values ($1) returning id', [5]).finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    release();

    await expect(open).rejects.toThrow('rolled back on purpose');
    expect(await alone).toEqual([{ id: 5 }]);
    expect(await db.query('select id from items where id in (4, 5) order by id')).toEqual([
      { id: 5 },
    ]);
  });

  it('refuses a statement on a transaction that has ended', async () => {
    let leaked: { query: (text: string) => Promise<unknown> } | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });

    await expect(leaked?.query('select 1')).rejects.toThrow('The transaction is closed.');
  });

  it('delivers the notifications a statement sends', async () => {
    const heard: string[] = [];
    const unlisten = await db.listen('kai_prepared_test', (payload) => heard.push(payload));

    await db.query('select pg_notify($1, $2)', ['kai_prepared_test', 'hello']);
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(heard).toEqual(['hello']);
    await unlisten();
  });

  it('hands on the notifications of a batch, to each listener until it unlistens', async () => {
    const first: string[] = [];
    const second: string[] = [];
    const stopFirst = await db.listen('kai_prepared_batch', (payload) => first.push(payload));
    const stopSecond = await db.listen('KAI_PREPARED_BATCH', (payload) => second.push(payload));

    await db.batch([
      { text: 'select pg_notify($1, $2)', params: ['kai_prepared_batch', 'one'] },
      { text: 'select pg_notify($1, $2)', params: ['kai_prepared_batch', 'two'] },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await stopFirst();
    await db.query('select pg_notify($1, $2)', ['kai_prepared_batch', 'three']);
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(first).toEqual(['one', 'two']);
    expect(second).toEqual(['one', 'two', 'three']);
    await stopSecond();
  });

  it('sends no notification of a batch that failed', async () => {
    const heard: string[] = [];
    const unlisten = await db.listen('kai_prepared_failed', (payload) => heard.push(payload));

    await expect(
      db.batch([
        { text: 'select pg_notify($1, $2)', params: ['kai_prepared_failed', 'lost'] },
        { text: 'select 1 / $1::int', params: [0] },
      ]),
    ).rejects.toMatchObject({ code: '22012' });
    await db.query('select pg_notify($1, $2)', ['kai_prepared_failed', 'kept']);
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(heard).toEqual(['kept']);
    await unlisten();
  });
});
