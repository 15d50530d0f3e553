import type { Env } from '../config/schema.ts';
import { StartupError } from '../errors.ts';
import type { NotificationChannel } from '../notify/preferences.ts';
import type { ResendOptions } from '../notify/resend-email.ts';
import type { TwilioOptions } from '../notify/twilio-sms.ts';
import type { VapidOptions } from '../notify/web-push-send.ts';
import type { RetrySchedule } from './delivery-transport.ts';

/** Everything the events, notifications and webhooks need, from the environment. */
export interface DeliveryConfig {
  notificationsEnabled: boolean;
  defaultChannel: NotificationChannel;
  /** Retries after the first attempt (`WEBHOOK_RETRY_ATTEMPTS`). */
  retries: number;
  timeoutMs: number;
  schedule: RetrySchedule;
  failureThreshold: number;
  /** Finished deliveries and relayed events older than this many days are deleted. */
  retentionDays: number;
  email: ResendOptions | undefined;
  sms: TwilioOptions | undefined;
  push: VapidOptions | undefined;
  transport:
    | { kind: 'local' }
    | {
        kind: 'qstash';
        baseUrl: string;
        token: string;
        deliveryUrl: string;
        callbackUrl: string;
      };
  /** QStash's signing keys; for the local transport a fresh pair is made when unset. */
  signingKeys: { current: string; next: string } | undefined;
}

/**
 * Reads the delivery settings from the parsed environment. Providers are on when their keys
 * are set; the qstash transport needs its token, signing keys and public URLs, and a missing
 * one stops start-up with a line naming it.
 */
export function deliveryConfigFromEnv(e: Env): DeliveryConfig {
  const missing = (name: string, why: string) =>
    new StartupError(`Kai cannot start: ${name} is unset; ${why}.`);

  const email =
    e.EMAIL_API_KEY !== undefined && (e.EMAIL_PROVIDER ?? 'resend') === 'resend'
      ? { apiKey: e.EMAIL_API_KEY, from: e.EMAIL_FROM, baseUrl: e.EMAIL_API_URL }
      : undefined;

  let sms: TwilioOptions | undefined;
  if (e.SMS_API_KEY !== undefined) {
    if (!e.SMS_ACCOUNT_SID) throw missing('SMS_ACCOUNT_SID', 'Twilio needs the account SID');
    if (!e.SMS_FROM) throw missing('SMS_FROM', 'Twilio needs the sending number');
    sms = {
      accountSid: e.SMS_ACCOUNT_SID,
      authToken: e.SMS_API_KEY,
      from: e.SMS_FROM,
      baseUrl: e.SMS_API_URL,
    };
  }

  const push =
    e.VAPID_PUBLIC_KEY && e.VAPID_PRIVATE_KEY
      ? { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY, subject: e.VAPID_SUBJECT }
      : undefined;

  const signingKeys =
    e.QSTASH_CURRENT_SIGNING_KEY && e.QSTASH_NEXT_SIGNING_KEY
      ? { current: e.QSTASH_CURRENT_SIGNING_KEY, next: e.QSTASH_NEXT_SIGNING_KEY }
      : undefined;

  let transport: DeliveryConfig['transport'] = { kind: 'local' };
  if (e.DELIVERY_TRANSPORT === 'qstash') {
    const why = 'the qstash transport needs it';
    if (!e.QSTASH_TOKEN) throw missing('QSTASH_TOKEN', why);
    if (!signingKeys) throw missing('QSTASH_CURRENT_SIGNING_KEY or QSTASH_NEXT_SIGNING_KEY', why);
    if (!e.DELIVERY_ENDPOINT_URL) throw missing('DELIVERY_ENDPOINT_URL', why);
    if (!e.DELIVERY_CALLBACK_URL) throw missing('DELIVERY_CALLBACK_URL', why);
    transport = {
      kind: 'qstash',
      baseUrl: e.QSTASH_URL,
      token: e.QSTASH_TOKEN,
      deliveryUrl: e.DELIVERY_ENDPOINT_URL,
      callbackUrl: e.DELIVERY_CALLBACK_URL,
    };
  }

  return {
    notificationsEnabled: e.NOTIFICATION_SERVICE_ENABLED,
    defaultChannel: e.DEFAULT_NOTIFICATION_CHANNEL,
    retries: e.WEBHOOK_RETRY_ATTEMPTS,
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    schedule: { baseMs: e.WEBHOOK_RETRY_BASE_MS, maxMs: e.WEBHOOK_RETRY_MAX_MS },
    failureThreshold: e.WEBHOOK_FAILURE_THRESHOLD,
    retentionDays: e.DELIVERY_RETENTION_DAYS,
    email,
    sms,
    push,
    transport,
    signingKeys,
  };
}
