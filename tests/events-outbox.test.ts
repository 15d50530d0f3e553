import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { createLocalTransport } from '../core/events/local-transport.ts';
import { createOutboxRelay, EVENTS_CHANNEL } from '../core/events/outbox-relay.ts';
import { recordEvent } from '../core/events/record-event.ts';
import { cancelJob } from '../core/queue/cancel-job.ts';
import { claimJobs } from '../core/queue/claim-jobs.ts';
import { enqueueJob } from '../core/queue/enqueue.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { completeJob, failJob } from '../core/queue/settle-jobs.ts';
import { createEndpoint } from '../core/webhooks/webhook-endpoints.ts';
import { asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { testLogger, waitFor } from './webhook-support.ts';

let testDb: TestDatabase;
let db: Database;

const fanOut = { notificationsEnabled: true, defaultChannel: 'in-app' as const, maxAttempts: 4 };

/** A transport that only records what it is given, in the caller's transaction. */
const recordingTransport = () =>
  createLocalTransport({
    db,
    logger: testLogger,
    signingKey: 'sig_test',
    deliveryUrl: 'http://kai.internal/d',
    callbackUrl: 'http://kai.internal/c',
    dispatch: async () => new Response('{}', { status: 200 }),
    schedule: { baseMs: 10, maxMs: 10 },
    concurrency: 4,
    flowParallelism: 4,
    pollIntervalMs: 50,
  });

const eventsOf = (ownerId: string) =>
  db.query<{ type: string; critical: boolean; data: Record<string, unknown>; subject: string }>(
    'select type, critical, data, subject from kai.events where owner_id = $1 order by occurred_at, id',
    [ownerId],
  );

async function claimOne(type: string) {
  const [job] = await claimJobs(db, { workerId: 'w', types: [type], limit: 1, leaseMs: 30_000 });
  if (!job) throw new Error('nothing claimed');
  return { jobId: job.id, leaseToken: job.leaseToken };
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  await syncQueueClasses(db, { batch: { concurrency: 100, weight: 1 } });
});

beforeEach(async () => {
  await db.exec(
    'delete from kai.events; delete from public.deliveries; delete from kai.transport_messages;',
  );
});

afterAll(async () => {
  await testDb.drop();
});

