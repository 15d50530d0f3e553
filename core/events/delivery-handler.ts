import type { Database, Queryable } from '../db/database.ts';
import type { Logger } from '../logging/logger.ts';
import type { GuardedHttpClient } from '../net/guarded-http.ts';
import { type ResendOptions, sendResendEmail } from '../notify/resend-email.ts';
import { sendTwilioSms, type TwilioOptions } from '../notify/twilio-sms.ts';
import { sendWebPush, type VapidOptions } from '../notify/web-push-send.ts';
import { sendWebhook } from '../webhooks/send-webhook.ts';
import {
  disableEndpoint,
  type EndpointRow,
  endpointFromRow,
} from '../webhooks/webhook-endpoints.ts';
import {
  type Delivery,
  type DeliveryRow,
  deliveryFromRow,
  excerpt,
  recordAttempt,
} from './deliveries.ts';
import { createDeliveryStatements } from './delivery-statements.ts';
import {
  type DeliveryMessage,
  type DeliveryTransport,
  flowControlKeyOf,
  type RetrySchedule,
  retryDelayMs,
} from './delivery-transport.ts';
import type { SendResult } from './send-result.ts';

/** The channels' providers; a channel without one fails its deliveries with a clear error. */
export interface ChannelProviders {
  email?: ResendOptions | undefined;
  sms?: TwilioOptions | undefined;
  push?: VapidOptions | undefined;
}

/** What the delivery handler needs. */
export interface DeliveryHandlerOptions {
  db: Database;
  logger: Logger;
  http: GuardedHttpClient;
  transport: DeliveryTransport;
  schedule: RetrySchedule;
  /** Consecutive failed attempts after which a webhook endpoint is disabled. */
  failureThreshold: number;
  providers: ChannelProviders;
}

/**
 * The handler's answer to the transport: 200 ends the message (delivered, dead, rescheduled or
 * nothing to do); 503 asks the transport to retry it on its schedule.
 */
export interface HandlerAnswer {
  status: 200 | 503;
  outcome: 'delivered' | 'dead' | 'rescheduled' | 'skipped' | 'retry';
  deliveryId: string;
  attempt?: number;
  /** When the transport's schedule brings the next try, for the record. */
  nextAttemptInMs?: number;
  error?: string;
}

/** The delivery handler both transports call, through the delivery endpoint. */
export interface DeliveryHandler {
  /**
   * Makes one attempt of the message's delivery and records it. `retried` is the transport's
   * count of earlier tries of this message (QStash's `Upstash-Retried`).
   */
  handle(message: DeliveryMessage, retried: number, signal?: AbortSignal): Promise<HandlerAnswer>;
  /** The transport gave up on a message (failure callback): its delivery becomes dead. */
  giveUp(message: DeliveryMessage, reason: string): Promise<void>;
}

/**
 * Creates the handler: it claims the delivery (a delivered, dead or cancelled one is skipped,
 * so a duplicate message does nothing), sends it on its channel, records the attempt with its
 * status, duration and response excerpt, and settles it. Webhooks: success resets the
 * endpoint's failure count; 410 disables the endpoint; failures past the threshold disable it
 * and notify its owner. A `Retry-After` becomes a new message delayed by it; retries exhausted
 * make the delivery a dead letter, replayable later.
 */
