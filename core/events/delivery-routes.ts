import { Buffer } from 'node:buffer';
import { Hono } from 'hono';
import { z } from 'zod';
import { KaiError, ValidationError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { DeliveryHandler } from './delivery-handler.ts';
import { type DeliveryMessage, deliveryMessageSchema } from './delivery-transport.ts';
import type { SignatureVerifier } from './qstash-signature.ts';

/** What the delivery endpoint and the callback endpoint need. */
export interface DeliveryRoutesOptions {
  handler: DeliveryHandler;
  verifier: SignatureVerifier;
  logger: Logger;
  /**
   * The public URL QStash signs as the JWT's subject (the delivery endpoint's; for the callback
   * endpoint its base, to which `/success` or `/failure` is added), checked when given, so a
   * message QStash signed for another destination is refused here. Unset, only the body hash
   * binds the signature to the message.
   */
  expectedUrl?: string | undefined;
}

const problem = (error: KaiError) =>
  new Response(
    JSON.stringify({
      type: `https://kai.dev/problems/${error.code}`,
      title: error.title,
      status: error.status,
      detail: error.message,
      code: error.code,
    }),
    { status: error.status, headers: { 'content-type': 'application/problem+json' } },
  );

const parseMessage = (text: string): DeliveryMessage => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ValidationError('The message body is not JSON.', [
      { path: 'body', message: 'not JSON' },
    ]);
  }
  const parsed = deliveryMessageSchema.safeParse(json);
  if (!parsed.success) {
    throw new ValidationError(
      'The message body is not a delivery message.',
      parsed.error.issues.map((i) => ({ path: ['body', ...i.path].join('.'), message: i.message })),
    );
  }
  return parsed.data;
};

/** The body QStash posts to callback and failure-callback URLs (the members Kai reads). */
const callbackSchema = z.object({
  status: z.number().int().optional(),
  retried: z.number().int().optional(),
  maxRetries: z.number().int().optional(),
  sourceMessageId: z.string().optional(),
  sourceBody: z.string(),
  body: z.string().optional(),
  dlqId: z.string().optional(),
});

/**
 * The delivery endpoint (Supabase function `webhook-delivery`): verifies `Upstash-Signature`
 * with the current and next signing keys before reading anything else (a forged or missing
 * one is a 401 and nothing is sent), then runs one attempt. 2xx tells the transport the message
 * is done; 503 asks it to retry on its schedule.
 */
export function deliveryEndpointApp(options: DeliveryRoutesOptions): Hono {
  const app = new Hono();

  app.post('*', async (c) => {
    const body = await c.req.text();
    try {
      await options.verifier.verify(c.req.header('upstash-signature'), body, options.expectedUrl);
      const message = parseMessage(body);
      const retried = Number.parseInt(c.req.header('upstash-retried') ?? '0', 10) || 0;
      const answer = await options.handler.handle(message, retried, c.req.raw.signal);
      return c.json(answer, answer.status);
    } catch (error) {
      if (error instanceof KaiError) return problem(error);
      options.logger.error({ err: error }, 'delivery failed');
      return c.json({ code: 'internal_error' }, 500);
    }
  });

  return app;
}

/**
 * The callback endpoint (Supabase function `qstash-callback`): QStash posts here after a
 * message was delivered (`.../success`) and once its retries are exhausted (`.../failure`),
 * signed like every message. A failure makes the delivery a dead letter.
 */
export function qstashCallbackApp(options: DeliveryRoutesOptions): Hono {
  const app = new Hono();

  app.post('*', async (c) => {
    const text = await c.req.text();
    try {
      const kind = c.req.path.endsWith('/failure') ? 'failure' : 'success';
      const expected = options.expectedUrl && `${options.expectedUrl.replace(/\/$/, '')}/${kind}`;
      await options.verifier.verify(c.req.header('upstash-signature'), text, expected);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ValidationError('The callback body is not JSON.', [
          { path: 'body', message: 'not JSON' },
        ]);
      }
      const callback = callbackSchema.safeParse(json);
      if (!callback.success) {
        throw new ValidationError('The callback body is not a QStash callback.', [
          { path: 'body', message: callback.error.message },
        ]);
      }
      const message = parseMessage(
        Buffer.from(callback.data.sourceBody, 'base64').toString('utf8'),
      );

      if (kind === 'failure') {
        await options.handler.giveUp(
          message,
          `The transport gave up after ${callback.data.retried ?? '?'} retries` +
            (callback.data.status ? ` (last answer ${callback.data.status}).` : '.'),
        );
        return c.json({ outcome: 'dead', deliveryId: message.deliveryId }, 200);
      }
      options.logger.debug({ deliveryId: message.deliveryId }, 'delivery callback');
      return c.json({ outcome: 'noted', deliveryId: message.deliveryId }, 200);
    } catch (error) {
      if (error instanceof KaiError) return problem(error);
      options.logger.error({ err: error }, 'callback failed');
      return c.json({ code: 'internal_error' }, 500);
    }
  });

  return app;
}
