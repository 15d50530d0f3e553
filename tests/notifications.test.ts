import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import webPush from 'web-push';
import type { Database } from '../core/db/database.ts';
import { type ComposedDelivery, composeDelivery } from '../core/events/compose-delivery.ts';
import type { DeliveryConfig } from '../core/events/delivery-config.ts';
import { recordEvent } from '../core/events/record-event.ts';
import { channelEnabled } from '../core/notify/preferences.ts';
import { quietHoursRelease } from '../core/notify/quiet-hours.ts';
import { type FakePushService, startFakePushService } from './helpers/fake-push-service.ts';
import { type FakeResend, startFakeResend } from './helpers/fake-resend.ts';
import { type FakeTwilio, startFakeTwilio } from './helpers/fake-twilio.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { testDeliveryConfig, testLogger, waitFor } from './webhook-support.ts';

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token';
const vapid = webPush.generateVAPIDKeys();

let testDb: TestDatabase;
let db: Database;
let resend: FakeResend;
let twilio: FakeTwilio;
let push: FakePushService;
let composed: ComposedDelivery | undefined;
let stop: AbortController;

async function start(over: Partial<DeliveryConfig> = {}) {
  composed = composeDelivery({
    db,
    logger: testLogger,
    config: testDeliveryConfig({
      email: { apiKey: 're_key', from: 'Kai <kai@example.com>', baseUrl: resend.url },
      sms: { accountSid: SID, authToken: TOKEN, from: '+15005550006', baseUrl: twilio.url },
      push: {
        publicKey: vapid.publicKey,
        privateKey: vapid.privateKey,
        subject: 'mailto:ops@example.com',
      },
      ...over,
    }),
    outbound: { allow: ['127.0.0.1'] },
    local: { pollIntervalMs: 50 },
    relayPollIntervalMs: 100,
  });
  stop = new AbortController();
  await composed.start(stop.signal);
}

async function user(settings: Record<string, unknown>, preferences: [string, string, boolean][]) {
  const id = randomUUID();
  await db.query(
    `insert into public.notification_settings (user_id, email, phone, time_zone,
       quiet_hours_start, quiet_hours_end)
     values ($1, $2, $3, coalesce($4, 'UTC'), $5::time, $6::time)`,
    [
      id,
      settings.email ?? null,
      settings.phone ?? null,
      settings.timeZone ?? null,
      settings.quietStart ?? null,
      settings.quietEnd ?? null,
    ],
  );
  for (const [eventType, channel, enabled] of preferences) {
    await db.query(
      `insert into public.notification_preferences (user_id, event_type, channel, enabled)
       values ($1, $2, $3, $4)`,
      [id, eventType, channel, enabled],
    );
  }
  return id;
}

const emit = (ownerId: string, type: string, data: Record<string, unknown> = {}) =>
  db.transaction((tx) => recordEvent(tx, { type, ownerId, data }));

const deliveries = (ownerId: string) =>
  db.query<{ channel: string; status: string; deliver_after: Date | null; recipient: string }>(
    'select * from public.deliveries where owner_id = $1 order by channel',
    [ownerId],
  );

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  resend = await startFakeResend('re_key');
  twilio = await startFakeTwilio(SID, TOKEN);
  push = await startFakePushService(vapid.publicKey);
});

afterEach(async () => {
  stop?.abort();
  await composed?.drain();
  composed = undefined;
});

afterAll(async () => {
  await Promise.all([resend.close(), twilio.close(), push.close()]);
  await testDb.drop();
});

describe('channels', () => {
  it('sends SMS through Twilio and web push with VAPID, as preferences say', async () => {
    const owner = await user({ phone: '+15551234567' }, [
      ['*', 'sms', true],
      ['study.completed', 'push', true],
    ]);
    const subscription = push.subscribe();
    await db.query(
      `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) values ($1, $2, $3, $4)`,
      [owner, subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth],
    );
    await start();

    await emit(owner, 'study.completed', { name: 'grout-width' });

    const sms = await waitFor(() => twilio.messages[0], 'the SMS');
    expect(sms).toMatchObject({ to: '+15551234567', from: '+15005550006' });
    expect(sms.body).toContain('grout-width');
    const received = await waitFor(() => push.pushes[0], 'the push');
    expect(JSON.parse(received.payload)).toMatchObject({
      title: 'Study completed',
      eventType: 'study.completed',
    });
    expect(received.vapidSubject).toBe('mailto:ops@example.com');
    expect(received.ttl).toBe('86400');
    // in-app is the default channel; email has no preference and is not the default.
    const [row] = await db.query('select * from public.notifications where user_id = $1', [owner]);
    expect(row).toMatchObject({ event_type: 'study.completed', title: 'Study completed' });
    expect(resend.emails).toHaveLength(0);
  });

  it('an expired push subscription is removed', async () => {
    const owner = await user({}, [['*', 'push', true]]);
    const subscription = push.subscribe();
    push.expire(subscription.endpoint);
    await db.query(
      `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) values ($1, $2, $3, $4)`,
      [owner, subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth],
    );
    await start();
    await emit(owner, 'study.completed');
    await waitFor(async () => (await deliveries(owner))[0]?.status === 'dead', 'dead push');
    const left = await db.query('select * from public.push_subscriptions where user_id = $1', [
      owner,
    ]);
    expect(left).toHaveLength(0);
  });

  it('opt-outs are honoured, and critical events bypass them', async () => {
    const owner = await user({ email: 'bo@example.com' }, [
      ['*', 'in-app', false],
      ['*', 'email', false],
    ]);
    await start();

    await emit(owner, 'study.completed');
    await emit(owner, 'job.dead', {
      jobId: 'j9',
      type: 'ocr.extract',
      attempts: 3,
      error: { message: 'bad scan' },
    });

    const email = await waitFor(
      () => resend.emails.find((e) => e.to[0] === 'bo@example.com'),
      'the critical email',
    );
    expect(email.subject).toBe('Job ocr.extract failed');
    expect(email.text).toContain('bad scan');
    const rows = await db.query<{ event_type: string; critical: boolean }>(
      'select event_type, critical from public.notifications where user_id = $1',
      [owner],
    );
    expect(rows).toEqual([{ event_type: 'job.dead', critical: true }]);
  });

  it('NOTIFICATION_SERVICE_ENABLED=false notifies no one', async () => {
    const owner = await user({ email: 'cy@example.com' }, [['*', 'email', true]]);
    await start({ notificationsEnabled: false });
    await emit(owner, 'study.completed');
    await waitFor(async () => {
      const [event] = await db.query<{ relayed_at: Date | null }>(
        'select relayed_at from kai.events where owner_id = $1',
        [owner],
      );
      return event?.relayed_at ?? undefined;
    }, 'the event relayed');
    expect(await deliveries(owner)).toHaveLength(0);
    expect(
      await db.query('select 1 from public.notifications where user_id = $1', [owner]),
    ).toHaveLength(0);
  });
});

