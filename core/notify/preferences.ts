import type { Queryable } from '../db/database.ts';

/** The channels a user can be reached on. */
export const NOTIFICATION_CHANNELS = ['in-app', 'email', 'sms', 'push'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** One preference: a channel on or off for an event type (`*` for every type). */
export interface NotificationPreference {
  eventType: string;
  channel: NotificationChannel;
  enabled: boolean;
}

/** Where and when a user is reached. */
export interface NotificationSettings {
  email: string | null;
  phone: string | null;
  timeZone: string;
  /** `HH:MM`, or null for no quiet hours. */
  quietHoursStart: string | null;
  quietHoursEnd: string | null;
}

/** A user's preferences and settings together, as `GET /v1/notification-preferences` shows. */
export interface UserNotificationPreferences {
  preferences: NotificationPreference[];
  settings: NotificationSettings;
}

const DEFAULT_SETTINGS: NotificationSettings = {
  email: null,
  phone: null,
  timeZone: 'UTC',
  quietHoursStart: null,
  quietHoursEnd: null,
};

const hhmm = (value: string | null) => (value === null ? null : value.slice(0, 5));

/** Reads a user's preferences and settings (as the caller, under RLS, or as the service). */
export async function readPreferences(
  db: Queryable,
  userId: string,
): Promise<UserNotificationPreferences> {
  const preferences = await db.query<{
    event_type: string;
    channel: NotificationChannel;
    enabled: boolean;
  }>(
    `select event_type, channel, enabled from public.notification_preferences
     where user_id = $1 order by event_type, channel`,
    [userId],
  );
  const [settings] = await db.query<{
    email: string | null;
    phone: string | null;
    time_zone: string;
    quiet_hours_start: string | null;
    quiet_hours_end: string | null;
  }>(
    `select email, phone, time_zone, quiet_hours_start::text, quiet_hours_end::text
     from public.notification_settings where user_id = $1`,
    [userId],
  );

  return {
    preferences: preferences.map((p) => ({
      eventType: p.event_type,
      channel: p.channel,
      enabled: p.enabled,
    })),
    settings: settings
      ? {
          email: settings.email,
          phone: settings.phone,
          timeZone: settings.time_zone,
          quietHoursStart: hhmm(settings.quiet_hours_start),
          quietHoursEnd: hhmm(settings.quiet_hours_end),
        }
      : { ...DEFAULT_SETTINGS },
  };
}

/**
 * Replaces a user's preferences and settings with those given, in the caller's transaction
 * (the API runs it as the user, so RLS keeps it to their own rows).
 */
export async function writePreferences(
  tx: Queryable,
  userId: string,
  input: UserNotificationPreferences,
): Promise<UserNotificationPreferences> {
  await tx.query('delete from public.notification_preferences where user_id = $1', [userId]);
  if (input.preferences.length > 0) {
    await tx.query(
      `insert into public.notification_preferences (user_id, event_type, channel, enabled)
       select $1, p.event_type, p.channel, p.enabled
       from jsonb_to_recordset($2::jsonb) as p(event_type text, channel text, enabled boolean)`,
      [
        userId,
        input.preferences.map((p) => ({
          event_type: p.eventType,
          channel: p.channel,
          enabled: p.enabled,
        })),
      ],
    );
  }

  const s = input.settings;
  await tx.query(
    `insert into public.notification_settings (
       user_id, email, phone, time_zone, quiet_hours_start, quiet_hours_end
     ) values ($1, $2, $3, $4, $5::time, $6::time)
     on conflict (user_id) do update set email = excluded.email, phone = excluded.phone,
       time_zone = excluded.time_zone, quiet_hours_start = excluded.quiet_hours_start,
       quiet_hours_end = excluded.quiet_hours_end, updated_at = now()`,
    [userId, s.email, s.phone, s.timeZone, s.quietHoursStart, s.quietHoursEnd],
  );
  return await readPreferences(tx, userId);
}

/**
 * Whether `channel` is on for `eventType`: the type's own preference, else the user's `*`
 * preference, else on only for the default channel (`DEFAULT_NOTIFICATION_CHANNEL`). Critical
 * events bypass opt-outs: every channel is on.
 */
export function channelEnabled(
  preferences: readonly NotificationPreference[],
  eventType: string,
  channel: NotificationChannel,
  options: { critical: boolean; defaultChannel: NotificationChannel },
): boolean {
  if (options.critical) return true;
  const own = preferences.find((p) => p.eventType === eventType && p.channel === channel);
  if (own) return own.enabled;
  const all = preferences.find((p) => p.eventType === '*' && p.channel === channel);
  if (all) return all.enabled;
  return channel === options.defaultChannel;
}
