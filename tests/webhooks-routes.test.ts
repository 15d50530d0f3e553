import { randomUUID } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { type ComposedDelivery, composeDelivery } from '../core/events/compose-delivery.ts';
import { recordEvent } from '../core/events/record-event.ts';
import { createApp } from '../core/http/app.ts';
import type { AppEnv } from '../core/http/app-env.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { type FakeWebhookReceiver, startWebhookReceiver } from './helpers/fake-webhook-receiver.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { testDeliveryConfig, testLogger, waitFor } from './webhook-support.ts';

let testDb: TestDatabase;
let db: Database;
let app: OpenAPIHono<AppEnv>;
let delivery: ComposedDelivery;
let receiver: FakeWebhookReceiver;
let secrets: string[] = [];
const stop = new AbortController();

const call = async (user: string, method: string, path: string, body?: unknown) => {
  const response = await app.request(path, {
    method,
    headers: {
      ...(await bearer(user)),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
};

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  receiver = await startWebhookReceiver(() => secrets);
  delivery = composeDelivery({
    db,
    logger: testLogger,
    config: testDeliveryConfig({ retries: 0 }),
    outbound: { allow: ['127.0.0.1'] },
    local: { pollIntervalMs: 50 },
    relayPollIntervalMs: 100,
  });
  await delivery.start(stop.signal);
  app = createApp({
    db,
    logger: testLogger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
    webhooks: {
      transport: delivery.transport,
      checkUrl: (url) => delivery.http.checkUrl(url),
      maxAttempts: 1,
    },
  });
});

beforeEach(() => {
  receiver.received.length = 0;
  receiver.answer(() => ({ status: 200 }));
});

afterEach(() => {
  secrets = [];
});

afterAll(async () => {
  stop.abort();
  await delivery.drain();
  await receiver.close();
  await testDb.drop();
});

describe('/v1/webhooks', () => {
  it('creates, lists, reads, updates and deletes endpoints, each user their own', async () => {
    const ann = randomUUID();
    const created = await call(ann, 'POST', '/v1/webhooks', {
      url: `${receiver.url}/a`,
      description: 'orders',
      eventTypes: ['job.*'],
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body).toMatchObject({
      description: 'orders',
      eventTypes: ['job.*'],
      enabled: true,
    });
    const id = created.body.id as string;

    const listed = await call(ann, 'GET', '/v1/webhooks');
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0].secret).toBeUndefined();

    const bob = randomUUID();
    expect((await call(bob, 'GET', `/v1/webhooks/${id}`)).status).toBe(404);
    expect((await call(bob, 'GET', '/v1/webhooks')).body.items).toHaveLength(0);
    expect((await call(bob, 'DELETE', `/v1/webhooks/${id}`)).status).toBe(404);

    const patched = await call(ann, 'PATCH', `/v1/webhooks/${id}`, {
      enabled: false,
      description: 'x',
    });
    expect(patched.body).toMatchObject({ enabled: false, description: 'x' });
    expect((await call(ann, 'DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
    expect((await call(ann, 'GET', `/v1/webhooks/${id}`)).status).toBe(404);
  });

  it('refuses unsafe URLs and unknown event types with clear problems', async () => {
    const user = randomUUID();
    for (const url of [
      'http://169.254.169.254/latest',
      'http://10.0.0.1/',
      'file:///etc/passwd',
      'http://[::1]/',
    ]) {
      const refused = await call(user, 'POST', '/v1/webhooks', { url });
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe('unsafe_url');
    }
    const bad = await call(user, 'POST', '/v1/webhooks', {
      url: `${receiver.url}/a`,
      eventTypes: ['nope'],
    });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.body.errors[0].path).toBe('body.eventTypes.0');
  });

  it('rotates with a 24-hour overlap and pings with both signatures', async () => {
    const user = randomUUID();
    const created = await call(user, 'POST', '/v1/webhooks', { url: `${receiver.url}/p` });
    const id = created.body.id as string;
    const rotated = await call(user, 'POST', `/v1/webhooks/${id}/rotate`);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    const overlapMs = new Date(rotated.body.previousSecretExpiresAt).getTime() - Date.now();
    expect(overlapMs).toBeGreaterThan(23.9 * 3600_000);
    expect(overlapMs).toBeLessThanOrEqual(24 * 3600_000);
    const both = await call(user, 'GET', `/v1/webhooks/${id}/secret`);
    expect(both.body).toMatchObject({
      secret: rotated.body.secret,
      previousSecret: created.body.secret,
    });

    secrets = [created.body.secret];
    const ping = await call(user, 'POST', `/v1/webhooks/${id}/test`);
    expect(ping.status).toBe(202);
    const hook = await waitFor(() => receiver.received[0], 'the ping');
    expect(hook.verifyError).toBeUndefined();
    expect(hook.verified).toMatchObject({ type: 'webhook.test' });
    expect(hook.headers['webhook-signature']?.split(' ')).toHaveLength(2);
  });

  it('lists deliveries with their attempts and replays one and a range', async () => {
    const user = randomUUID();
    const created = await call(user, 'POST', '/v1/webhooks', { url: `${receiver.url}/d` });
    const id = created.body.id as string;
    secrets = [created.body.secret];
    receiver.answer(() => ({ status: 500, body: 'x'.repeat(5000) }));
    await db.transaction((tx) =>
      recordEvent(tx, { type: 'job.completed', ownerId: user, data: {} }),
    );

    const dead = await waitFor(async () => {
      const page = await call(user, 'GET', `/v1/webhooks/${id}/deliveries?status=dead`);
      return page.body.items[0];
    }, 'a dead delivery');
    const detail = await call(user, 'GET', `/v1/webhooks/${id}/deliveries/${dead.id}`);
    expect(detail.body.attemptLog).toHaveLength(1);
    expect(detail.body.attemptLog[0]).toMatchObject({ attempt: 1, statusCode: 500, ok: false });
    expect(detail.body.attemptLog[0].responseExcerpt).toHaveLength(1024);
    expect(detail.body.attemptLog[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(
      (await call(randomUUID(), 'GET', `/v1/webhooks/${id}/deliveries/${dead.id}`)).status,
    ).toBe(404);
    expect(
      (await call(randomUUID(), 'POST', `/v1/webhooks/${id}/deliveries/${dead.id}/replay`)).status,
    ).toBe(404);

    receiver.answer(() => ({ status: 200 }));
    const replayed = await call(user, 'POST', `/v1/webhooks/${id}/deliveries/${dead.id}/replay`);
    expect(replayed.status).toBe(202);
    expect(replayed.body).toMatchObject({ status: 'pending', replays: 1 });
    await waitFor(async () => {
      const d = await call(user, 'GET', `/v1/webhooks/${id}/deliveries/${dead.id}`);
      return d.body.status === 'delivered';
    }, 'delivered after replay');

    receiver.answer(() => ({ status: 500 }));
    await db.transaction((tx) => recordEvent(tx, { type: 'job.dead', ownerId: user, data: {} }));
    await waitFor(async () => {
      const page = await call(user, 'GET', `/v1/webhooks/${id}/deliveries?status=dead`);
      return page.body.items.length === 1;
    }, 'another dead one');
    receiver.answer(() => ({ status: 200 }));
    const range = await call(user, 'POST', `/v1/webhooks/${id}/replay`, {
      since: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(range).toMatchObject({ status: 202, body: { replayed: 1 } });
    const backwards = await call(user, 'POST', `/v1/webhooks/${id}/replay`, {
      since: new Date().toISOString(),
      until: new Date(Date.now() - 1000).toISOString(),
    });
    expect(backwards.status).toBe(422);
  });

  it('needs credentials', async () => {
    const response = await app.request('/v1/webhooks');
    expect(response.status).toBe(401);
  });
});

describe('/v1/notifications', () => {
  it('lists, marks seen, reads, reads all and archives, only the caller’s', async () => {
    const user = randomUUID();
    for (const [i, title] of ['one', 'two', 'three'].entries()) {
      await db.query(
        `insert into public.notifications (user_id, event_type, title, created_at)
         values ($1, 'job.completed', $2, now() - ($3 || ' seconds')::interval)`,
        [user, title, String(10 - i)],
      );
    }
    await db.query(
      `insert into public.notifications (user_id, event_type, title) values ($1, 'job.completed', 'theirs')`,
      [randomUUID()],
    );

    const first = await call(user, 'GET', '/v1/notifications?limit=2&markSeen=true');
    expect(first.body.items.map((n: { title: string }) => n.title)).toEqual(['three', 'two']);
    expect(first.body.unseenCount).toBe(1);
    const second = await call(user, 'GET', `/v1/notifications?before=${first.body.nextCursor}`);
    expect(second.body.items.map((n: { title: string }) => n.title)).toEqual(['one']);
    expect(second.body.nextCursor).toBeNull();

    const read = await call(user, 'POST', `/v1/notifications/${first.body.items[0].id}/read`);
    expect(read.body).toMatchObject({ status: 'read' });
    expect(read.body.readAt).not.toBeNull();
    const archived = await call(
      user,
      'POST',
      `/v1/notifications/${first.body.items[1].id}/archive`,
    );
    expect(archived.body.status).toBe('archived');
    expect((await call(user, 'GET', '/v1/notifications')).body.items).toHaveLength(2);
    expect((await call(user, 'GET', '/v1/notifications?status=archived')).body.items).toHaveLength(
      1,
    );

    const all = await call(user, 'POST', '/v1/notifications/read-all');
    expect(all.body.updated).toBe(1);
    expect(
      (await call(randomUUID(), 'POST', `/v1/notifications/${first.body.items[0].id}/read`)).status,
    ).toBe(404);
  });

  it('registers and removes push subscriptions', async () => {
    const user = randomUUID();
    const keys = { p256dh: `B${'A'.repeat(86)}`, auth: 'AAAAAAAAAAAAAAAAAAAAAA' };
    const endpoint = 'https://93.184.216.34/push/abc';
    const added = await call(user, 'POST', '/v1/push-subscriptions', { endpoint, keys });
    expect(added.status).toBe(201);
    const again = await call(user, 'POST', '/v1/push-subscriptions', { endpoint, keys });
    expect(again.body.id).toBe(added.body.id);

    const unsafe = await call(user, 'POST', '/v1/push-subscriptions', {
      endpoint: 'https://10.0.0.1/push',
      keys,
    });
    expect(unsafe).toMatchObject({ status: 422, body: { code: 'unsafe_url' } });
    const plain = await call(user, 'POST', '/v1/push-subscriptions', {
      endpoint: 'http://93.184.216.34/push',
      keys,
    });
    expect(plain.status).toBe(422);

    expect(
      (await call(randomUUID(), 'DELETE', `/v1/push-subscriptions/${added.body.id}`)).status,
    ).toBe(404);
    expect((await call(user, 'DELETE', `/v1/push-subscriptions/${added.body.id}`)).status).toBe(
      204,
    );
  });

  it('reads and replaces preferences, with validation', async () => {
    const user = randomUUID();
    const empty = await call(user, 'GET', '/v1/notification-preferences');
    expect(empty.body).toEqual({
      preferences: [],
      settings: {
        email: null,
        phone: null,
        timeZone: 'UTC',
        quietHoursStart: null,
        quietHoursEnd: null,
      },
    });

    const wanted = {
      preferences: [
        { eventType: '*', channel: 'email', enabled: true },
        { eventType: 'job.failed', channel: 'in-app', enabled: false },
      ],
      settings: {
        email: 'eve@example.com',
        phone: '+4915112345678',
        timeZone: 'Europe/Berlin',
        quietHoursStart: '22:00',
        quietHoursEnd: '07:30',
      },
    };
    const saved = await call(user, 'PUT', '/v1/notification-preferences', wanted);
    expect(saved.status).toBe(200);
    expect(saved.body.settings).toEqual(wanted.settings);
    expect(saved.body.preferences).toHaveLength(2);

    const bad = await call(user, 'PUT', '/v1/notification-preferences', {
      ...wanted,
      settings: { ...wanted.settings, timeZone: 'Mars/Olympus', phone: '555' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.settings.phone',
      'body.settings.timeZone',
    ]);
    const half = await call(user, 'PUT', '/v1/notification-preferences', {
      ...wanted,
      settings: { ...wanted.settings, quietHoursEnd: null },
    });
    expect(half.status).toBe(422);
  });
});