describe('quiet hours', () => {
  it('defer non-critical email to the end of the window; critical goes at once', async () => {
    // A window around the current time in Tokyo, whatever the time is.
    const tokyoHour = Number(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Asia/Tokyo',
        hour: '2-digit',
        hourCycle: 'h23',
      }).format(new Date()),
    );
    const pad = (h: number) => `${String((h + 24) % 24).padStart(2, '0')}:00`;
    const owner = await user(
      {
        email: 'di@example.com',
        timeZone: 'Asia/Tokyo',
        quietStart: pad(tokyoHour - 1),
        quietEnd: pad(tokyoHour + 2),
      },
      [['*', 'email', true]],
    );
    await start();

    await emit(owner, 'study.completed');
    await emit(owner, 'job.dead', { type: 'x' });

    const critical = await waitFor(
      () => resend.emails.find((e) => e.to[0] === 'di@example.com'),
      'critical email',
    );
    expect(critical.subject).toContain('failed');
    const rows = await waitFor(async () => {
      const all = await db.query<{
        event_type: string;
        status: string;
        deliver_after: Date | null;
      }>('select event_type, status, deliver_after from public.deliveries where owner_id = $1', [
        owner,
      ]);
      return all.length === 2 ? all : undefined;
    }, 'both deliveries');
    const deferred = rows.find((r) => r.event_type === 'study.completed');
    expect(deferred?.status).toBe('pending');
    const releaseMs = new Date(deferred?.deliver_after as Date).getTime() - Date.now();
    expect(releaseMs).toBeGreaterThan(60 * 60_000);
    expect(releaseMs).toBeLessThanOrEqual(2 * 60 * 60_000);
    expect(resend.emails.filter((e) => e.to[0] === 'di@example.com')).toHaveLength(1);
  });

  it.each([
    // 23:30 in New York (UTC-5 in January) is inside 22:00-07:00: released at 07:00 local.
    ['2026-01-15T04:30:00Z', 'America/New_York', '22:00', '07:00', '2026-01-15T12:00:00.000Z'],
    // 12:00 local is outside the window.
    ['2026-01-15T17:00:00Z', 'America/New_York', '22:00', '07:00', '2026-01-15T17:00:00.000Z'],
    // A window that does not wrap midnight: 13:00-14:00 in Berlin (UTC+1), now 13:20 local.
    ['2026-01-15T12:20:00Z', 'Europe/Berlin', '13:00', '14:00', '2026-01-15T13:00:00.000Z'],
    // Across the spring-forward night (8 March 2026 in New York): 01:00 EST to 07:00 EDT.
    ['2026-03-08T06:00:00Z', 'America/New_York', '22:00', '07:00', '2026-03-08T11:00:00.000Z'],
    // Start equal to end is no window at all.
    ['2026-01-15T04:30:00Z', 'UTC', '04:00', '04:00', '2026-01-15T04:30:00.000Z'],
  ])('at %s in %s, %s-%s releases at %s', (now, timeZone, start, end, expected) => {
    expect(quietHoursRelease(new Date(now), { timeZone, start, end }).toISOString()).toBe(expected);
  });
});

describe('preference resolution', () => {
  const prefs = [
    { eventType: '*', channel: 'email' as const, enabled: true },
    { eventType: 'job.completed', channel: 'email' as const, enabled: false },
  ];
  const options = { critical: false, defaultChannel: 'in-app' as const };

  it('takes the type, then *, then the default channel', () => {
    expect(channelEnabled(prefs, 'job.completed', 'email', options)).toBe(false);
    expect(channelEnabled(prefs, 'study.completed', 'email', options)).toBe(true);
    expect(channelEnabled(prefs, 'study.completed', 'in-app', options)).toBe(true);
    expect(channelEnabled(prefs, 'study.completed', 'sms', options)).toBe(false);
    expect(channelEnabled(prefs, 'job.completed', 'email', { ...options, critical: true })).toBe(
      true,
    );
  });
});
