import { createRoute, z } from '@hono/zod-openapi';
import { callerOf } from '../../auth/authenticate.ts';
import { asCaller } from '../../auth/user-scope.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { createOutboundGuard } from '../../net/outbound-guard.ts';
import { listInbox, markAllRead, setInboxStatus } from '../../notify/inbox.ts';
import {
  NOTIFICATION_CHANNELS,
  readPreferences,
  writePreferences,
} from '../../notify/preferences.ts';
import { isTimeZone } from '../../notify/quiet-hours.ts';
import type { ApiDeps } from '../app-env.ts';
import { AUTH_PROBLEMS, BEARER_SECURITY, createRouter, IdParam, problem } from '../openapi.ts';

const STATUSES = ['unseen', 'seen', 'read', 'archived'] as const;

const NotificationSchema = z
  .object({
    id: z.uuid(),
    eventId: z.uuid().nullable(),
    eventType: z.string(),
    title: z.string(),
    body: z.string(),
    data: z.unknown(),
    status: z.enum(STATUSES),
    critical: z.boolean(),
    createdAt: z.string(),
    seenAt: z.string().nullable(),
    readAt: z.string().nullable(),
    archivedAt: z.string().nullable(),
  })
  .openapi('Notification');

const ListQuery = z.object({
  status: z
    .enum(STATUSES)
    .optional()
    .openapi({ description: 'Only this state; default: all but archived' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.uuid().optional().openapi({ description: 'Cursor: `nextCursor` of the previous page' }),
  markSeen: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .openapi({ description: 'Mark the unseen notifications returned as seen' }),
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expects HH:MM' });

const PreferencesSchema = z
  .strictObject({
    preferences: z
      .array(
        z.strictObject({
          eventType: z.string().regex(/^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/, {
            error: 'expects an event type such as job.completed, or *',
          }),
          channel: z.enum(NOTIFICATION_CHANNELS),
          enabled: z.boolean(),
        }),
      )
      .max(500),
    settings: z.strictObject({
      email: z.email().max(320).nullable(),
      phone: z
        .string()
        .regex(/^\+[1-9]\d{6,14}$/, { error: 'expects an E.164 number such as +15551234567' })
        .nullable(),
      timeZone: z.string().max(64).refine(isTimeZone, { error: 'expects an IANA time zone' }),
      quietHoursStart: hhmm.nullable(),
      quietHoursEnd: hhmm.nullable(),
    }),
  })
  .openapi('NotificationPreferences');

const listRoute = createRoute({
  method: 'get',
  path: '/v1/notifications',
  tags: ['notifications'],
  summary: 'Your in-app notifications, newest first',
  security: BEARER_SECURITY,
  request: { query: ListQuery },
  responses: {
    200: {
      description: 'A page of notifications and the number unseen',
      content: {
        'application/json': {
          schema: z.object({
            items: z.array(NotificationSchema),
            unseenCount: z.number().int(),
            nextCursor: z.uuid().nullable(),
          }),
        },
      },
    },
    ...AUTH_PROBLEMS,
  },
});

const statusRoute = (action: 'read' | 'archive') =>
  createRoute({
    method: 'post',
    path: `/v1/notifications/{id}/${action}`,
    tags: ['notifications'],
    summary: action === 'read' ? 'Mark a notification read' : 'Archive a notification',
    security: BEARER_SECURITY,
    request: { params: IdParam },
    responses: {
      200: {
        description: 'The notification',
        content: { 'application/json': { schema: NotificationSchema } },
      },
      ...AUTH_PROBLEMS,
      404: problem('No such notification of yours.'),
    },
  });

const readAllRoute = createRoute({
  method: 'post',
  path: '/v1/notifications/read-all',
  tags: ['notifications'],
  summary: 'Mark every unseen or seen notification read',
  security: BEARER_SECURITY,
  responses: {
    200: {
      description: 'How many were marked',
      content: { 'application/json': { schema: z.object({ updated: z.number().int() }) } },
    },
    ...AUTH_PROBLEMS,
  },
});

const getPreferencesRoute = createRoute({
  method: 'get',
  path: '/v1/notification-preferences',
  tags: ['notifications'],
  summary: 'Your notification preferences, contact settings and quiet hours',
  security: BEARER_SECURITY,
  responses: {
    200: {
      description: 'The preferences',
      content: { 'application/json': { schema: PreferencesSchema } },
    },
    ...AUTH_PROBLEMS,
  },
});

const putPreferencesRoute = createRoute({
  method: 'put',
  path: '/v1/notification-preferences',
  tags: ['notifications'],
  summary: 'Replace your notification preferences and settings',
  description:
    'Each preference turns a channel on or off for an event type (`*` for all). Without one, ' +
    'only the default channel (`DEFAULT_NOTIFICATION_CHANNEL`) is on. Critical events ' +
    '(`job.dead`, `webhook.endpoint.disabled`) reach every channel you have a contact for, and ' +
    'quiet hours (local time in `timeZone`) hold other emails, SMS and pushes until they end.',
  security: BEARER_SECURITY,
  request: {
    body: { required: true, content: { 'application/json': { schema: PreferencesSchema } } },
  },
  responses: {
    200: {
      description: 'The preferences',
      content: { 'application/json': { schema: PreferencesSchema } },
    },
    ...AUTH_PROBLEMS,
    422: problem('Invalid preferences.'),
  },
});

const PushSubscriptionBody = z
  .strictObject({
    endpoint: z
      .url({ protocol: /^https$/, error: 'expects the https endpoint of a push service' })
      .max(2048),
    keys: z.strictObject({
      p256dh: z
        .string()
        .regex(/^[A-Za-z0-9_-]{80,100}$/, { error: 'expects a base64url P-256 key' }),
      auth: z.string().regex(/^[A-Za-z0-9_-]{16,32}$/, { error: 'expects a base64url secret' }),
    }),
  })
  .openapi('PushSubscription');

const PushSubscriptionSchema = z
  .object({ id: z.uuid(), endpoint: z.string(), createdAt: z.string() })
  .openapi('StoredPushSubscription');

const addPushRoute = createRoute({
  method: 'post',
  path: '/v1/push-subscriptions',
  tags: ['notifications'],
  summary: 'Register a browser push subscription (PushManager.subscribe) for web push',
  security: BEARER_SECURITY,
  request: {
    body: { required: true, content: { 'application/json': { schema: PushSubscriptionBody } } },
  },
  responses: {
    201: {
      description: 'The subscription',
      content: { 'application/json': { schema: PushSubscriptionSchema } },
    },
    ...AUTH_PROBLEMS,
    422: problem('Invalid subscription, or an endpoint Kai will not call (`unsafe_url`).'),
  },
});

const deletePushRoute = createRoute({
  method: 'delete',
  path: '/v1/push-subscriptions/{id}',
  tags: ['notifications'],
  summary: 'Remove a push subscription',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: {
    204: { description: 'Removed' },
    ...AUTH_PROBLEMS,
    404: problem('No such subscription of yours.'),
  },
});

/** The in-app inbox and notification preferences, each run as the caller under RLS. */
export function notificationsRoutes(deps: ApiDeps) {
  const router = createRouter();

  router.openapi(listRoute, async (c) => {
    const auth = callerOf(c, {
      scope: c.req.valid('query').markSeen ? 'notifications:write' : 'notifications:read',
    });
    const query = c.req.valid('query');
    const page = await asCaller(deps.db, auth, (tx) => listInbox(tx, query));
    return c.json(page, 200);
  });

  router.openapi(readAllRoute, async (c) => {
    const auth = callerOf(c, { scope: 'notifications:write' });
    const updated = await asCaller(deps.db, auth, (tx) => markAllRead(tx));
    return c.json({ updated }, 200);
  });

  router.openapi(statusRoute('read'), async (c) => {
    const auth = callerOf(c, { scope: 'notifications:write' });
    const { id } = c.req.valid('param');
    return c.json(await asCaller(deps.db, auth, (tx) => setInboxStatus(tx, id, 'read')), 200);
  });

  router.openapi(statusRoute('archive'), async (c) => {
    const auth = callerOf(c, { scope: 'notifications:write' });
    const { id } = c.req.valid('param');
    return c.json(await asCaller(deps.db, auth, (tx) => setInboxStatus(tx, id, 'archived')), 200);
  });

  router.openapi(getPreferencesRoute, async (c) => {
    const auth = callerOf(c, { scope: 'notifications:read' });
    return c.json(await asCaller(deps.db, auth, (tx) => readPreferences(tx, auth.subject)), 200);
  });

  router.openapi(putPreferencesRoute, async (c) => {
    const auth = callerOf(c, { scope: 'notifications:write' });
    const input = c.req.valid('json');
    const { quietHoursStart, quietHoursEnd } = input.settings;
    if ((quietHoursStart === null) !== (quietHoursEnd === null)) {
      throw new ValidationError('Quiet hours need both a start and an end, or neither.', [
        {
          path: 'body.settings.quietHoursEnd',
          message: 'set both quietHoursStart and quietHoursEnd',
        },
      ]);
    }
    const keys = input.preferences.map((p) => `${p.eventType}\u0000${p.channel}`);
    if (new Set(keys).size !== keys.length) {
      throw new ValidationError('A preference is given twice for one event type and channel.', [
        { path: 'body.preferences', message: 'one entry per eventType and channel' },
      ]);
    }
    const saved = await asCaller(deps.db, auth, (tx) => writePreferences(tx, auth.subject, input));
    return c.json(saved, 200);
  });

  const guard = createOutboundGuard();

  router.openapi(addPushRoute, async (c) => {
    const auth = callerOf(c, { scope: 'notifications:write' });
    const body = c.req.valid('json');
    await guard.checkUrl(body.endpoint);
    const [row] = await asCaller(deps.db, auth, (tx) =>
      tx.query<{ id: string; endpoint: string; created_at: Date | string }>(
        `insert into public.push_subscriptions (user_id, endpoint, p256dh, auth)
         values ($1, $2, $3, $4)
         on conflict (user_id, endpoint) do update set p256dh = excluded.p256dh, auth = excluded.auth
         returning id, endpoint, created_at`,
        [auth.subject, body.endpoint, body.keys.p256dh, body.keys.auth],
      ),
    );
    if (!row) throw new Error('The push subscription insert returned no row.');
    return c.json(
      { id: row.id, endpoint: row.endpoint, createdAt: new Date(row.created_at).toISOString() },
      201,
    );
  });

  router.openapi(deletePushRoute, async (c) => {
    const auth = callerOf(c, { scope: 'notifications:write' });
    const { id } = c.req.valid('param');
    const rows = await asCaller(deps.db, auth, (tx) =>
      tx.query('delete from public.push_subscriptions where id = $1 returning id', [id]),
    );
    if (rows.length === 0) throw new NotFoundError(`There is no push subscription ${id}.`);
    return c.body(null, 204);
  });

  return router;
}
