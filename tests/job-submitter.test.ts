// The API's submitter on the real database: concurrent submissions share commits, each row is
// inserted as its own caller under RLS, and one submission's failure stays its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../core/auth/caller.ts';
import { createJobSubmitter } from '../core/jobs/job-submitter.ts';
import type { JobSpec } from '../core/queue/enqueue.ts';
import { IdempotencyConflictError } from '../core/queue/queue-errors.ts';
import { testCaller as caller } from './helpers/auth-tokens.ts';
import { asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb.drop();
});

const noop = (auth: Auth, payload: Record<string, unknown> = {}): JobSpec => ({
  type: 'noop',
  payload,
  ownerId: auth.subject,
  queue: 'batch',
});

/** The transaction ids that wrote the given jobs: rows of one commit share their xmin. */
async function writersOf(ids: readonly string[]): Promise<Set<string>> {
  const rows = await testDb.db.query<{ xmin: string }>(
    'select xmin::text as xmin from public.jobs where id = any($1::uuid[])',
    [ids],
  );
  expect(rows).toHaveLength(ids.length);
  return new Set(rows.map((r) => r.xmin));
}

describe('createJobSubmitter', () => {
  it('commits a burst of submissions from two callers in fewer transactions, each as its own', async () => {
    const submitter = createJobSubmitter(testDb.db, { maxInFlight: 1 });
    const alice = caller();
    const bob = caller();

    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const auth = i % 2 === 0 ? alice : bob;
        return submitter.enqueue(auth, noop(auth, { n: i }));
      }),
    );

    expect(results.every((r) => r.created)).toBe(true);
    results.forEach((r, i) => {
      expect(r.job.ownerId).toBe(i % 2 === 0 ? alice.subject : bob.subject);
      expect(r.job.payload).toEqual({ n: i });
    });
    // Asked in one turn of the event loop, they share a commit or two, not one each.
    const writers = await writersOf(results.map((r) => r.job.id));
    expect(writers.size).toBeLessThan(results.length);
    expect(writers.size).toBeLessThanOrEqual(2);

    // RLS saw each row as its caller: each sees exactly their own 20.
    const seen = await asUser(testDb.db, alice.subject, (tx) =>
      tx.query<{ n: number }>('select count(*)::int as n from public.jobs'),
    );
    expect(seen[0]?.n).toBe(20);
  });

  it('refuses, under RLS, a row for another owner than its caller, and only that one', async () => {
    const submitter = createJobSubmitter(testDb.db, { maxInFlight: 1 });
    const alice = caller();
    const mallory = caller();

    const outcomes = await Promise.allSettled([
      submitter.enqueue(alice, noop(alice)),
      submitter.enqueue(alice, noop(alice, { second: true })),
      // Mallory's spec names Alice as the owner: the policy must refuse it.
      submitter.enqueue(mallory, noop(alice, { forged: true })),
      submitter.enqueue(alice, noop(alice, { third: true })),
    ]);

    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    // 42501: the row violates the jobs policy for Mallory.
    expect(((outcomes[2] as PromiseRejectedResult).reason as { code?: string }).code).toBe('42501');
    const forged = await testDb.db.query(
      'select 1 from public.jobs where payload @> \'{"forged": true}\'',
    );
    expect(forged).toHaveLength(0);
  });

  it('fails only the submission whose value Postgres cannot store', async () => {
    const submitter = createJobSubmitter(testDb.db, { maxInFlight: 1 });
    const auth = caller();

    const outcomes = await Promise.allSettled([
      submitter.enqueue(auth, noop(auth, { first: true })),
      submitter.enqueue(auth, noop(auth, { good: 1 })),
      // jsonb cannot hold U+0000: SQLSTATE 22P05 for this one alone.
      submitter.enqueue(auth, noop(auth, { bad: 'a\u0000b' })),
      submitter.enqueue(auth, noop(auth, { good: 2 })),
    ]);

    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    const reason = (outcomes[2] as PromiseRejectedResult).reason as { code?: string };
    expect(reason.code).toBe('22P05');
    const kept = await testDb.db.query<{ n: number }>(
      'select count(*)::int as n from public.jobs where owner_id = $1',
      [auth.subject],
    );
    expect(kept[0]?.n).toBe(3);
  });

  it('answers an idempotency key: the same job for the same request, a conflict for another', async () => {
    const submitter = createJobSubmitter(testDb.db, { maxInFlight: 1 });
    const auth = caller();
    const keyed = (payload: Record<string, unknown>): JobSpec => ({
      ...noop(auth, payload),
      idempotencyKey: 'order-7',
    });

    const first = await submitter.enqueue(auth, keyed({ a: 1 }));
    const outcomes = await Promise.allSettled([
      submitter.enqueue(auth, noop(auth)),
      submitter.enqueue(auth, keyed({ a: 1 })),
      submitter.enqueue(auth, keyed({ a: 2 })),
      submitter.enqueue(auth, noop(auth)),
    ]);

    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    const replayed = (outcomes[1] as PromiseFulfilledResult<{ job: { id: string } }>).value;
    expect(replayed).toMatchObject({ created: false, job: { id: first.job.id } });
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyConflictError);
  });
});
