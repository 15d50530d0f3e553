import { Webhook } from 'standardwebhooks';
import { type LocalServer, listenLocal, readBody } from './fake-http-server.ts';

/** One request the receiver got, with what `standardwebhooks` made of it. */
export interface ReceivedWebhook {
  at: number;
  headers: Record<string, string>;
  body: string;
  /** The payload `Webhook.verify` returned, or the error it threw. */
  verified: unknown;
  verifyError: string | undefined;
}

/** How the receiver answers a request: a status, headers and a body. */
export type Answer = { status: number; headers?: Record<string, string>; body?: string };

/** A partner's webhook receiver: verifies every request with the official library. */
export interface FakeWebhookReceiver extends LocalServer {
  received: ReceivedWebhook[];
  /** Sets how the next requests are answered (each call of `next` gives one answer). */
  answer(next: (n: number) => Answer): void;
}

/** Starts a receiver that verifies requests with `new Webhook(secret)` (one or several). */
export async function startWebhookReceiver(secrets: () => string[]): Promise<FakeWebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let next: (n: number) => Answer = () => ({ status: 200, body: 'ok' });

  const server = await listenLocal(async (request, response) => {
    const body = await readBody(request);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.join(',') : (v ?? ''),
      ]),
    );
    let verified: unknown;
    let verifyError: string | undefined;
    for (const secret of secrets()) {
      try {
        verified = new Webhook(secret).verify(body, headers);
        verifyError = undefined;
        break;
      } catch (error) {
        verifyError = (error as Error).message;
      }
    }
    received.push({ at: Date.now(), headers, body, verified, verifyError });

    const answer = next(received.length);
    response.writeHead(answer.status, answer.headers ?? {});
    response.end(answer.body ?? '');
  });

  return {
    ...server,
    received,
    answer(fn) {
      next = fn;
    },
  };
}
