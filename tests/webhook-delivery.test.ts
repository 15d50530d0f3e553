import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { type ComposedDelivery, composeDelivery } from '../core/events/compose-delivery.ts';
import type { DeliveryConfig } from '../core/events/delivery-config.ts';
import { signLikeQstash } from '../core/events/qstash-signature.ts';
import { claimJobs } from '../core/queue/claim-jobs.ts';
import { enqueueJob } from '../core/queue/enqueue.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { completeJob } from '../core/queue/settle-jobs.ts';
import { replayDelivery, replayRange } from '../core/webhooks/replay-deliveries.ts';
import {
  createEndpoint,
  getEndpoint,
  rotateEndpointSecret,
  type SigningEndpoint,
} from '../core/webhooks/webhook-endpoints.ts';
import { type FakeResend, startFakeResend } from './helpers/fake-resend.ts';
import { type FakeWebhookReceiver, startWebhookReceiver } from './helpers/fake-webhook-receiver.ts';
import { asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { testDeliveryConfig, testLogger, waitFor } from './webhook-support.ts';

const RESEND_KEY = 're_test_key';
let testDb: TestDatabase;
let db: Database;
let resend: FakeResend;
let receiver: FakeWebhookReceiver;
let secrets: string[] = [];
let delivery: ComposedDelivery | undefined;
let stop: AbortController;

function start(over: Partial<DeliveryConfig> = {}) {
  delivery = composeDelivery({
    db,
    logger: testLogger,
    config: testDeliveryConfig({
      email: { apiKey: RESEND_KEY, from: 'Kai <kai@example.com>', baseUrl: resend.url },
      ...over,
    }),
    outbound: { allow: ['127.0.0.1'] },
    local: { pollIntervalMs: 50 },
    relayPollIntervalMs: 100,
  });
  stop = new AbortController();
  return delivery.start(stop.signal).then(() => delivery as ComposedDelivery);
}

async function completeAJob(ownerId: string): Promise<string> {
  const { job } = await enqueueJob(db, {
    type: 'test.thing',
    payload: {},
    ownerId,
    queue: 'batch',
  });
  const [claimed] = await claimJobs(db, {
    workerId: 'w',
    types: ['test.thing'],
    limit: 1,
    leaseMs: 30_000,
  });
  if (!claimed) throw new Error('nothing claimed');
  await completeJob(db, { jobId: claimed.id, leaseToken: claimed.leaseToken }, { label: 'oak' });
  return job.id;
}

async function endpointFor(ownerId: string, over: Partial<{ eventTypes: string[] }> = {}) {
  const endpoint = await asUser(db, ownerId, (tx) =>
    createEndpoint(tx, ownerId, { url: `${receiver.url}/hook`, ...over }),
  );
  secrets = [endpoint.secret];
  return endpoint;
}

const deliveriesOf = (endpoint: SigningEndpoint) =>
  db.query<{ id: string; status: string; attempts: number; last_error: string | null }>(
    'select id, status, attempts, last_error from public.deliveries where endpoint_id = $1',
    [endpoint.id],
  );

const attemptsOf = (deliveryId: string) =>
  db.query<{ attempt: number; status_code: number | null; ok: boolean; response_excerpt: string }>(
    'select * from public.delivery_attempts where delivery_id = $1 order by attempt',
    [deliveryId],
  );

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  await syncQueueClasses(db, { batch: { concurrency: 10, weight: 1 } });
  resend = await startFakeResend(RESEND_KEY);
  receiver = await startWebhookReceiver(() => secrets);
});

beforeEach(() => {
  receiver.received.length = 0;
  resend.emails.length = 0;
  receiver.answer(() => ({ status: 200, body: 'thanks' }));
});

afterEach(async () => {
  stop?.abort();
  await delivery?.drain();
  delivery = undefined;
});

afterAll(async () => {
  await receiver.close();
  await resend.close();
  await testDb.drop();
});

