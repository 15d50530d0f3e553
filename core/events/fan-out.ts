import type { Queryable } from '../db/database.ts';
import {
  channelEnabled,
  type NotificationChannel,
  readPreferences,
} from '../notify/preferences.ts';
import { quietHoursRelease } from '../notify/quiet-hours.ts';
import { renderNotification } from '../notify/templates.ts';
import { endpointTakes } from '../webhooks/webhook-endpoints.ts';
import { type Delivery, insertDeliveries, type NewDelivery } from './deliveries.ts';
import { EVENT_TYPES } from './event-types.ts';
import type { DomainEvent } from './record-event.ts';

/** How an event becomes deliveries. */
export interface FanOutOptions {
  /** `NOTIFICATION_SERVICE_ENABLED`: off, only webhooks are delivered. */
  notificationsEnabled: boolean;
  /** `DEFAULT_NOTIFICATION_CHANNEL`: the channel on when a user set no preference. */
  defaultChannel: NotificationChannel;
  /** Attempts per delivery: `WEBHOOK_RETRY_ATTEMPTS` retries plus the first. */
  maxAttempts: number;
  now?: () => Date;
}

/** The body of a webhook: Standard Webhooks' `type`, `timestamp` and `data`. */
export function webhookPayload(event: DomainEvent): Record<string, unknown> {
  return {
    type: event.type,
    timestamp: event.occurredAt.toISOString(),
    data: {
      eventId: event.id,
      ...(event.subject ? { subject: event.subject } : {}),
      ...event.data,
    },
  };
}

/**
 * Turns one event into what its audience gets, in the caller's transaction: a delivery per
 * enabled webhook endpoint of the event's owner that takes its type, and for event types that
 * notify, an in-app row plus email, SMS and push deliveries as the owner's preferences say
 * (critical events bypass opt-outs). Non-critical email, SMS and push deliveries due inside
 * the owner's quiet hours wait for the window's end. Returns the deliveries created.
 */
export async function fanOutEvent(
  tx: Queryable,
  event: DomainEvent,
  options: FanOutOptions,
): Promise<Delivery[]> {
  if (event.ownerId === null) return [];
  const deliveries: NewDelivery[] = [];
  const base = {
    eventId: event.id,
    eventType: event.type,
    ownerId: event.ownerId,
    maxAttempts: options.maxAttempts,
  };

  // 1. Webhooks.
  const endpoints = await tx.query<{ id: string; event_types: string[] }>(
    `select id, event_types from public.webhook_endpoints where owner_id = $1 and enabled`,
    [event.ownerId],
  );
  const body = webhookPayload(event);
  for (const endpoint of endpoints) {
    if (!endpointTakes(endpoint.event_types, event.type)) continue;
    deliveries.push({ ...base, channel: 'webhook', endpointId: endpoint.id, payload: body });
  }

  // 2. Notifications.
  const definition = EVENT_TYPES.get(event.type);
  if (options.notificationsEnabled && (definition?.notifies ?? false)) {
    const { preferences, settings } = await readPreferences(tx, event.ownerId);
    const on = (channel: NotificationChannel) =>
      channelEnabled(preferences, event.type, channel, {
        critical: event.critical,
        defaultChannel: options.defaultChannel,
      });
    const rendered = renderNotification(event);

    if (on('in-app')) {
      await tx.query(
        `insert into public.notifications (user_id, event_id, event_type, title, body, data, critical)
         values ($1, $2, $3, $4, $5, $6::jsonb, $7)
         on conflict (user_id, event_id) do nothing`,
        [
          event.ownerId,
          event.id,
          event.type,
          rendered.title,
          rendered.text,
          event.data,
          event.critical,
        ],
      );
    }

    const now = options.now?.() ?? new Date();
    const release =
      !event.critical && settings.quietHoursStart && settings.quietHoursEnd
        ? quietHoursRelease(now, {
            timeZone: settings.timeZone,
            start: settings.quietHoursStart,
            end: settings.quietHoursEnd,
          })
        : now;
    const deliverAfter = release.getTime() > now.getTime() ? release : null;

    if (on('email') && settings.email) {
      deliveries.push({
        ...base,
        channel: 'email',
        recipient: settings.email,
        payload: { subject: rendered.title, text: rendered.text, html: rendered.html },
        deliverAfter,
      });
    }
    if (on('sms') && settings.phone) {
      deliveries.push({
        ...base,
        channel: 'sms',
        recipient: settings.phone,
        payload: { text: `${rendered.title}: ${rendered.text}` },
        deliverAfter,
      });
    }
    if (on('push')) {
      const subscriptions = await tx.query<{ id: string }>(
        'select id from public.push_subscriptions where user_id = $1',
        [event.ownerId],
      );
      for (const subscription of subscriptions) {
        deliveries.push({
          ...base,
          channel: 'push',
          recipient: subscription.id,
          payload: { title: rendered.title, body: rendered.text, eventType: event.type },
          deliverAfter,
        });
      }
    }
  }

  return await insertDeliveries(tx, deliveries);
}
