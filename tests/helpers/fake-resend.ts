import { randomUUID } from 'node:crypto';
import { type LocalServer, listenLocal, readBody, sendJson } from './fake-http-server.ts';

/** One email the fake accepted. */
export interface SentEmail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  idempotencyKey: string | undefined;
}

/** A local server speaking Resend's `POST /emails` contract (Bearer key, JSON, `{ id }`). */
export interface FakeResend extends LocalServer {
  emails: SentEmail[];
}

/**
 * Starts a fake Resend: 401 without a Bearer key, 403 for a wrong one, 422 `validation_error`
 * without from/to/subject or without text and html, 200 `{ id }` otherwise; a repeated
 * `Idempotency-Key` returns the first email's id without sending again, as Resend does.
 */
export async function startFakeResend(apiKey: string): Promise<FakeResend> {
  const emails: SentEmail[] = [];
  const byKey = new Map<string, string>();

  const server = await listenLocal(async (request, response) => {
    if (request.method !== 'POST' || request.url !== '/emails') {
      sendJson(response, 404, { statusCode: 404, name: 'not_found', message: 'Not found' });
      return;
    }
    const auth = request.headers.authorization;
    if (!auth?.startsWith('Bearer ')) {
      sendJson(response, 401, {
        statusCode: 401,
        name: 'missing_api_key',
        message: 'Missing API key in the authorization header.',
      });
      return;
    }
    if (auth.slice(7) !== apiKey) {
      sendJson(response, 403, {
        statusCode: 403,
        name: 'invalid_api_key',
        message: 'API key is invalid',
      });
      return;
    }

    const body = JSON.parse(await readBody(request)) as Partial<SentEmail> & {
      to?: string | string[];
    };
    const to = typeof body.to === 'string' ? [body.to] : body.to;
    if (!body.from || !to?.length || !body.subject || (!body.text && !body.html)) {
      sendJson(response, 422, {
        statusCode: 422,
        name: 'validation_error',
        message: 'from, to, subject and text or html are required.',
      });
      return;
    }

    const key = request.headers['idempotency-key'] as string | undefined;
    const known = key ? byKey.get(key) : undefined;
    if (known) {
      sendJson(response, 200, { id: known });
      return;
    }
    const id = randomUUID();
    if (key) byKey.set(key, id);
    emails.push({
      id,
      from: body.from,
      to,
      subject: body.subject,
      ...(body.text ? { text: body.text } : {}),
      ...(body.html ? { html: body.html } : {}),
      idempotencyKey: key,
    });
    sendJson(response, 200, { id });
  });

  return { ...server, emails };
}
