import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { type ComposedDelivery, composeDelivery } from '../core/events/compose-delivery.ts';
import { recordEvent } from '../core/events/record-event.ts';
import { createEndpoint, type SigningEndpoint } from '../core/webhooks/webhook-endpoints.ts';
import { type FakeQstash, startFakeQstash } from './helpers/fake-qstash.ts';
import { type FakeWebhookReceiver, startWebhookReceiver } from './helpers/fake-webhook-receiver.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { testDeliveryConfig, testLogger, waitFor } from './webhook-support.ts';

let testDb: TestDatabase;
let db: Database;
let qstash: FakeQstash;
let receiver: FakeWebhookReceiver;
let kai: ServerType;
let kaiUrl: string;
let composed: ComposedDelivery;
let secrets: string[] = [];
const stop = new AbortController();

const deliveryUrl = () => `${kaiUrl}/functions/v1/webhook-delivery`;

async function endpointFor(owner: string): Promise<SigningEndpoint> {
  const endpoint = await createEndpoint(db, owner, { url: `${receiver.url}/hook` });
  secrets = [endpoint.secret];
  return endpoint;
}

const statusOf = async (endpoint: SigningEndpoint) => {
  const [row] = await db.query<{ id: string; status: string }>(
    'select id, status from public.deliveries where endpoint_id = $1',
    [endpoint.id],
  );
  return row;
};

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  // QStash's numbers, 1000 times faster: a 1 s retry delay waits 1 ms.
  qstash = await startFakeQstash({ timeScale: 0.001 });
  receiver = await startWebhookReceiver(() => secrets);

  // Kai's two functions on one local server, as Supabase would serve them.
  const host = new Hono();
  const apps: { delivery?: Hono; callback?: Hono } = {};
  host.all('/functions/v1/webhook-delivery/*', (c) => (apps.delivery as Hono).fetch(c.req.raw));
  host.all('/functions/v1/webhook-delivery', (c) => (apps.delivery as Hono).fetch(c.req.raw));
  host.all('/functions/v1/qstash-callback/*', (c) => (apps.callback as Hono).fetch(c.req.raw));
  kai = serve({ fetch: host.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => kai.once('listening', resolve));
  kaiUrl = `http://127.0.0.1:${(kai.address() as AddressInfo).port}`;

  composed = composeDelivery({
    db,
    logger: testLogger,
    config: testDeliveryConfig({
      retries: 3,
      schedule: { baseMs: 1000, maxMs: 60_000 },
      transport: {
        kind: 'qstash',
        baseUrl: qstash.url,
        token: qstash.token,
        deliveryUrl: deliveryUrl(),
        callbackUrl: `${kaiUrl}/functions/v1/qstash-callback`,
      },
      signingKeys: qstash.signingKeys,
    }),
    outbound: { allow: ['127.0.0.1'] },
    relayPollIntervalMs: 100,
  });
  apps.delivery = composed.deliveryApp;
  apps.callback = composed.callbackApp;
  await composed.start(stop.signal);
});

beforeEach(() => {
  receiver.received.length = 0;
  receiver.answer(() => ({ status: 200 }));
});

afterAll(async () => {
  stop.abort();
  await composed.drain();
  kai.close();
  await receiver.close();
  await qstash.close();
  await testDb.drop();
});

describe('the qstash transport', () => {
  it('publishes with retries, retry delay, deduplication id, flow control and callbacks', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    await db.transaction((tx) =>
      recordEvent(tx, { type: 'job.completed', ownerId: owner, data: { jobId: 'j1' } }),
    );

    const hook = await waitFor(() => receiver.received[0], 'the webhook');
    expect(hook.verifyError).toBeUndefined();
    const delivery = await waitFor(async () => {
      const row = await statusOf(endpoint);
      return row?.status === 'delivered' ? row : undefined;
    }, 'delivered');

    const published = qstash.published.find((p) => p.body.includes(delivery.id));
    expect(published?.destination).toBe(deliveryUrl());
    expect(published?.headers).toMatchObject({
      'upstash-retries': '3',
      'upstash-retry-delay': 'min(60000, pow(2, retried) * 1000)',
      'upstash-deduplication-id': `${delivery.id}:0:0`,
      'upstash-flow-control-key': `endpoint-${endpoint.id}`,
      'upstash-flow-control-value': 'parallelism=10',
      'upstash-callback': `${kaiUrl}/functions/v1/qstash-callback/success`,
      'upstash-failure-callback': `${kaiUrl}/functions/v1/qstash-callback/failure`,
      'content-type': 'application/json',
    });
    const outcome = await waitFor(() => {
      const o = qstash.outcomes.get(published?.messageId as string);
      return o?.done ? o : undefined;
    }, 'the callback');
    expect(outcome.callback?.status).toBe(200);
  });

  it('retries through QStash, dead-letters through the failure callback', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    receiver.answer(() => ({ status: 500 }));
    await db.transaction((tx) =>
      recordEvent(tx, { type: 'job.completed', ownerId: owner, data: {} }),
    );

    const delivery = await waitFor(async () => {
      const row = await statusOf(endpoint);
      return row?.status === 'dead' ? row : undefined;
    }, 'dead');
    const published = qstash.published.find((p) => p.body.includes(delivery.id));
    const outcome = await waitFor(() => {
      const o = qstash.outcomes.get(published?.messageId as string);
      return o?.done ? o : undefined;
    }, 'the failure callback');
    expect(outcome.tries.map((t) => t.status)).toEqual([503, 503, 503, 503]);
    expect(outcome.failureCallback?.status).toBe(200);
    expect(receiver.received).toHaveLength(4);
  });

  it('a second publish of one delivery is deduplicated', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    await db.transaction((tx) =>
      recordEvent(tx, { type: 'job.completed', ownerId: owner, data: {} }),
    );
    const row = await waitFor(async () => {
      const r = await statusOf(endpoint);
      return r?.status === 'delivered' ? r : undefined;
    }, 'delivered');

    await composed.transport.publish([
      {
        message: { deliveryId: row.id, replay: 0, retriedBefore: 0 },
        retries: 3,
        deduplicationId: `${row.id}:0:0`,
        flowControlKey: `endpoint-${endpoint.id}`,
      },
    ]);
    const copies = qstash.published.filter((p) => p.body.includes(row.id));
    expect(copies.map((c) => c.deduplicated)).toEqual([false, true]);
    expect(receiver.received).toHaveLength(1);
  });

  it('refuses a request signed with another key, before sending anything', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    const [row] = await db.query<{ id: string }>(
      `insert into public.deliveries (event_id, event_type, channel, owner_id, endpoint_id, payload,
         max_attempts) values ($1, 'job.completed', 'webhook', $2, $3, '{}', 1) returning id`,
      [randomUUID(), owner, endpoint.id],
    );
    const forged = await startFakeQstash({ timeScale: 0.001 });
    const body = JSON.stringify({ deliveryId: row?.id, replay: 0, retriedBefore: 0 });
    const response = await fetch(`${forged.url}/v2/publish/${deliveryUrl()}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${forged.token}`,
        'content-type': 'application/json',
        'upstash-retries': '1',
      },
      body,
    });
    const { messageId } = (await response.json()) as { messageId: string };
    const outcome = await waitFor(() => {
      const o = forged.outcomes.get(messageId);
      return o?.done ? o : undefined;
    }, 'the forged tries');
    expect(outcome.tries.every((t) => t.status === 401)).toBe(true);
    expect(receiver.received).toHaveLength(0);
    expect((await statusOf(endpoint))?.status).toBe('pending');
    await forged.close();
  });
});
