import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase, type PgliteDatabase } from '../core/db/pglite-database.ts';

// The embedded driver runs PGlite on a thread of its own (pglite-worker.ts). These show what
// that thread changes: the serving thread stays free, and the thread holds nothing open.
// The statements themselves are shown by database.test.ts and pglite-prepared.test.ts.

let db: PgliteDatabase;

beforeAll(async () => {
  db = await createPgliteDatabase();
});

afterAll(async () => {
  await db.close();
});

describe('the embedded database on its own thread', () => {
  it('leaves this thread free while a statement runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 10);
    try {
      await db.query('select pg_sleep(0.3)');
    } finally {
      clearInterval(timer);
    }
    // PGlite on this thread would hold it for the whole 300 ms: no tick at all.
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it('answers requests that arrive while it polls, after it slept, and in between', async () => {
    // After each answer the thread polls briefly for the next request, then sleeps: requests
    // at once, a little later, and well after must all get their own answers.
    const gapsMs = [0, 0, 0.05, 0.1, 0.2, 0.5, 1, 3, 0, 10, 0];
    const answers: number[] = [];
    for (const [i, gapMs] of gapsMs.entries()) {
      const started = performance.now();
      while (performance.now() - started < gapMs) {
        // Waiting on the CPU: a timer would not wait under a millisecond.
      }
      const [a, b] = await Promise.all([
        db.query<{ n: number }>('select $1::int as n', [2 * i]),
        db.query<{ n: number }>('select $1::int as n', [2 * i + 1]),
      ]);
      answers.push(a?.[0]?.n as number, b?.[0]?.n as number);
    }
    expect(answers).toEqual(Array.from({ length: 2 * gapsMs.length }, (_, i) => i));

    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) => db.query<{ n: number }>('select $1::int as n', [i])),
    );
    expect(many.map((rows) => rows[0]?.n)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('brings an error across with its code and fields', async () => {
    await db.exec('create table thread_items (id int primary key)');
    await db.query('insert into thread_items values (1)');

    const error = await db.query('insert into thread_items values (1)').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      code: '23505',
      constraint: 'thread_items_pkey',
      table: 'thread_items',
      message: expect.stringContaining('duplicate key'),
    });
  });

  it('opens from a dump of another one', async () => {
    await db.exec('create table dumped (n int); insert into dumped values (42)');
    const copy = await createPgliteDatabase({ loadDataDir: await db.dump() });
    try {
      expect(await copy.query('select n from dumped')).toEqual([{ n: 42 }]);
    } finally {
      await copy.close();
    }
  });

  it('refuses every statement once closed', async () => {
    const other = await createPgliteDatabase();
    await other.close();

    await expect(other.query('select 1')).rejects.toThrow('The embedded database is closed.');
    await other.close();
  });

  it('keeps no process alive once idle, even left open', async () => {
    const driver = fileURLToPath(new URL('../core/db/pglite-database.ts', import.meta.url));
    const script = `
      const { createPgliteDatabase } = await import(${JSON.stringify(driver)});
      const db = await createPgliteDatabase();
      const [row] = await db.query('select 41 + 1 as n');
      console.log(row.n);
    `;

    const dir = await mkdtemp(join(tmpdir(), 'kai-thread-'));
    const file = join(dir, 'left-open.mjs');
    await writeFile(file, script);

    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, [file], {
      timeout: 20_000,
    }).finally(() => rm(dir, { recursive: true, force: true }));

    expect(stdout.trim()).toBe('42');
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
