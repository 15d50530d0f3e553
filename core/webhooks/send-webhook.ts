import type { Delivery } from '../events/deliveries.ts';
import { resultOfError, resultOfResponse, type SendResult } from '../events/send-result.ts';
import type { GuardedHttpClient } from '../net/guarded-http.ts';
import { type SigningEndpoint, signingSecrets } from './webhook-endpoints.ts';
import { signWebhook } from './webhook-signature.ts';

/** The Standard Webhooks message id of a delivery: the same on every attempt and replay. */
export const webhookMessageId = (deliveryId: string) => `msg_${deliveryId}`;

/**
 * Sends one webhook attempt: the delivery's JSON body, signed per Standard Webhooks with every
 * live secret of the endpoint, through the guarded client. A 410 marks the endpoint gone.
 */
export async function sendWebhook(
  http: GuardedHttpClient,
  endpoint: SigningEndpoint,
  delivery: Pick<Delivery, 'id' | 'payload'>,
  signal?: AbortSignal,
): Promise<SendResult> {
  const body = JSON.stringify(delivery.payload);
  const headers = signWebhook(
    signingSecrets(endpoint),
    webhookMessageId(delivery.id),
    Math.floor(Date.now() / 1000),
    body,
  );

  try {
    const response = await http.send({
      url: endpoint.url,
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
      ...(signal ? { signal } : {}),
    });
    return resultOfResponse(response, { goneStatuses: [410], retry4xx: true });
  } catch (error) {
    return resultOfError(error);
  }
}
