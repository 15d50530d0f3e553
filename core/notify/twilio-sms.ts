import { Buffer } from 'node:buffer';
import type { Delivery } from '../events/deliveries.ts';
import { resultOfError, resultOfResponse, type SendResult } from '../events/send-result.ts';
import type { GuardedHttpClient } from '../net/guarded-http.ts';

/** Twilio's settings: `SMS_ACCOUNT_SID`, `SMS_API_KEY` (the auth token), sender, base URL. */
export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  from: string;
  /** `https://api.twilio.com` unless pointed elsewhere. */
  baseUrl: string;
}

/** Twilio caps a message body at 1600 characters. */
const MAX_SMS_CHARS = 1600;

/**
 * Sends one SMS through Twilio's REST API with plain fetch semantics:
 * `POST /2010-04-01/Accounts/{Sid}/Messages.json`, form-encoded `To`, `From`, `Body`, Basic auth.
 */
export async function sendTwilioSms(
  http: GuardedHttpClient,
  options: TwilioOptions,
  delivery: Pick<Delivery, 'recipient' | 'payload'>,
  signal?: AbortSignal,
): Promise<SendResult> {
  const text = String((delivery.payload as { text?: unknown }).text ?? '').slice(0, MAX_SMS_CHARS);
  const form = new URLSearchParams({
    To: delivery.recipient ?? '',
    From: options.from,
    Body: text,
  });
  const basic = Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64');
  const sid = encodeURIComponent(options.accountSid);

  try {
    const response = await http.send({
      url: `${options.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${sid}/Messages.json`,
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
      ...(signal ? { signal } : {}),
    });
    return resultOfResponse(response);
  } catch (error) {
    return resultOfError(error);
  }
}
