import webPush from 'web-push';
import type { Delivery } from '../events/deliveries.ts';
import { resultOfError, resultOfResponse, type SendResult } from '../events/send-result.ts';
import type { GuardedHttpClient } from '../net/guarded-http.ts';

/** VAPID identity of Kai's pushes. */
export interface VapidOptions {
  publicKey: string;
  privateKey: string;
  /** `mailto:` or `https:` contact of the sender. */
  subject: string;
}

/** A browser's push subscription. */
export interface PushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/**
 * Sends one web push: `web-push` encrypts the payload and signs the VAPID JWT, and the request
 * it describes goes out through the guarded client like every outbound call. 404 and 410 mean
 * the subscription expired.
 */
export async function sendWebPush(
  http: GuardedHttpClient,
  vapid: VapidOptions,
  subscription: PushSubscription,
  delivery: Pick<Delivery, 'payload'>,
  signal?: AbortSignal,
): Promise<SendResult> {
  try {
    const details = webPush.generateRequestDetails(subscription, JSON.stringify(delivery.payload), {
      vapidDetails: vapid,
      TTL: 24 * 60 * 60,
    });
    const response = await http.send({
      url: details.endpoint,
      method: 'POST',
      headers: details.headers as Record<string, string>,
      body: details.body ?? new Uint8Array(),
      ...(signal ? { signal } : {}),
    });
    return resultOfResponse(response, { goneStatuses: [404, 410] });
  } catch (error) {
    return resultOfError(error);
  }
}