export function createDeliveryHandler(options: DeliveryHandlerOptions): DeliveryHandler {
  const { db, http, transport, schedule } = options;

  // Concurrent attempts share their claim and their success statements.
  const statements = createDeliveryStatements(db);

  const send = async (
    delivery: Delivery,
    row: EndpointRow | null,
    tx: Queryable,
    signal?: AbortSignal,
  ) => {
    switch (delivery.channel) {
      case 'webhook': {
        if (!row) return { skip: 'The endpoint was deleted.' } as const;
        const endpoint = endpointFromRow(row);
        if (!endpoint.enabled)
          return { dead: `The endpoint is disabled: ${endpoint.disabledReason}` };
        return { result: await sendWebhook(http, endpoint, delivery, signal) };
      }
      case 'email':
        if (!options.providers.email) return { dead: 'No email provider is configured.' };
        return { result: await sendResendEmail(http, options.providers.email, delivery, signal) };
      case 'sms':
        if (!options.providers.sms) return { dead: 'No SMS provider is configured.' };
        return { result: await sendTwilioSms(http, options.providers.sms, delivery, signal) };
      case 'push': {
        if (!options.providers.push) return { dead: 'No VAPID keys are configured.' };
        const [sub] = await tx.query<{ endpoint: string; p256dh: string; auth: string }>(
          'select endpoint, p256dh, auth from public.push_subscriptions where id = $1',
          [delivery.recipient],
        );
        if (!sub) return { skip: 'The push subscription was removed.' } as const;
        const subscription = {
          endpoint: sub.endpoint,
          keys: { p256dh: sub.p256dh, auth: sub.auth },
        };
        return {
          result: await sendWebPush(http, options.providers.push, subscription, delivery, signal),
        };
      }
    }
  };

  const markDead = (tx: Queryable, id: string, error: string, statusCode: number | null = null) =>
    tx.query(
      `update public.deliveries set status = 'dead', dead_at = now(), next_attempt_at = null,
         last_error = $2, last_status_code = coalesce($3, last_status_code)
       where id = $1 and status not in ('delivered', 'cancelled')`,
      [id, excerpt(error, 2000), statusCode],
    );

  // A failure callback of an older round (before a replay) leaves the replay alone.
  const giveUp = async (message: DeliveryMessage, reason: string) => {
    const rows = await db.query(
      `update public.deliveries set status = 'dead', dead_at = now(), next_attempt_at = null,
         last_error = coalesce(last_error, $3)
       where id = $1 and replays = $2 and status not in ('delivered', 'cancelled', 'dead')
       returning id`,
      [message.deliveryId, message.replay, excerpt(reason, 2000)],
    );
    if (rows.length > 0) {
      options.logger.warn({ deliveryId: message.deliveryId, reason }, 'delivery is a dead letter');
    }
  };

  const handle = async (
    message: DeliveryMessage,
    retried: number,
    signal?: AbortSignal,
  ): Promise<HandlerAnswer> => {
    const logger = options.logger.child({ deliveryId: message.deliveryId });
    const tried = message.retriedBefore + retried;

    // 1. Claim. A delivery held back (quiet hours, Retry-After) is republished for later.
    const row = await statements.claim(message);
    if (!row) {
      const [held] = await db.query<DeliveryRow>(
        `select * from public.deliveries where id = $1 and status in ('pending', 'retrying')
           and replays = $2 and deliver_after > now()`,
        [message.deliveryId, message.replay],
      );
      if (held) {
        const waitMs = new Date(held.deliver_after as string).getTime() - Date.now();
        await transport.publish([
          {
            message,
            retries: Math.max(0, held.max_attempts - 1 - message.retriedBefore),
            deduplicationId: `${held.id}:${held.replays}:after:${new Date(held.deliver_after as string).getTime()}`,
            flowControlKey: flowControlKeyOf({
              channel: held.channel,
              endpointId: held.endpoint_id,
            }),
            delayMs: Math.max(0, waitMs),
          },
        ]);
        return { status: 200, outcome: 'rescheduled', deliveryId: message.deliveryId };
      }
      return { status: 200, outcome: 'skipped', deliveryId: message.deliveryId };
    }
    const delivery = deliveryFromRow(row);
    const startedAt = new Date();

    // 2. Send.
    const sent = await send(delivery, row.endpoint, db, signal);
    if ('skip' in sent) {
      await db.query(
        `update public.deliveries set status = 'cancelled', last_error = $2 where id = $1`,
        [delivery.id, sent.skip],
      );
      return { status: 200, outcome: 'skipped', deliveryId: delivery.id };
    }
    if ('dead' in sent) {
      await markDead(db, delivery.id, sent.dead as string);
      return { status: 200, outcome: 'dead', deliveryId: delivery.id, error: sent.dead as string };
    }
    const result: SendResult = sent.result;

    const base = { deliveryId: delivery.id, attempt: delivery.attempts };

    // 3. Success: recorded and settled in one statement.
    if (result.ok) {
      await statements.settleDelivered({
        id: delivery.id,
        owner_id: delivery.ownerId,
        attempt: delivery.attempts,
        started_at: startedAt.toISOString(),
        duration_ms: Math.max(0, Math.round(result.durationMs)),
        status_code: result.statusCode,
        response_excerpt: excerpt(result.responseExcerpt),
      });
      logger.info({ channel: delivery.channel, durationMs: result.durationMs }, 'delivered');
      return { status: 200, outcome: 'delivered', ...base };
    }

    // 4. Failure: recorded and settled in one transaction.
    return await db.transaction(async (tx) => {
      await recordAttempt(tx, {
        deliveryId: delivery.id,
        ownerId: delivery.ownerId,
        attempt: delivery.attempts,
        startedAt,
        durationMs: result.durationMs,
        statusCode: result.statusCode,
        ok: false,
        error: result.error,
        responseExcerpt: result.responseExcerpt,
      });

      const error = result.error ?? 'The attempt failed.';
      logger.warn(
        { channel: delivery.channel, statusCode: result.statusCode, error },
        'attempt failed',
      );

      // Webhooks: 410 disables at once; repeated failures past the threshold disable too.
      if (delivery.endpointId) {
        if (result.gone) {
          await disableEndpoint(tx, delivery.endpointId, 'The endpoint answered 410 Gone.');
          await markDead(tx, delivery.id, error, result.statusCode);
          return { status: 200, outcome: 'dead', ...base, error };
        }
        const [counted] = await tx.query<{ consecutive_failures: number }>(
          `update public.webhook_endpoints set consecutive_failures = consecutive_failures + 1
           where id = $1 returning consecutive_failures`,
          [delivery.endpointId],
        );
        if (counted && counted.consecutive_failures >= options.failureThreshold) {
          await disableEndpoint(
            tx,
            delivery.endpointId,
            `${counted.consecutive_failures} consecutive delivery attempts failed.`,
          );
          await markDead(tx, delivery.id, error, result.statusCode);
          return { status: 200, outcome: 'dead', ...base, error };
        }
      } else if (result.gone && delivery.channel === 'push') {
        await tx.query('delete from public.push_subscriptions where id = $1', [delivery.recipient]);
      }

      const retriesLeft = delivery.maxAttempts - 1 - tried;
      if (!result.retryable || retriesLeft <= 0) {
        await markDead(tx, delivery.id, error, result.statusCode);
        // 503 on the last try lets QStash move the message to its DLQ and call the failure
        // callback; a failure no retry can cure ends the message at once.
        return result.retryable
          ? { status: 503, outcome: 'dead', ...base, error }
          : { status: 200, outcome: 'dead', ...base, error };
      }

      // A Retry-After longer than the schedule's next delay: this message ends and a new one,
      // delayed by it, carries the retries left.
      const scheduledMs = retryDelayMs(schedule, tried);
      const waitMs = result.retryAfterMs ?? 0;
      if (waitMs > scheduledMs) {
        await tx.query(
          `update public.deliveries set status = 'retrying', last_error = $2,
             last_status_code = $3, next_attempt_at = now() + $4 * interval '1 millisecond'
           where id = $1`,
          [delivery.id, excerpt(error, 2000), result.statusCode, waitMs],
        );
        const next = {
          message: { deliveryId: delivery.id, replay: delivery.replays, retriedBefore: tried + 1 },
          retries: retriesLeft - 1,
          deduplicationId: `${delivery.id}:${delivery.replays}:${tried + 1}`,
          flowControlKey: flowControlKeyOf(delivery),
          delayMs: waitMs,
        };
        if (transport.transactional) await transport.publish([next], tx);
        else await transport.publish([next]);
        return { status: 200, outcome: 'rescheduled', ...base, error };
      }

      await tx.query(
        `update public.deliveries set status = 'retrying', last_error = $2, last_status_code = $3,
           next_attempt_at = now() + $4 * interval '1 millisecond'
         where id = $1`,
        [delivery.id, excerpt(error, 2000), result.statusCode, scheduledMs],
      );
      return { status: 503, outcome: 'retry', ...base, error, nextAttemptInMs: scheduledMs };
    });
  };

  return {
    handle,
    giveUp,
  };
}
