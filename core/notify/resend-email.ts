import type { Delivery } from '../events/deliveries.ts';
import { resultOfError, resultOfResponse, type SendResult } from '../events/send-result.ts';
import type { GuardedHttpClient } from '../net/guarded-http.ts';

/** Resend's settings: `EMAIL_API_KEY`, the sender and the API's base URL. */
export interface ResendOptions {
  apiKey: string;
  from: string;
  /** `https://api.resend.com` unless pointed elsewhere (a local Resend-compatible server). */
  baseUrl: string;
}

/** What an email delivery carries in its payload. */
export interface EmailPayload {
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends one email through Resend's HTTP API (`POST /emails`, Bearer key, JSON with subject,
 * text and html), with the delivery id as the idempotency key, so a retry never sends twice.
 */
export async function sendResendEmail(
  http: GuardedHttpClient,
  options: ResendOptions,
  delivery: Pick<Delivery, 'id' | 'recipient' | 'payload'>,
  signal?: AbortSignal,
): Promise<SendResult> {
  const payload = delivery.payload as unknown as EmailPayload;
  try {
    const response = await http.send({
      url: `${options.baseUrl.replace(/\/$/, '')}/emails`,
      method: 'POST',
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': `kai-${delivery.id}`,
      },
      body: JSON.stringify({
        from: options.from,
        to: [delivery.recipient],
        subject: payload.subject,
        text: payload.text,
        html: payload.html,
      }),
      ...(signal ? { signal } : {}),
    });
    return resultOfResponse(response);
  } catch (error) {
    return resultOfError(error);
  }
}
