import { randomUUID } from 'node:crypto';
import { Receiver } from '@upstash/qstash';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import type { TransportMessage } from '../core/events/delivery-transport.ts';
import { createLocalTransport, type LocalTransport } from '../core/events/local-transport.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { testLogger, waitFor } from './webhook-support.ts';

const KEY = 'sig_local_transport_test';
let testDb: TestDatabase;
let db: Database;

interface Seen {
  url: string;
  body: string;
  retried: string | null;
  at: number;
  valid: boolean;
}

function transportWith(answer: (seen: Seen[]) => Promise<Response> | Response, parallelism = 10) {
  const seen: Seen[] = [];
  const receiver = new Receiver({
    currentSigningKey: KEY,
    nextSigningKey: 'sig_unused',
    devMode: false,
  });
  const transport = createLocalTransport({
    db,
    logger: testLogger,
    signingKey: KEY,
    deliveryUrl: 'http://kai.internal/deliver',
    callbackUrl: 'http://kai.internal/callback',
    dispatch: async (request) => {
      const body = await request.text();
      const valid = await receiver
        .verify({
          signature: request.headers.get('upstash-signature') ?? '',
          body,
          url: request.url,
        })
        .catch(() => false);
      seen.push({
        url: request.url,
        body,
        retried: request.headers.get('upstash-retried'),
        at: Date.now(),
        valid,
      });
      return request.url.includes('/callback') ? new Response('ok') : await answer(seen);
    },
    schedule: { baseMs: 40, maxMs: 1000 },
    concurrency: 16,
    flowParallelism: parallelism,
    pollIntervalMs: 50,
  });
  return { transport, seen };
}

const message = (over: Partial<TransportMessage> = {}): TransportMessage => ({
  message: { deliveryId: randomUUID(), replay: 0, retriedBefore: 0 },
  retries: 2,
  deduplicationId: randomUUID(),
  flowControlKey: 'endpoint-a',
  ...over,
});

let running: { transport: LocalTransport; stop: AbortController } | undefined;
async function run(transport: LocalTransport) {
  const stop = new AbortController();
  running = { transport, stop };
  await transport.start(stop.signal);
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
});

beforeEach(async () => {
  running?.stop.abort();
  await running?.transport.drain();
  running = undefined;
  await db.exec('delete from kai.transport_messages');
});

afterAll(async () => {
  running?.stop.abort();
  await running?.transport.drain();
  await testDb.drop();
});

describe('the local transport', () => {
  it('signs like QStash (the Receiver verifies), retries on schedule, then calls the failure callback', async () => {
    const { transport, seen } = transportWith(() => new Response('no', { status: 500 }));
    await run(transport);
    const m = message();
    await transport.publish([m]);

    const failure = await waitFor(
      () => seen.find((s) => s.url.endsWith('/failure')),
      'the failure callback',
    );
    const tries = seen.filter((s) => s.url.endsWith('/deliver'));
    expect(tries.map((t) => t.retried)).toEqual(['0', '1', '2']);
    expect(seen.every((s) => s.valid)).toBe(true);
    expect((tries[1]?.at ?? 0) - (tries[0]?.at ?? 0)).toBeGreaterThanOrEqual(35);
    expect((tries[2]?.at ?? 0) - (tries[1]?.at ?? 0)).toBeGreaterThanOrEqual(75);
    const callback = JSON.parse(failure.body);
    expect(callback).toMatchObject({
      status: 500,
      retried: 2,
      maxRetries: 2,
      url: 'http://kai.internal/deliver',
    });
    expect(JSON.parse(Buffer.from(callback.sourceBody, 'base64').toString())).toEqual(m.message);
    expect(Buffer.from(callback.body, 'base64').toString()).toBe('no');
  });

  it('drops a second publish with the same deduplication id', async () => {
    const { transport, seen } = transportWith(() => new Response('ok'));
    const m = message();
    await transport.publish([m]);
    await transport.publish([m, { ...m, message: { ...m.message, retriedBefore: 1 } }]);
    await run(transport);
    await waitFor(() => seen.find((s) => s.url.endsWith('/success')), 'the success callback');
    await new Promise((r) => setTimeout(r, 150));
    expect(seen.filter((s) => s.url.endsWith('/deliver'))).toHaveLength(1);
  });

  it('honours a longer Retry-After than the schedule', async () => {
    const { transport, seen } = transportWith((s) =>
      s.length === 1
        ? new Response('slow down', { status: 429, headers: { 'retry-after': '1' } })
        : new Response('ok'),
    );
    await run(transport);
    await transport.publish([message()]);
    await waitFor(() => seen.find((s) => s.url.endsWith('/success')), 'delivered');
    const tries = seen.filter((s) => s.url.endsWith('/deliver'));
    expect((tries[1]?.at ?? 0) - (tries[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('runs one endpoint’s messages at most `flowParallelism` at once, others alongside', async () => {
    let inFlightA = 0;
    let peakA = 0;
    const { transport, seen } = transportWith(async (s) => {
      const last = JSON.parse(s.at(-1)?.body ?? '{}') as { deliveryId: string };
      const isA = last.deliveryId.startsWith('a');
      if (isA) peakA = Math.max(peakA, ++inFlightA);
      await new Promise((r) => setTimeout(r, 30));
      if (isA) inFlightA -= 1;
      return new Response('ok');
    }, 2);
    const a = Array.from({ length: 8 }, (_, i) =>
      message({
        message: { deliveryId: `a${randomUUID().slice(1)}`, replay: 0, retriedBefore: 0 },
        deduplicationId: `a${i}`,
      }),
    );
    const b = Array.from({ length: 4 }, (_, i) =>
      message({
        message: { deliveryId: `b${randomUUID().slice(1)}`, replay: 0, retriedBefore: 0 },
        deduplicationId: `b${i}`,
        flowControlKey: 'endpoint-b',
      }),
    );
    await transport.publish([...a, ...b]);
    await run(transport);
    await waitFor(
      () => seen.filter((s) => s.url.endsWith('/success')).length === 12,
      'all delivered',
    );
    expect(peakA).toBeLessThanOrEqual(2);
  });
});