describe('end to end on the local transport', () => {
  it('a completed job gives an in-app row, an email and a verified webhook', async () => {
    const owner = randomUUID();
    await db.query(
      `insert into public.notification_settings (user_id, email) values ($1, 'ann@example.com')`,
      [owner],
    );
    await db.query(
      `insert into public.notification_preferences (user_id, event_type, channel, enabled)
       values ($1, 'job.completed', 'email', true)`,
      [owner],
    );
    const endpoint = await endpointFor(owner);
    await start();

    const jobId = await completeAJob(owner);

    const hook = await waitFor(() => receiver.received[0], 'the webhook');
    expect(hook.verifyError).toBeUndefined();
    expect(hook.verified).toMatchObject({
      type: 'job.completed',
      data: { jobId, status: 'completed' },
    });
    expect(hook.headers['webhook-id']).toMatch(/^msg_/);
    expect(hook.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const email = await waitFor(() => resend.emails[0], 'the email');
    expect(email.to).toEqual(['ann@example.com']);
    expect(email.subject).toBe('Job test.thing completed');
    expect(email.html).toContain('<h1>');
    expect(email.text).toContain(jobId);

    const [row] = await asUser(db, owner, (tx) =>
      tx.query<{ event_type: string; status: string }>('select * from public.notifications'),
    );
    expect(row).toMatchObject({ event_type: 'job.completed', status: 'unseen' });

    const [webhookDelivery] = await waitFor(async () => {
      const rows = await deliveriesOf(endpoint);
      return rows[0]?.status === 'delivered' ? rows : undefined;
    }, 'the delivered state');
    const attempts = await attemptsOf(webhookDelivery?.id as string);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ status_code: 200, ok: true, response_excerpt: 'thanks' });
  });

  it('a rolled-back completion sends nothing', async () => {
    const owner = randomUUID();
    await endpointFor(owner);
    await start();

    await db
      .transaction(async (tx) => {
        await tx.query(
          `insert into public.jobs (type, owner_id, status) values ('test.thing', $1, 'running')`,
          [owner],
        );
        await tx.query(`update public.jobs set status = 'completed' where owner_id = $1`, [owner]);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await delivery?.relay.runOnce();

    const [events] = await db.query<{ n: number }>(
      'select count(*)::int as n from kai.events where owner_id = $1',
      [owner],
    );
    expect(events?.n).toBe(0);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('an endpoint that is down', () => {
  it('is retried on schedule, becomes a dead letter, and a replay delivers', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    receiver.answer(() => ({ status: 503, body: 'down' }));
    const composed = await start({ retries: 3, schedule: { baseMs: 150, maxMs: 1000 } });

    await completeAJob(owner);
    const [dead] = await waitFor(async () => {
      const rows = await deliveriesOf(endpoint);
      return rows[0]?.status === 'dead' ? rows : undefined;
    }, 'the dead letter');
    expect(receiver.received).toHaveLength(4);
    const gaps = receiver.received.slice(1).map((r, i) => r.at - (receiver.received[i]?.at ?? 0));
    // 150, 300, 600 ms: each gap at least its scheduled delay.
    expect(gaps[0]).toBeGreaterThanOrEqual(140);
    expect(gaps[1]).toBeGreaterThanOrEqual(290);
    expect(gaps[2]).toBeGreaterThanOrEqual(590);
    const attempts = await attemptsOf(dead?.id as string);
    expect(attempts.map((a) => a.status_code)).toEqual([503, 503, 503, 503]);
    // Every attempt of one delivery carries the same message id.
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);

    receiver.answer(() => ({ status: 204 }));
    await replayDelivery(db, composed.transport, dead?.id as string);
    await waitFor(async () => {
      const rows = await deliveriesOf(endpoint);
      return rows[0]?.status === 'delivered';
    }, 'the replayed delivery');
    expect(receiver.received).toHaveLength(5);
    expect(receiver.received[4]?.verifyError).toBeUndefined();
  });

  it('honours Retry-After', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    receiver.answer((n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    await start({ schedule: { baseMs: 50, maxMs: 100 } });

    await completeAJob(owner);
    await waitFor(
      async () => (await deliveriesOf(endpoint))[0]?.status === 'delivered',
      'delivery',
    );
    const [first, second] = receiver.received;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('410 Gone disables the endpoint and tells its owner', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    receiver.answer(() => ({ status: 410 }));
    await start();

    await completeAJob(owner);
    await waitFor(async () => (await deliveriesOf(endpoint))[0]?.status === 'dead', 'dead');
    expect(receiver.received).toHaveLength(1);
    const after = await getEndpoint(db, endpoint.id);
    expect(after.enabled).toBe(false);
    expect(after.disabledReason).toContain('410');

    const notice = await waitFor(async () => {
      const rows = await db.query<{ event_type: string; critical: boolean }>(
        `select * from public.notifications where user_id = $1 and event_type = 'webhook.endpoint.disabled'`,
        [owner],
      );
      return rows[0];
    }, 'the owner notification');
    expect(notice.critical).toBe(true);
  });

  it('consecutive failures past the threshold disable the endpoint', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    receiver.answer(() => ({ status: 500 }));
    await start({ failureThreshold: 3, retries: 5, schedule: { baseMs: 20, maxMs: 40 } });

    await completeAJob(owner);
    await waitFor(async () => (await deliveriesOf(endpoint))[0]?.status === 'dead', 'dead');
    expect(receiver.received).toHaveLength(3);
    expect((await getEndpoint(db, endpoint.id)).enabled).toBe(false);
    const [event] = await db.query<{ data: { reason: string } }>(
      `select data from kai.events where type = 'webhook.endpoint.disabled' and subject = $1`,
      [endpoint.id],
    );
    expect(event?.data.reason).toContain('3 consecutive');
  });

  it('replays the dead letters of a time range', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    receiver.answer(() => ({ status: 500 }));
    const composed = await start({ retries: 0 });

    const since = new Date(Date.now() - 1000);
    await completeAJob(owner);
    await completeAJob(owner);
    await waitFor(async () => {
      const rows = await deliveriesOf(endpoint);
      return rows.length === 2 && rows.every((r) => r.status === 'dead');
    }, 'two dead letters');

    receiver.answer(() => ({ status: 200 }));
    const replayed = await replayRange(db, composed.transport, {
      endpointId: endpoint.id,
      since,
      until: new Date(Date.now() + 1000),
    });
    expect(replayed).toHaveLength(2);
    await waitFor(async () => {
      const rows = await deliveriesOf(endpoint);
      return rows.every((r) => r.status === 'delivered');
    }, 'both delivered');
  });
});

describe('signatures', () => {
  it('sends both signatures during a rotation; each secret verifies alone', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    const rotated = await asUser(db, owner, (tx) => rotateEndpointSecret(tx, endpoint.id));
    await start();

    for (const only of [[endpoint.secret], [rotated.secret]]) {
      secrets = only;
      receiver.received.length = 0;
      await completeAJob(owner);
      const hook = await waitFor(() => receiver.received[0], 'the webhook');
      expect(hook.headers['webhook-signature']?.split(' ')).toHaveLength(2);
      expect(hook.verifyError).toBeUndefined();
    }
  });

  it('a forged QStash signature gets 401 and nothing is sent', async () => {
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    const composed = await start();
    stop.abort(); // nothing but the forged request may reach the handler
    const [row] = await db.query<{ id: string }>(
      `insert into public.deliveries (event_id, event_type, channel, owner_id, endpoint_id, payload,
         max_attempts) values ($1, 'job.completed', 'webhook', $2, $3, '{}', 1) returning id`,
      [randomUUID(), owner, endpoint.id],
    );
    const body = JSON.stringify({ deliveryId: row?.id, replay: 0, retriedBefore: 0 });
    const url = 'http://kai.internal/functions/v1/webhook-delivery';

    const forged = await signLikeQstash('sig_not_the_key', url, body);
    const tampered = await signLikeQstash('sig_not_the_key', url, '{"other":1}');
    for (const signature of [forged, tampered, undefined]) {
      const response = await composed.deliveryApp.request(url, {
        method: 'POST',
        headers: signature ? { 'upstash-signature': signature } : {},
        body,
      });
      expect(response.status).toBe(401);
      expect((await response.json()) as { code: string }).toMatchObject({
        code: 'invalid_signature',
      });
    }
    expect(receiver.received).toHaveLength(0);
    expect(await attemptsOf(row?.id as string)).toHaveLength(0);
  });
});