describe('recordEvent', () => {
  it('exists exactly when its transaction commits, and wakes listeners at commit', async () => {
    const owner = randomUUID();
    const heard: string[] = [];
    const unlisten = await db.listen(EVENTS_CHANNEL, (payload) => heard.push(payload));

    await db
      .transaction(async (tx) => {
        await recordEvent(tx, { type: 'parameters.updated', ownerId: owner, data: { name: 'a' } });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await eventsOf(owner)).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(heard).toHaveLength(0);

    await db.transaction((tx) =>
      recordEvent(tx, { type: 'study.completed', ownerId: owner, subject: 's1', data: { n: 1 } }),
    );
    expect(await eventsOf(owner)).toEqual([
      { type: 'study.completed', critical: false, data: { n: 1 }, subject: 's1' },
    ]);
    await waitFor(() => heard.length > 0, 'the notification');
    await unlisten();
  });

  it('records from a transaction running as the API caller, which keeps its role', async () => {
    const owner = randomUUID();
    // The caller's role itself may not write the outbox.
    await expect(
      asUser(db, owner, (tx) =>
        tx.query(`insert into kai.events (type, owner_id) values ('study.completed', $1)`, [owner]),
      ),
    ).rejects.toThrow();

    const [current] = await asUser(db, owner, async (tx) => {
      await recordEvent(tx, { type: 'study.completed', ownerId: owner, data: {} });
      return await tx.query<{ role: string }>('select current_user as role');
    });
    expect(current?.role).toBe('authenticated');
    expect((await eventsOf(owner)).map((e) => e.type)).toEqual(['study.completed']);
  });

  it('refuses a malformed type', async () => {
    await expect(recordEvent(db, { type: 'Nope', ownerId: null, data: {} })).rejects.toThrow(
      'not an event type name',
    );
  });
});

describe('job outcome events', () => {
  it('completed, failed and dead become events in the settling transaction', async () => {
    const owner = randomUUID();
    const backoff = { baseMs: 1, maxMs: 1 };
    await enqueueJob(db, {
      type: 'test.a',
      payload: {},
      ownerId: owner,
      queue: 'batch',
      maxAttempts: 2,
    });
    await completeJob(db, await claimOne('test.a'), { ok: 1 });

    const { job } = await enqueueJob(db, {
      type: 'test.b',
      payload: {},
      ownerId: owner,
      queue: 'batch',
      maxAttempts: 2,
    });
    await failJob(
      db,
      await claimOne('test.b'),
      { code: 'x', message: 'first', retryable: true },
      backoff,
    );
    await new Promise((r) => setTimeout(r, 20));
    await failJob(
      db,
      await claimOne('test.b'),
      { code: 'x', message: 'second', retryable: true },
      backoff,
    );

    const events = await eventsOf(owner);
    expect(events.map((e) => [e.type, e.critical])).toEqual([
      ['job.completed', false],
      ['job.failed', false],
      ['job.dead', true],
    ]);
    expect(events[0]?.data).toMatchObject({
      type: 'test.a',
      status: 'completed',
      result: { ok: 1 },
    });
    expect(events[2]?.data).toMatchObject({
      jobId: job.id,
      attempts: 2,
      error: { message: 'second' },
    });
  });

  it('cancelled jobs and Kai’s own kai.* jobs announce nothing', async () => {
    const owner = randomUUID();
    const { job } = await enqueueJob(db, {
      type: 'test.c',
      payload: {},
      ownerId: owner,
      queue: 'batch',
    });
    await cancelJob(db, job.id);
    await enqueueJob(db, { type: 'kai.internal', payload: {}, ownerId: owner, queue: 'batch' });
    await completeJob(db, await claimOne('kai.internal'), {});
    expect(await eventsOf(owner)).toHaveLength(0);
  });
});

describe('the outbox relay', () => {
  it('fans an event out once, even when relayed again after a crash', async () => {
    const owner = randomUUID();
    await createEndpoint(db, owner, { url: 'https://example.com/a' });
    await createEndpoint(db, owner, { url: 'https://example.com/b', eventTypes: ['study.*'] });
    await createEndpoint(db, owner, {
      url: 'https://example.com/c',
      eventTypes: ['job.completed'],
    });
    const relay = createOutboxRelay({
      db,
      logger: testLogger,
      transport: recordingTransport(),
      fanOut,
      pollIntervalMs: 1000,
    });

    const event = await db.transaction((tx) =>
      recordEvent(tx, { type: 'study.completed', ownerId: owner, data: {} }),
    );
    expect(await relay.runOnce()).toBe(1);
    // As if the relay died after its work committed but before anyone knew: relayed again.
    await db.query('update kai.events set relayed_at = null where id = $1', [event.id]);
    expect(await relay.runOnce()).toBe(1);

    const deliveries = await db.query<{ endpoint_id: string }>(
      'select endpoint_id from public.deliveries where event_id = $1',
      [event.id],
    );
    expect(deliveries).toHaveLength(2);
    const notifications = await db.query('select 1 from public.notifications where event_id = $1', [
      event.id,
    ]);
    expect(notifications).toHaveLength(1);
    const messages = await db.query<{ n: number }>(
      'select count(*)::int as n from kai.transport_messages',
    );
    expect(messages[0]?.n).toBe(2);
  });

  it('an event that fails to relay is retried later and does not stop the others', async () => {
    const owner = randomUUID();
    const relay = createOutboxRelay({
      db,
      logger: testLogger,
      transport: recordingTransport(),
      fanOut,
      pollIntervalMs: 1000,
      claimMs: 1,
    });
    // A time zone Intl does not know (written around the API's check) makes the fan-out throw.
    await db.query(
      `insert into public.notification_settings (user_id, time_zone, quiet_hours_start, quiet_hours_end)
       values ($1, 'Not/AZone', '22:00', '07:00')`,
      [owner],
    );
    await db.transaction((tx) =>
      recordEvent(tx, { type: 'study.completed', ownerId: owner, data: {} }),
    );
    await db.transaction((tx) =>
      recordEvent(tx, { type: 'webhook.test', ownerId: randomUUID(), data: {} }),
    );

    expect(await relay.runOnce()).toBe(1);
    const [failed] = await db.query<{
      relay_error: string;
      relay_attempts: number;
      relayed_at: Date | null;
    }>(`select relay_error, relay_attempts, relayed_at from kai.events where owner_id = $1`, [
      owner,
    ]);
    expect(failed?.relay_error).toContain('Not/AZone');
    expect(failed?.relayed_at).toBeNull();

    await db.query(`update public.notification_settings set time_zone = 'UTC' where user_id = $1`, [
      owner,
    ]);
    await new Promise((r) => setTimeout(r, 5));
    expect(await relay.runOnce()).toBe(1);
    const [relayed] = await db.query<{ relay_attempts: number; relay_error: string | null }>(
      `select relay_attempts, relay_error from kai.events where owner_id = $1`,
      [owner],
    );
    expect(relayed).toEqual({ relay_attempts: 2, relay_error: null });
  });

  it('deletes finished deliveries and relayed events past retention, nothing newer', async () => {
    const owner = randomUUID();
    const endpoint = await createEndpoint(db, owner, { url: 'https://example.com/r' });
    await db.query(
      `insert into public.deliveries (event_id, event_type, channel, owner_id, endpoint_id, payload,
         max_attempts, status, updated_at)
       values (gen_random_uuid(), 'job.completed', 'webhook', $1, $2, '{}', 1, 'delivered', now() - interval '3 days'),
              (gen_random_uuid(), 'job.completed', 'webhook', $1, $2, '{}', 1, 'delivered', now()),
              (gen_random_uuid(), 'job.completed', 'webhook', $1, $2, '{}', 1, 'retrying', now() - interval '3 days')`,
      [owner, endpoint.id],
    );
    await db.query(
      `insert into kai.events (type, owner_id, relayed_at) values
         ('study.completed', $1, now() - interval '3 days'), ('study.completed', $1, now())`,
      [owner],
    );
    const relay = createOutboxRelay({
      db,
      logger: testLogger,
      transport: recordingTransport(),
      fanOut,
      pollIntervalMs: 1000,
      retentionDays: 2,
    });
    await relay.runOnce();
    const left = await db.query<{ status: string }>(
      'select status from public.deliveries where owner_id = $1 order by status',
      [owner],
    );
    expect(left.map((r) => r.status)).toEqual(['delivered', 'retrying']);
    expect(await eventsOf(owner)).toHaveLength(1);
  });

  it('publishes a delivery stuck mid-attempt again', async () => {
    const owner = randomUUID();
    const endpoint = await createEndpoint(db, owner, { url: 'https://example.com/s' });
    const [row] = await db.query<{ id: string }>(
      `insert into public.deliveries (event_id, event_type, channel, owner_id, endpoint_id, payload,
         max_attempts, status, attempts, updated_at)
       values ($1, 'job.completed', 'webhook', $2, $3, '{}', 4, 'delivering', 1, now() - interval '1 hour')
       returning id`,
      [randomUUID(), owner, endpoint.id],
    );
    const relay = createOutboxRelay({
      db,
      logger: testLogger,
      transport: recordingTransport(),
      fanOut,
      pollIntervalMs: 1000,
      republishAfterMs: 0,
      staleDeliveringMs: 60_000,
    });
    await relay.runOnce();
    const messages = await db.query<{ body: string; retries: number }>(
      'select body, retries from kai.transport_messages',
    );
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(JSON.parse(message?.body ?? '{}')).toEqual({
      deliveryId: row?.id,
      replay: 0,
      retriedBefore: 1,
    });
    expect(message?.retries).toBe(2);
  });

  it.skipIf(process.env.DATABASE_URL === undefined)(
    'two relays on two connections share the events, each relayed once (SKIP LOCKED)',
    async () => {
      const owner = randomUUID();
      await createEndpoint(db, owner, { url: 'https://example.com/x' });
      const other = testDb.connect();
      const relays = [db, other].map((conn) =>
        createOutboxRelay({
          db: conn,
          logger: testLogger,
          transport: recordingTransport(),
          fanOut,
          pollIntervalMs: 1000,
          batchSize: 10,
        }),
      );
      const events = 300;
      await db.query(
        `insert into kai.events (type, owner_id, data)
         select 'parameters.updated', $1, '{}' from generate_series(1, $2)`,
        [owner, events],
      );
      const counts = await Promise.all(relays.map((r) => r.runOnce()));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(events);
      expect(counts.every((n) => n > 0)).toBe(true);
      const [deliveries] = await db.query<{ n: number; distinct_events: number }>(
        `select count(*)::int as n, count(distinct event_id)::int as distinct_events
         from public.deliveries where owner_id = $1`,
        [owner],
      );
      expect(deliveries).toEqual({ n: events, distinct_events: events });
    },
  );
});
